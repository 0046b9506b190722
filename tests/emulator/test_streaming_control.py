"""The softphone's control actions over HTTP: extdisco's answer, persistence, raw stanzas."""

from typing import Any

from aiohttp import ClientSession

from genesys_emulator import Emulator
from genesys_emulator.streaming.service import ExternalService
from genesys_emulator.testing import control_request

from .test_control_http import _post


async def test_streaming_actions_over_http(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    services: list[dict[str, Any]] = [
        {"type": "turn", "host": "127.0.0.1", "port": 3478, "username": "u", "password": "p"}
    ]
    status, _ = await _post(session, emulator, "streaming/ice-servers", {"services": services})
    assert status == 200
    assert emulator.streaming.services == [
        ExternalService(type="turn", host="127.0.0.1", port=3478, username="u", password="p")
    ]
    station_id = emulator.demo_agent.station_id
    status, _ = await _post(
        session, emulator, f"stations/{station_id}/persistent", {"enabled": True}
    )
    assert status == 200
    assert emulator.org.stations[station_id or ""].persistent
    headers = {"Authorization": f"Bearer {agent_token['access_token']}"}
    async with session.get(
        f"{emulator.base_url}/api/v2/stations/{station_id}", headers=headers
    ) as response:
        assert (await response.json())["webRtcPersistentEnabled"] is True
    status, _ = await _post(session, emulator, "stations/unknown/persistent", {"enabled": True})
    assert status == 404
    assert await _post(session, emulator, "streaming/drop") == (200, {"count": 0})
    assert await _post(session, emulator, "streaming/raw", {"text": "<x/>"}) == (200, {"count": 0})
    user = emulator.demo_agent.id
    await _post(session, emulator, "streaming/auto-answer", {"userId": user, "enabled": True})
    assert emulator.gateway.auto_answer_users == {user}
    await _post(session, emulator, "streaming/auto-answer", {"userId": user, "enabled": False})
    assert emulator.gateway.auto_answer_users == set()
    _, state = await control_request(session, emulator, "GET", "state")
    assert state["streams"] == []
    assert state["softphoneSessions"] == []
