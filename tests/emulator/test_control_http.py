"""The HTTP control surface under /_emulator, as the demo and a person's tools use it."""

from typing import Any

from aiohttp import ClientSession

from genesys_emulator import Emulator, EmulatorConfig
from genesys_emulator.testing import running_emulator

from .helpers import Notifications, participant


async def _post(
    session: ClientSession, emu: Emulator, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    async with session.post(f"{emu.base_url}/_emulator/{path}", json=body) as response:
        return response.status, await response.json()


async def test_a_whole_call_over_http(
    session: ClientSession, emulator: Emulator, agent_events: Notifications
) -> None:
    status, created = await _post(session, emulator, "calls/inbound", {"queueName": "Sales"})
    assert status == 200
    call = f"calls/{created['conversationId']}"
    steps: list[tuple[str, dict[str, Any] | None]] = [
        ("answer", None),
        ("mute", {"muted": True, "by": "supervisor"}),
        ("hold", {"held": True}),
        ("hold", {"held": False}),
        ("consult", {"number": "tel:+15550009"}),
        ("customer-hangup", None),  # the agent still talks to the consulted party
        ("agent-disconnect", None),
        ("wrapup", None),
    ]
    for action, body in steps:
        status, answer = await _post(session, emulator, f"{call}/{action}", body)
        assert status == 200, (action, answer)
    async with session.get(emulator.base_url + "/_emulator/state") as response:
        state = await response.json()
    conversation = state["conversations"][0]
    assert participant(conversation, "agent")["state"] == "terminated"
    assert participant(conversation, "external")["address"] == "tel:+15550009"
    assert state["channels"][0]["connected"] is True
    query = f"?userId={emulator.supervisor.id}"
    async with session.get(emulator.base_url + "/_emulator/audit" + query) as response:
        audit = await response.json()
    assert [(e["source"], e["body"]) for e in audit["entities"]] == [
        ("supervisor", {"muted": True})
    ]


async def test_outbound_transfer_and_agent_disconnect(
    session: ClientSession, emulator: Emulator
) -> None:
    _, outbound = await _post(session, emulator, "calls/outbound", {"number": "tel:+15550007"})
    await _post(session, emulator, f"calls/{outbound['conversationId']}/answer")
    status, _ = await _post(
        session, emulator, f"calls/{outbound['conversationId']}/agent-disconnect"
    )
    assert status == 200
    _, inbound = await _post(session, emulator, "calls/inbound", {"ani": "tel:+15550008"})
    await _post(session, emulator, f"calls/{inbound['conversationId']}/answer")
    status, _ = await _post(session, emulator, f"calls/{inbound['conversationId']}/transfer")
    assert status == 200


async def test_org_and_session_operations(session: ClientSession, emulator: Emulator) -> None:
    status, user = await _post(
        session, emulator, "users", {"name": "Ann Other", "email": "ann@example.com"}
    )
    assert status == 200
    status, station = await _post(session, emulator, "stations", {"userId": user["id"]})
    assert station["userId"] == user["id"]
    await _post(session, emulator, "calls/inbound", {"userId": user["id"]})
    for path, body in [
        (f"users/{user['id']}/presence", {"systemPresence": "Busy"}),
        (f"users/{user['id']}/routing-status", {"status": "IDLE"}),
        ("websockets/drop", None),
        ("websockets/socket-closing", None),
        ("websockets/raw", {"text": "x"}),
        ("channels/expire", None),
        ("tokens/expire", None),
        ("tokens/revoke", {"userId": user["id"]}),
        ("faults/fail-next", {"count": 1, "status": 429, "pathPrefix": "/api", "retryAfter": 2}),
        ("faults/latency", {"seconds": 0}),
        ("faults/heartbeats", {"enabled": False}),
        ("faults/heartbeats", {"enabled": True}),
        ("faults/clear", None),
        ("auto-approve", {"enabled": False}),
        ("restart", None),
    ]:
        status, answer = await _post(session, emulator, path, body)
        assert status == 200, (path, answer)
    assert emulator.org.users[user["id"]].presence.system_presence == "Busy"
    assert not emulator.login.auto_approve


async def test_control_errors_are_genesys_error_bodies(
    session: ClientSession, emulator: Emulator
) -> None:
    status, error = await _post(session, emulator, "calls/unknown/answer")
    assert (status, error["code"]) == (404, "not.found")
    status, error = await _post(session, emulator, "users", {"name": "No Email"})
    assert (status, error["code"]) == (400, "bad.request")
    async with session.post(emulator.base_url + "/_emulator/restart", json=[1]) as response:
        assert response.status == 400


async def test_control_api_can_be_switched_off(
    session: ClientSession, socket_enabled: None
) -> None:
    async with (
        running_emulator(EmulatorConfig(control_api=False)) as emu,
        session.get(emu.base_url + "/_emulator/state") as response,
    ):
        assert response.status == 404
