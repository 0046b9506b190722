"""The realtime session against the emulator: push, resync, renewals, and coalesced mutes."""

import asyncio
from collections.abc import AsyncGenerator, Callable
import time

import pytest

from custom_components.genesys_agent.genesys_cloud import (
    AgentSession,
    CallState,
    GenesysClient,
    GenesysNoActiveCallError,
    GenesysRateLimitError,
    MuteSource,
    SessionSnapshot,
)
from genesys_emulator import Emulator


@pytest.fixture
async def session(client: GenesysClient) -> AsyncGenerator[AgentSession]:
    """A started session with quick reconnects; stopped after the test."""
    snapshots: list[SessionSnapshot] = []
    session = AgentSession(
        client, listener=snapshots.append, backoff_initial=0.05, mute_confirm_timeout=2.0
    )
    await session.async_start()
    yield session
    await session.async_stop()


async def until(condition: Callable[[], object], within: float = 5.0) -> None:
    """Wait in real time for a push to arrive."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def api_patches(emulator: Emulator) -> list[object]:
    return [r.body for r in emulator.audit if r.source == "api" and r.method == "PATCH"]


async def connected_call(emulator: Emulator, session: AgentSession) -> str:
    conversation_id = await emulator.control.start_inbound_call()
    await until(lambda: session.snapshot.agent_state.call_state is CallState.RINGING)
    await emulator.control.answer(conversation_id)
    await until(lambda: session.snapshot.agent_state.call_state is CallState.CONNECTED)
    return conversation_id


async def test_start_reads_the_agent_and_connects(
    session: AgentSession, emulator: Emulator
) -> None:
    snapshot = session.snapshot
    assert snapshot.connected
    assert snapshot.agent is not None
    assert snapshot.agent.id == emulator.demo_agent.id
    assert snapshot.agent_state.call_state is CallState.IDLE
    assert snapshot.presence is not None


async def test_mute_patches_the_agents_own_leg_and_waits_for_the_event(
    session: AgentSession, emulator: Emulator
) -> None:
    await connected_call(emulator, session)
    await session.async_set_mute(True)
    assert session.snapshot.agent_state.muted is True
    assert session.snapshot.last_mute_source is MuteSource.INTEGRATION
    await session.async_set_mute(True)  # already muted: nothing to send
    assert api_patches(emulator) == [{"muted": True}]


async def test_a_supervisors_mute_is_marked_as_made_elsewhere(
    session: AgentSession, emulator: Emulator
) -> None:
    conversation_id = await connected_call(emulator, session)
    await emulator.control.set_mute(conversation_id, True, by="supervisor")
    await until(lambda: session.snapshot.agent_state.muted)
    assert session.snapshot.last_mute_source is MuteSource.ELSEWHERE


async def test_no_call_no_mute(session: AgentSession, emulator: Emulator) -> None:
    with pytest.raises(GenesysNoActiveCallError):
        await session.async_set_mute(True)
    assert api_patches(emulator) == []


async def test_rapid_presses_coalesce_into_the_last_one(
    session: AgentSession, emulator: Emulator
) -> None:
    """20 presses at once: the last wins, and only a few PATCHes are sent, one at a time."""
    conversation_id = await connected_call(emulator, session)
    await emulator.control.set_latency(0.05)
    await asyncio.gather(*(session.async_set_mute(press % 2 == 0) for press in range(20)))
    assert session.snapshot.agent_state.muted is False
    conversation = next(
        c for c in emulator.control.state()["conversations"] if c["id"] == conversation_id
    )
    assert not next(p for p in conversation["participants"] if p["purpose"] == "agent")["muted"]
    assert len(api_patches(emulator)) <= 2


async def test_a_long_rate_limit_is_reported(session: AgentSession, emulator: Emulator) -> None:
    await connected_call(emulator, session)
    await emulator.control.fail_next(1, status=429, retry_after=60)
    with pytest.raises(GenesysRateLimitError):
        await session.async_set_mute(True)


async def test_a_press_on_a_call_that_just_ended_is_no_active_call(
    session: AgentSession, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hang-up's event has not arrived yet: Genesys' refusal reads as "no call"."""
    monkeypatch.setattr(session, "_handle_frame", lambda text: False)
    conversation_id = await emulator.control.start_inbound_call()
    await emulator.control.answer(conversation_id)
    await session._resync()  # the session learns of the call; then its events stop arriving
    await emulator.control.customer_hangup(conversation_id)
    with pytest.raises(GenesysNoActiveCallError):
        await session.async_set_mute(True)


async def test_a_drop_reconnects_and_a_call_ended_meanwhile_is_gone(
    session: AgentSession, emulator: Emulator
) -> None:
    conversation_id = await connected_call(emulator, session)
    await emulator.control.fail_next(1, status=503, path_prefix="/api/v2/conversations")
    await emulator.control.drop_websockets()
    await emulator.control.customer_hangup(conversation_id)
    await emulator.control.complete_wrapup(conversation_id)
    await until(lambda: not session.snapshot.connected)
    await until(lambda: session.snapshot.connected)
    assert session.snapshot.agent_state.call_state is CallState.IDLE


async def test_a_revoked_login_stops_the_session(session: AgentSession, emulator: Emulator) -> None:
    await emulator.control.revoke_tokens()
    await emulator.control.drop_websockets()
    await until(lambda: session.snapshot.auth_failed)
    assert not session.snapshot.connected


async def test_presence_and_routing_status_are_pushed(
    session: AgentSession, emulator: Emulator
) -> None:
    await emulator.control.set_routing_status(emulator.demo_agent.id, "OFF_QUEUE")
    await emulator.control.set_presence(emulator.demo_agent.id, "Away")
    await until(lambda: session.snapshot.routing_status == "off_queue")
    await until(lambda: session.snapshot.presence == "away")


async def test_only_the_latest_ended_legs_are_remembered(
    session: AgentSession, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory stays flat over a day of calls: old ended legs are forgotten."""
    monkeypatch.setattr("custom_components.genesys_agent.genesys_cloud.session.ENDED_LEGS_KEPT", 2)
    for _ in range(4):
        conversation_id = await connected_call(emulator, session)
        await emulator.control.agent_disconnect(conversation_id)
        await emulator.control.complete_wrapup(conversation_id)
        await until(lambda: session.snapshot.agent_state.call_state is CallState.IDLE)
    assert len(session._ended_legs) == 2
    assert session.snapshot.conversations == {}
