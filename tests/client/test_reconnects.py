"""Faults of the realtime session: every one heals, and what was missed meanwhile is re-read."""

import asyncio
import json

import pytest

from custom_components.genesys_agent.genesys_cloud import (
    AgentSession,
    CallState,
    PresenceState,
    SessionSnapshot,
)
from genesys_emulator import Emulator

from .helpers import connected_call, connected_channels, until


def resyncs(emulator: Emulator) -> int:
    """How many times the calls were re-read through REST."""
    return sum(
        r.method == "GET" and r.path == "/api/v2/conversations/calls" for r in emulator.audit
    )


async def still_pushed(session: AgentSession, emulator: Emulator, presence: str) -> None:
    """A change made now reaches the session: it reads a live socket again."""
    await emulator.control.set_presence(emulator.demo_agent.id, presence)
    await until(lambda: session.snapshot.presence == PresenceState(presence.lower()))


@pytest.mark.parametrize("failing", ["/api/v2/conversations", "/api/v2/users"])
async def test_a_drop_reconnects_and_a_call_ended_meanwhile_is_gone(
    session: AgentSession, emulator: Emulator, failing: str
) -> None:
    """The first resync fails half-way (calls or agent); the next one succeeds."""
    conversation_id = await connected_call(emulator, session)
    await emulator.control.fail_next(1, status=503, path_prefix=failing)
    await emulator.control.drop_websockets()
    await emulator.control.customer_hangup(conversation_id)
    await emulator.control.complete_wrapup(conversation_id)
    await until(lambda: not session.snapshot.connected)
    await until(lambda: session.snapshot.connected)
    assert session.snapshot.agent_state.call_state is CallState.IDLE
    assert session.snapshot.conversations == {}
    await still_pushed(session, emulator, "Busy")


async def test_socket_closing_hands_over_to_a_new_socket_without_a_gap(
    session: AgentSession, emulator: Emulator, snapshots: list[SessionSnapshot]
) -> None:
    before = resyncs(emulator)
    seen = len(snapshots)
    assert await emulator.control.send_socket_closing() == 1
    await until(lambda: resyncs(emulator) > before)
    await still_pushed(session, emulator, "Busy")
    assert all(s.connected for s in snapshots[seen:])  # never reported down


async def test_an_expired_channel_is_replaced(session: AgentSession, emulator: Emulator) -> None:
    [first] = connected_channels(emulator)
    await emulator.control.expire_channels()
    await until(lambda: connected_channels(emulator) - {first})
    await until(lambda: session.snapshot.connected)
    await still_pushed(session, emulator, "Away")


async def test_a_silent_socket_is_dead_and_replaced_once_genesys_speaks(
    session: AgentSession, emulator: Emulator
) -> None:
    """No heartbeat and no answer to a ping within heartbeat_timeout (1 s here): reconnect."""
    await emulator.control.stop_heartbeats()
    await until(lambda: not session.snapshot.connected)
    await emulator.control.resume_heartbeats()
    await until(lambda: session.snapshot.connected)
    await still_pushed(session, emulator, "Busy")


async def test_a_quiet_but_healthy_socket_is_kept(
    session: AgentSession, emulator: Emulator, snapshots: list[SessionSnapshot]
) -> None:
    """Heartbeats come every 30 s here, but pings are answered: silence alone is no failure."""
    seen, before = len(snapshots), resyncs(emulator)
    await asyncio.sleep(3 * session.heartbeat_timeout)
    await still_pushed(session, emulator, "Busy")
    assert resyncs(emulator) == before
    assert all(s.connected for s in snapshots[seen:])


async def test_a_restarted_genesys_forgot_the_login(
    session: AgentSession, emulator: Emulator
) -> None:
    """Every token is gone after the restart and the refresh is refused: stop, ask for login."""
    await emulator.control.restart()
    await until(lambda: session.snapshot.auth_failed)
    assert not session.snapshot.connected


async def test_a_revoked_login_stops_the_session(session: AgentSession, emulator: Emulator) -> None:
    await emulator.control.revoke_tokens()
    await emulator.control.drop_websockets()
    await until(lambda: session.snapshot.auth_failed)
    assert not session.snapshot.connected
    requests = len(emulator.audit)
    await asyncio.sleep(20 * session.pacer.backoff_initial)
    assert len(emulator.audit) == requests  # no more reconnect attempts


@pytest.mark.parametrize(
    "frame",
    [
        "not json at all",
        "[1, 2]",
        '{"topicName": 42, "eventBody": {}}',
        '{"topicName": "v2.unknown.topic", "eventBody": {}}',
        '{"topicName": "channel.metadata", "eventBody": "odd"}',
        '{"topicName": "v2.users.AGENT.conversations.calls", "eventBody": {"id": 5}}',
        '{"topicName": "v2.users.AGENT.presence", "eventBody": []}',
        '{"topicName": "v2.users.AGENT.station", "eventBody": {}}',
        '{"topicName": "v2.users.SOMEONE.presence",'
        ' "eventBody": {"presenceDefinition": {"systemPresence": "Away"}}}',
    ],
)
async def test_odd_frames_are_ignored(
    session: AgentSession, emulator: Emulator, snapshots: list[SessionSnapshot], frame: str
) -> None:
    seen = len(snapshots)
    before = session.snapshot
    assert await emulator.control.send_raw_frame(frame.replace("AGENT", emulator.demo_agent.id))
    await still_pushed(session, emulator, "Busy")
    assert session.snapshot.agent_state == before.agent_state
    assert all(s.connected for s in snapshots[seen:])  # not a reason to reconnect


async def test_another_users_conversation_is_ignored(
    session: AgentSession, emulator: Emulator
) -> None:
    """Even on the agent's own topic: only conversations with the agent's leg count."""
    conversation_id = await connected_call(emulator, session)
    [conversation] = emulator.control.state()["conversations"]
    for leg in conversation["participants"]:
        if leg.get("user"):
            leg["user"] = {"id": "someone-else"}
    conversation["id"] = "forged"
    await send_event(emulator, conversation)
    await still_pushed(session, emulator, "Busy")
    assert set(session.snapshot.conversations) == {conversation_id}


async def send_event(emulator: Emulator, conversation: dict[str, object]) -> None:
    topic = f"v2.users.{emulator.demo_agent.id}.conversations.calls"
    assert await emulator.control.send_raw_frame(
        json.dumps({"topicName": topic, "version": "2", "eventBody": conversation})
    )


async def test_an_older_snapshot_never_revives_an_ended_call(
    session: AgentSession, emulator: Emulator
) -> None:
    conversation_id = await connected_call(emulator, session)
    [live] = emulator.control.state()["conversations"]
    await emulator.control.agent_disconnect(conversation_id)
    await until(lambda: session.snapshot.agent_state.call_state is CallState.WRAP_UP)
    [wrapping] = emulator.control.state()["conversations"]
    await emulator.control.complete_wrapup(conversation_id)
    await until(lambda: session.snapshot.agent_state.call_state is CallState.IDLE)
    for stale in (live, wrapping):
        await send_event(emulator, stale)
    await still_pushed(session, emulator, "Busy")
    assert session.snapshot.agent_state.call_state is CallState.IDLE
    assert session.snapshot.conversations == {}


async def test_events_during_a_rest_read_are_applied_after_it(
    session: AgentSession, emulator: Emulator
) -> None:
    """A REST answer older than an event that arrived meanwhile must not win."""
    conversation_id = await connected_call(emulator, session)
    older = await session.client.async_get_call(conversation_id)
    async with session.tracker.rest_read():
        await emulator.control.set_mute(conversation_id, True, by="desktop")
        await until(lambda: session.tracker._held_back)
        assert session.snapshot.agent_state.muted is False  # held back
        session.tracker.apply_conversation(older)  # the REST answer, taken before the mute
    assert session.snapshot.agent_state.muted is True


async def test_an_unexpected_error_is_logged_and_the_session_reconnects(
    session: AgentSession,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handle_frame = session.tracker.handle_frame
    failed: list[str] = []

    def fail_once(text: str) -> bool:
        if not failed:
            failed.append(text)
            raise RuntimeError("a bug")
        return handle_frame(text)

    monkeypatch.setattr(session.tracker, "handle_frame", fail_once)
    before = resyncs(emulator)
    await emulator.control.set_presence(emulator.demo_agent.id, "Away")
    await until(lambda: resyncs(emulator) > before)  # reconnected and re-read
    await until(lambda: session.snapshot.presence is PresenceState.AWAY)
    assert "Unexpected error" in caplog.text
    await still_pushed(session, emulator, "Busy")


async def test_backoff_grows_to_its_cap_with_jitter(session: AgentSession) -> None:
    pacer = session.pacer
    pacer.backoff_initial, pacer.backoff_max = 1.0, 300.0
    for failures, low, high in ((0, 0.0, 0.25), (1, 0.8, 1.0), (3, 3.2, 4.0), (30, 240, 300)):
        pacer.failures = failures
        assert low <= pacer.backoff() <= high
    pacer.failures = 10_000  # days of outage
    assert 240.0 <= pacer.backoff() <= 300.0
