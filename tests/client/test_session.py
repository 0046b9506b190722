"""The realtime session against the emulator: pushes, the agent's state, and mutes."""

import asyncio
from typing import Any

import pytest

from custom_components.genesys_agent.genesys_cloud import (
    AgentSession,
    CallDirection,
    CallState,
    GenesysClient,
    GenesysMuteNotConfirmedError,
    GenesysNoActiveCallError,
    GenesysRateLimitError,
    GenesysServerError,
    MuteSource,
    PresenceState,
    RoutingState,
    SessionSnapshot,
)
from genesys_emulator import Emulator

from .helpers import api_patches, connected_call, connected_channels, emulator_agent_leg, until


async def test_start_reads_the_agent_and_connects(
    session: AgentSession, emulator: Emulator, snapshots: list[SessionSnapshot]
) -> None:
    snapshot = session.snapshot
    assert snapshot.connected
    assert not snapshot.auth_failed
    assert snapshot.agent is not None
    assert snapshot.agent.id == emulator.demo_agent.id
    assert snapshot.agent_state.call_state is CallState.IDLE
    assert snapshot.agent_state.muted is False
    assert snapshot.presence is PresenceState.AVAILABLE
    assert snapshot.routing_status is RoutingState.OFF_QUEUE
    assert snapshot.conversations == {}
    assert snapshots[-1] is snapshot  # the listener heard of the connection


async def test_a_failed_start_raises_and_leaves_nothing_open(
    client: GenesysClient, emulator: Emulator
) -> None:
    session = AgentSession(client, listener=lambda snapshot: None)
    await emulator.control.fail_next(1, status=503, path_prefix="/api/v2/conversations")
    with pytest.raises(GenesysServerError):
        await session.async_start()
    assert not session.snapshot.connected
    await until(lambda: not connected_channels(emulator))


async def test_an_inbound_call_rings_then_connects(
    session: AgentSession, emulator: Emulator, snapshots: list[SessionSnapshot]
) -> None:
    conversation_id = await connected_call(emulator, session)
    states = [s.agent_state.call_state for s in snapshots]
    ringing_at = states.index(CallState.RINGING)
    assert CallState.CONNECTED in states[ringing_at:]
    state = session.snapshot.agent_state
    assert state.conversation_id == conversation_id
    assert state.participant_id == emulator_agent_leg(emulator, conversation_id)["id"]
    assert state.direction is CallDirection.INBOUND
    assert state.queue_name == "Support"
    assert state.remote_address == "tel:+13175550100"
    assert state.muted is False
    assert state.connected_since is not None
    assert conversation_id in session.snapshot.conversations


async def test_mute_patches_the_agents_own_leg_and_waits_for_the_event(
    session: AgentSession, emulator: Emulator
) -> None:
    conversation_id = await connected_call(emulator, session)
    agent_leg = emulator_agent_leg(emulator, conversation_id)["id"]
    await session.async_set_mute(True)
    # Returned only once confirmed: no waiting needed.
    assert session.snapshot.agent_state.muted is True
    assert session.snapshot.last_mute_source is MuteSource.INTEGRATION
    [patch] = api_patches(emulator)
    assert patch.path == f"/api/v2/conversations/calls/{conversation_id}/participants/{agent_leg}"
    assert patch.body == {"muted": True}
    assert patch.status == 202
    await session.async_set_mute(True)  # a set, not a toggle: nothing to send
    assert len(api_patches(emulator)) == 1
    await session.async_set_mute(False)
    assert session.snapshot.agent_state.muted is False
    assert emulator_agent_leg(emulator, conversation_id)["muted"] is False


@pytest.mark.parametrize("by", ["desktop", "supervisor"])
async def test_a_mute_made_elsewhere_is_marked_so(
    session: AgentSession, emulator: Emulator, by: str
) -> None:
    conversation_id = await connected_call(emulator, session)
    await emulator.control.set_mute(conversation_id, True, by=by)
    await until(lambda: session.snapshot.agent_state.muted)
    assert session.snapshot.last_mute_source is MuteSource.ELSEWHERE
    assert api_patches(emulator) == []


async def test_the_mute_source_belongs_to_the_call(
    session: AgentSession, emulator: Emulator
) -> None:
    conversation_id = await connected_call(emulator, session)
    await session.async_set_mute(True)
    await emulator.control.customer_hangup(conversation_id)
    await emulator.control.complete_wrapup(conversation_id)
    await until(lambda: session.snapshot.agent_state.call_state is CallState.IDLE)
    assert session.snapshot.last_mute_source is None


async def test_no_call_no_mute(session: AgentSession, emulator: Emulator) -> None:
    with pytest.raises(GenesysNoActiveCallError):
        await session.async_set_mute(True)
    await emulator.control.start_inbound_call()
    await until(lambda: session.snapshot.agent_state.call_state is CallState.RINGING)
    with pytest.raises(GenesysNoActiveCallError):
        await session.async_set_mute(True)  # a ringing call has nothing to mute yet
    assert api_patches(emulator) == []


async def test_rapid_presses_end_in_the_last_one_with_one_patch_at_a_time(
    session: AgentSession, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 presses at once: every press returns, the last wins, PATCHes never overlap."""
    conversation_id = await connected_call(emulator, session)
    in_flight, most_in_flight = 0, 0
    patch = session.client.async_set_mute

    async def counted_patch(*args: Any) -> None:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        try:
            await patch(*args)
        finally:
            in_flight -= 1

    monkeypatch.setattr(session.client, "async_set_mute", counted_patch)
    await emulator.control.set_latency(0.05)  # long enough for the presses to pile up
    await asyncio.gather(*(session.async_set_mute(press % 2 == 1) for press in range(20)))
    assert session.snapshot.agent_state.muted is True
    assert emulator_agent_leg(emulator, conversation_id)["muted"] is True
    assert most_in_flight == 1
    assert 1 <= len(api_patches(emulator)) <= 2


async def test_a_short_rate_limit_is_waited_out_once(
    session: AgentSession, emulator: Emulator
) -> None:
    conversation_id = await connected_call(emulator, session)
    await emulator.control.fail_next(1, status=429, retry_after=1)
    await session.async_set_mute(True)
    assert emulator_agent_leg(emulator, conversation_id)["muted"] is True
    assert [p.status for p in api_patches(emulator)] == [429, 202]


async def test_a_long_rate_limit_is_reported(session: AgentSession, emulator: Emulator) -> None:
    await connected_call(emulator, session)
    await emulator.control.fail_next(1, status=429, retry_after=60)
    with pytest.raises(GenesysRateLimitError) as raised:
        await session.async_set_mute(True)
    assert raised.value.retry_after == 60
    assert len(api_patches(emulator)) == 1


async def test_a_press_on_a_call_that_just_ended_is_no_active_call(
    session: AgentSession, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hang-up's event has not arrived yet: Genesys' refusal reads as "no call"."""
    monkeypatch.setattr(session.tracker, "handle_frame", lambda text: False)
    conversation_id = await emulator.control.start_inbound_call()
    await emulator.control.answer(conversation_id)
    await session._resync()  # the session learns of the call; then its events stop arriving
    await emulator.control.customer_hangup(conversation_id)
    with pytest.raises(GenesysNoActiveCallError):
        await session.async_set_mute(True)


@pytest.fixture
async def unheard_press(
    session: AgentSession, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, asyncio.Task[None]]:
    """A live call, and a press to mute it whose confirming event is lost.

    Yields once Genesys accepted the PATCH: the press is waiting for its confirmation.
    """
    conversation_id = await connected_call(emulator, session)
    monkeypatch.setattr(session.tracker, "handle_frame", lambda text: False)
    session.commands.confirm_timeout = 0.5
    press = asyncio.create_task(session.async_set_mute(True))
    await until(lambda: api_patches(emulator))
    return conversation_id, press


async def test_a_lost_confirmation_is_read_back(
    session: AgentSession, unheard_press: tuple[str, asyncio.Task[None]]
) -> None:
    await unheard_press[1]
    assert session.snapshot.agent_state.muted is True


async def test_a_mute_undone_before_it_was_read_back_is_not_confirmed(
    session: AgentSession, emulator: Emulator, unheard_press: tuple[str, asyncio.Task[None]]
) -> None:
    conversation_id, press = unheard_press
    await emulator.control.set_mute(conversation_id, False, by="supervisor")
    with pytest.raises(GenesysMuteNotConfirmedError):
        await press
    assert session.snapshot.agent_state.muted is False


async def test_a_superseded_press_that_was_not_confirmed_stays_quiet(
    session: AgentSession, emulator: Emulator, unheard_press: tuple[str, asyncio.Task[None]]
) -> None:
    conversation_id, first = unheard_press
    second = asyncio.create_task(session.async_set_mute(False))
    await emulator.control.set_mute(conversation_id, False, by="supervisor")
    await asyncio.gather(first, second)
    assert session.snapshot.agent_state.muted is False
    assert len(api_patches(emulator)) == 1  # the read-back showed the second press's state


async def test_a_call_gone_before_the_read_back_is_no_active_call(
    emulator: Emulator, unheard_press: tuple[str, asyncio.Task[None]]
) -> None:
    conversation_id, press = unheard_press
    await emulator.control.customer_hangup(conversation_id)
    await emulator.control.complete_wrapup(conversation_id)
    with pytest.raises(GenesysNoActiveCallError):
        await press


async def test_presence_and_routing_status_are_pushed(
    session: AgentSession, emulator: Emulator
) -> None:
    await emulator.control.set_routing_status(emulator.demo_agent.id, "INTERACTING")
    await emulator.control.set_presence(emulator.demo_agent.id, "Away")
    await until(lambda: session.snapshot.routing_status is RoutingState.INTERACTING)
    await until(lambda: session.snapshot.presence is PresenceState.AWAY)


async def test_a_failing_listener_does_not_stop_the_session(
    client: GenesysClient, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    def listener(snapshot: SessionSnapshot) -> None:
        raise RuntimeError("listener bug")

    session = AgentSession(client, listener=listener)
    await session.async_start()
    try:
        await emulator.control.set_presence(emulator.demo_agent.id, "Busy")
        await until(lambda: session.snapshot.presence is PresenceState.BUSY)
    finally:
        await session.async_stop()
    assert "listener failed" in caplog.text


async def test_only_the_latest_ended_legs_are_remembered(
    session: AgentSession, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory stays flat over a day of calls: old ended legs are forgotten."""
    monkeypatch.setattr("custom_components.genesys_agent.genesys_cloud.tracker.LEGS_REMEMBERED", 2)
    for _ in range(4):
        conversation_id = await connected_call(emulator, session)
        await emulator.control.agent_disconnect(conversation_id)
        await until(lambda: session.snapshot.agent_state.call_state is CallState.WRAP_UP)
        await emulator.control.complete_wrapup(conversation_id)
        await until(lambda: session.snapshot.agent_state.call_state is CallState.IDLE)
    assert len(session.tracker._leg_stages) == 2
    assert session.snapshot.conversations == {}
