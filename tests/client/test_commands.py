"""The one command mechanism: nothing is shown or reported before Genesys shows the truth."""

import asyncio
import time

import pytest

from custom_components.genesys_agent.genesys_cloud import (
    AgentSession,
    GenesysClient,
    GenesysConnectionError,
    GenesysServerError,
    SessionSnapshot,
)
from custom_components.genesys_agent.genesys_cloud.commands import MUTE
from genesys_emulator import Emulator

from .helpers import api_patches, connected_call, emulator_agent_leg, until

CALLS = "/api/v2/conversations/calls/"


async def test_a_hanging_mute_is_pending_but_never_muted(
    session: AgentSession,
    client: GenesysClient,
    emulator: Emulator,
    snapshots: list[SessionSnapshot],
) -> None:
    """Genesys never answers and never applies: no snapshot says muted; pending after ~1 s."""
    conversation_id = await connected_call(emulator, session)
    client.request_timeout = 3.0
    session.commands.confirm_timeout = 0.5
    await emulator.control.fail_next(1, status="timeout", path_prefix=CALLS)
    seen = len(snapshots)
    started = time.monotonic()
    press = asyncio.create_task(session.async_set_mute(True))
    await until(lambda: MUTE in session.snapshot.pending_commands, within=1.5)
    assert time.monotonic() - started < 1.5  # read back at once, not after 5 s
    with pytest.raises(GenesysConnectionError):
        await press
    assert not any(s.agent_state.muted for s in snapshots[seen:])
    assert session.snapshot.pending_commands == frozenset()
    assert emulator_agent_leg(emulator, conversation_id)["muted"] is False


@pytest.mark.parametrize("lost_answer", [503, 500, "timeout"])
async def test_a_mute_that_took_is_not_refused_when_its_answer_is_lost(
    session: AgentSession, emulator: Emulator, lost_answer: int | str
) -> None:
    """Genesys applies the PATCH, then its answer is lost: the press succeeds."""
    conversation_id = await connected_call(emulator, session)
    await emulator.control.fail_after_applying(1, status=lost_answer, path_prefix=CALLS)
    await session.async_set_mute(True)
    assert session.snapshot.agent_state.muted is True
    assert emulator_agent_leg(emulator, conversation_id)["muted"] is True
    # Sent once, never again (a request left hanging is not audited: it never ends).
    assert [p.body for p in api_patches(emulator)] in ([{"muted": True}], [])


async def test_a_lost_answer_of_a_mute_that_did_not_take_is_reported(
    session: AgentSession, emulator: Emulator
) -> None:
    """A 503 before anything was applied: the read-back shows no mute; the 503 is reported."""
    await connected_call(emulator, session)
    await emulator.control.fail_next(1, status=503, path_prefix=CALLS)
    with pytest.raises(GenesysServerError) as raised:
        await session.async_set_mute(True)
    assert raised.value.status == 503
    assert session.snapshot.agent_state.muted is False


async def test_a_lost_event_is_read_back_within_about_a_second(
    client: GenesysClient, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the session's own defaults, a mute whose event is lost settles in about a second."""
    session = AgentSession(client, listener=lambda snapshot: None)
    await session.async_start()
    try:
        await connected_call(emulator, session)
        monkeypatch.setattr(session.tracker, "handle_frame", lambda text: False)
        started = time.monotonic()
        await session.async_set_mute(True)
        elapsed = time.monotonic() - started
    finally:
        await session.async_stop()
    assert session.snapshot.agent_state.muted is True
    assert 0.9 <= elapsed < 2.0


async def test_a_slow_answer_after_the_read_back_still_confirms(
    session: AgentSession, emulator: Emulator
) -> None:
    """The PATCH takes longer than the read-back window (latency on every request)."""
    conversation_id = await connected_call(emulator, session)
    session.commands.confirm_timeout = 0.2
    await emulator.control.set_latency(0.4)
    try:
        await session.async_set_mute(True)
    finally:
        await emulator.control.set_latency(0)
    assert session.snapshot.agent_state.muted is True
    assert emulator_agent_leg(emulator, conversation_id)["muted"] is True
