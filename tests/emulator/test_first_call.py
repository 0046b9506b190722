"""The path every client walks first: log in, read users/me, watch a call, mute it."""

from typing import Any

from aiohttp import ClientSession

from genesys_emulator import Emulator

from .helpers import Notifications, api, participant


async def test_users_me_with_station(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    response, me = await api(session, emulator, "GET", "/users/me?expand=station", agent_token)
    assert response.status == 200
    assert me["id"] == emulator.demo_agent.id
    assert me["station"]["effectiveStation"]["type"] == "inin_webrtc_softphone"
    assert "ININ-Correlation-Id" in response.headers


async def test_mute_by_api_arrives_as_event(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    conversation_id = await emulator.control.start_inbound_call()
    ringing = await agent_events.event(".conversations.calls")
    assert ringing["version"] == "2"
    assert participant(ringing["eventBody"], "agent")["state"] == "alerting"
    await emulator.control.answer(conversation_id)
    connected = await agent_events.event(".conversations.calls")
    agent = participant(connected["eventBody"], "agent")
    assert agent["state"] == "connected"

    response, body = await api(
        session,
        emulator,
        "PATCH",
        f"/conversations/calls/{conversation_id}/participants/{agent['id']}",
        agent_token,
        {"muted": True},
    )
    assert (response.status, body) == (202, None)
    muted = await agent_events.event(".conversations.calls")
    assert participant(muted["eventBody"], "agent")["muted"] is True
