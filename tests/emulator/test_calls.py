"""Call flows as a subscribed client sees them: one full snapshot per change."""

from typing import Any

from aiohttp import ClientSession
import pytest

from genesys_emulator import Emulator
from genesys_emulator.errors import ApiError

from .helpers import Notifications, participant

CALLS = ".conversations.calls"


async def _agent(events: Notifications) -> dict[str, Any]:
    """The agent leg of the next calls-topic event."""
    frame = await events.event(CALLS)
    return participant(frame["eventBody"], "agent")


async def test_inbound_call_lifecycle(emulator: Emulator, agent_events: Notifications) -> None:
    control = emulator.control
    conversation_id = await control.start_inbound_call(queue_name="Billing")
    ringing = await agent_events.event(CALLS)
    body = ringing["eventBody"]
    assert ringing["topicName"] == f"v2.users.{emulator.demo_agent.id}{CALLS}"
    assert body["id"] == conversation_id
    assert [p["purpose"] for p in body["participants"]] == ["customer", "acd", "agent"]
    agent = participant(body, "agent")
    assert (agent["state"], agent["initialState"], agent["direction"]) == (
        "alerting",
        "alerting",
        "inbound",
    )
    assert agent["queue"]["name"] == "Billing"
    assert "selfUri" not in agent["queue"]
    generic = await agent_events.event(".conversations")
    assert participant(generic["eventBody"], "agent")["calls"][0]["state"] == "alerting"

    await control.answer(conversation_id)
    assert (await _agent(agent_events))["state"] == "connected"
    await control.set_hold(conversation_id, True)
    held = await _agent(agent_events)
    assert held["held"] is True
    assert "startHoldTime" in held
    await control.set_hold(conversation_id, False)
    assert "startHoldTime" not in await _agent(agent_events)

    await control.customer_hangup(conversation_id)
    ended = (await agent_events.event(CALLS))["eventBody"]
    assert participant(ended, "customer")["disconnectType"] == "endpoint"
    agent = participant(ended, "agent")
    assert (agent["state"], agent["disconnectType"], agent["wrapupRequired"]) == (
        "disconnected",
        "peer",
        True,
    )
    assert "startAcwTime" in agent

    await control.complete_wrapup(conversation_id)
    wrapped = await _agent(agent_events)
    assert (wrapped["state"], wrapped["wrapupRequired"]) == ("disconnected", False)
    assert wrapped["wrapup"]["code"]
    assert "name" not in wrapped["wrapup"]
    assert (await _agent(agent_events))["state"] == "terminated"


async def test_outbound_call_and_agent_hang_up(
    emulator: Emulator, agent_events: Notifications
) -> None:
    control = emulator.control
    conversation_id = await control.start_outbound_call(number="tel:+15550001")
    dialing = (await agent_events.event(CALLS))["eventBody"]
    assert participant(dialing, "agent")["state"] == "dialing"
    assert participant(dialing, "external")["state"] == "contacting"
    await control.answer(conversation_id)
    assert (await _agent(agent_events))["state"] == "connected"
    await control.agent_disconnect(conversation_id)
    first = await _agent(agent_events)
    assert (first["state"], first["disconnectType"]) == ("disconnected", "client")
    # No wrap-up on a direct call: disconnected, then terminated right after.
    assert (await _agent(agent_events))["state"] == "terminated"


async def test_desktop_and_supervisor_mutes_look_like_api_mutes(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    control = emulator.control
    conversation_id = await control.start_inbound_call()
    await control.answer(conversation_id)
    await agent_events.event(CALLS)
    connected = await agent_events.event(CALLS)

    await control.set_mute(conversation_id, True, by="supervisor")
    by_supervisor = await agent_events.event(CALLS)
    await control.set_mute(conversation_id, False)
    by_desktop = await agent_events.event(CALLS)
    assert set(by_supervisor) == set(connected) == {"topicName", "version", "eventBody", "metadata"}
    assert set(by_supervisor["metadata"]) == {"CorrelationId"}
    assert participant(by_supervisor["eventBody"], "agent")["muted"] is True
    assert participant(by_desktop["eventBody"], "agent")["muted"] is False

    records = [r for r in emulator.control.audit_log() if r.source != "api"]
    assert [(r.source, r.user_id, r.body) for r in records] == [
        ("supervisor", emulator.supervisor.id, {"muted": True}),
        ("desktop", emulator.demo_agent.id, {"muted": False}),
    ]


async def test_consult_and_transfer(emulator: Emulator, agent_events: Notifications) -> None:
    control = emulator.control
    conversation_id = await control.start_inbound_call()
    await control.answer(conversation_id)
    await agent_events.event(CALLS)
    await agent_events.event(CALLS)

    consulted_id = await control.start_consult(conversation_id)
    body = (await agent_events.event(CALLS))["eventBody"]
    assert participant(body, "agent")["consultParticipantId"] == consulted_id
    assert participant(body, "customer")["held"] is True
    assert participant(body, "external")["id"] == consulted_id

    await control.transfer_away(conversation_id)
    body = (await agent_events.event(CALLS))["eventBody"]
    agent = participant(body, "agent")
    assert (agent["state"], agent["disconnectType"]) == ("disconnected", "transfer")
    assert participant(body, "acd")["state"] == "connected"
    assert participant(body, "customer")["state"] == "connected"


async def test_presence_and_routing_status_events(
    emulator: Emulator, agent_events: Notifications
) -> None:
    agent = emulator.demo_agent.id
    await emulator.control.set_presence(agent, "On Queue")
    presence = await agent_events.event(".presence")
    assert presence["eventBody"]["presenceDefinition"]["systemPresence"] == "On Queue"
    # Going On Queue puts the agent on queue: the routing status follows the presence.
    on_queue = await agent_events.frame()
    assert on_queue["topicName"].endswith(".routingStatus")
    assert on_queue["eventBody"]["routingStatus"]["status"] == "IDLE"
    await emulator.control.set_routing_status(agent, "INTERACTING")
    routing = await agent_events.event(".routingStatus")
    assert routing["eventBody"]["id"] == agent
    assert routing["eventBody"]["routingStatus"]["status"] == "INTERACTING"
    await emulator.control.set_presence(agent, "Break")
    await agent_events.event(".presence")
    off_queue = await agent_events.frame()
    assert off_queue["eventBody"]["routingStatus"]["status"] == "OFF_QUEUE"


async def test_another_users_call_is_not_published_to_the_agent(
    emulator: Emulator, agent_events: Notifications
) -> None:
    await emulator.control.create_station(emulator.supervisor.id)
    await emulator.control.start_inbound_call(emulator.supervisor.id)
    mine = await emulator.control.start_inbound_call()
    assert (await agent_events.event(CALLS))["eventBody"]["id"] == mine


async def test_invalid_control_operations(emulator: Emulator) -> None:
    control = emulator.control
    conversation_id = await control.start_inbound_call()
    refused = [
        control.complete_wrapup(conversation_id),
        control.start_consult(conversation_id),
        control.set_presence(emulator.demo_agent.id, "Sleeping"),
        control.set_routing_status(emulator.demo_agent.id, "ASLEEP"),
        control.set_mute(conversation_id, True, by="nobody"),
        control.answer("unknown"),
        control.start_inbound_call("unknown"),
        control.fail_next(1, status=418),
    ]
    for operation in refused:
        with pytest.raises(ApiError):
            await operation
    await control.answer(conversation_id)
    await control.customer_hangup(conversation_id)
    with pytest.raises(ApiError, match=r"conversation\.error\.call\.disconnected"):
        await control.set_hold(conversation_id, True)


async def test_observers_see_every_change(emulator: Emulator) -> None:
    """The plug-in point for a softphone: every snapshot, in order, after it is published."""
    seen: list[str] = []

    async def observe(conversation: Any) -> None:
        seen.append(emulator.calls.agent_leg(conversation).state)

    emulator.calls.observers.append(observe)
    conversation_id = await emulator.control.start_outbound_call()
    await emulator.control.answer(conversation_id)
    await emulator.control.agent_disconnect(conversation_id)
    assert seen == ["dialing", "connected", "disconnected", "terminated"]
