"""Reconnects are paced by failed attempts, not by drops: a flapping link stays mostly up.

The session here has the production backoff (1 s first step); the emulator's heartbeats come
every 30 s, so no frame arrives between the drops.
"""

import asyncio
from collections.abc import AsyncGenerator
import time

import pytest

from custom_components.genesys_agent.genesys_cloud import (
    AgentSession,
    GenesysClient,
    SessionSnapshot,
)
from genesys_emulator import Emulator

from .helpers import until
from .test_reconnects import resyncs

# The README's bound for one reconnect and resync after a drop.
HEAL_BOUND = 1.5


@pytest.fixture
async def changes() -> list[tuple[float, bool]]:
    """When the session went down or came back up (monotonic time, connected)."""
    return []


@pytest.fixture
async def production_session(
    client: GenesysClient, changes: list[tuple[float, bool]]
) -> AsyncGenerator[AgentSession]:
    def record(snapshot: SessionSnapshot) -> None:
        if not changes or changes[-1][1] != snapshot.connected:
            changes.append((time.monotonic(), snapshot.connected))

    session = AgentSession(client, listener=record)
    await session.async_start()
    yield session
    await session.async_stop()


async def drop_and_heal(session: AgentSession, emulator: Emulator) -> float:
    """Seconds from a drop until the session is up and resynced again."""
    started = time.monotonic()
    assert await emulator.control.drop_websockets() == 1
    await until(lambda: not session.snapshot.connected)
    await until(lambda: session.snapshot.connected, within=30)
    return time.monotonic() - started


async def test_ten_back_to_back_drops_each_heal_quickly(
    production_session: AgentSession, emulator: Emulator
) -> None:
    heals = [await drop_and_heal(production_session, emulator) for _ in range(10)]
    assert max(heals) <= HEAL_BOUND, [round(heal, 2) for heal in heals]


async def test_a_link_dropping_every_five_seconds_stays_up(
    production_session: AgentSession, emulator: Emulator, changes: list[tuple[float, bool]]
) -> None:
    """Six drops over 30 s: the session is up at least 80 % of the time."""
    started = time.monotonic()
    for drop in range(6):
        await asyncio.sleep(max(0.0, started + 5 * drop - time.monotonic()))
        if production_session.snapshot.connected:
            await emulator.control.drop_websockets()
    await asyncio.sleep(max(0.0, started + 30 - time.monotonic()))
    ended = time.monotonic()
    down, down_since = 0.0, None
    for moment, connected in changes:
        if not connected and down_since is None:
            down_since = max(moment, started)
        elif connected and down_since is not None:
            down, down_since = down + moment - down_since, None
    if down_since is not None:
        down += ended - down_since
    assert down / (ended - started) <= 0.2, f"down {down:.1f} s of {ended - started:.1f} s"


async def test_a_link_that_drops_every_socket_at_once_is_not_hammered(
    session: AgentSession, emulator: Emulator
) -> None:
    """Every socket is accepted, resynced and dropped: attempts stay within the budget."""
    session.pacer.burst, session.pacer.refill_interval = 3, 0.5
    window = 3.0
    before = resyncs(emulator)
    started = time.monotonic()
    while time.monotonic() < started + window:
        if session.snapshot.connected:
            await emulator.control.drop_websockets()
        await asyncio.sleep(0.01)
    attempts = resyncs(emulator) - before
    # The burst, one refill per 0.5 s, and one attempt in flight at the end.
    assert 3 <= attempts <= 3 + window / 0.5 + 1


async def test_failed_attempts_still_back_off(session: AgentSession, emulator: Emulator) -> None:
    """Resyncs that fail escalate: 0.05 s, 0.1 s, 0.2 s, 0.4 s between the five attempts."""
    await emulator.control.fail_next(4, status=503, path_prefix="/api/v2/users/me")
    before = resyncs(emulator)
    started = time.monotonic()
    await emulator.control.drop_websockets()
    await until(lambda: resyncs(emulator) >= before + 5)
    await until(lambda: session.snapshot.connected)
    assert time.monotonic() - started >= 0.8 * (0.05 + 0.1 + 0.2 + 0.4)
