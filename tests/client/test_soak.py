"""Bounded soak: 1 000 call cycles with mutes and socket drops; memory and tasks stay flat.

Not in the default run (marker ``soak``): ``.venv/bin/pytest -m soak -s --no-cov``.
"""

import asyncio
import gc
import os
import time

import aiohttp
import psutil
import pytest

from custom_components.genesys_agent.genesys_cloud import (
    AgentSession,
    CallState,
    GenesysClient,
    custom_environment,
)
from genesys_emulator import Emulator

from .conftest import EmulatorAuth
from .helpers import until

CYCLES = 1000
DROP_EVERY = 50


async def one_call(emulator: Emulator, session: AgentSession) -> None:
    """Ring, answer, mute, unmute, hang up, wrap up."""
    conversation_id = await emulator.control.start_inbound_call()
    await emulator.control.answer(conversation_id)
    await until(lambda: session.snapshot.agent_state.call_state is CallState.CONNECTED)
    await session.async_set_mute(True)
    await session.async_set_mute(False)
    await emulator.control.customer_hangup(conversation_id)
    await emulator.control.complete_wrapup(conversation_id)
    await until(lambda: session.snapshot.agent_state.call_state is CallState.IDLE)


def resident_mb() -> float:
    gc.collect()
    return float(psutil.Process(os.getpid()).memory_info().rss) / 2**20


@pytest.mark.soak
async def test_a_thousand_calls_with_drops_leak_nothing(
    http: aiohttp.ClientSession, emulator: Emulator, auth: EmulatorAuth
) -> None:
    client = GenesysClient(http, custom_environment(emulator.base_url), auth)
    session = AgentSession(client, listener=lambda snapshot: None, backoff_initial=0.01)
    await session.async_start()
    try:
        started = time.monotonic()
        for cycle in range(CYCLES):
            if cycle == 100:
                baseline_mb, baseline_tasks = resident_mb(), len(asyncio.all_tasks())
            if cycle % DROP_EVERY == DROP_EVERY - 1:
                # Seen by the tracker itself: the session is often up again before a poll.
                with session.tracker.watch(lambda s: not s.connected) as went_down:
                    await emulator.control.drop_websockets()
                    await asyncio.wait_for(went_down.wait(), 5)
                await until(lambda: session.snapshot.connected)
            await one_call(emulator, session)
        elapsed = time.monotonic() - started
        final_mb, final_tasks = resident_mb(), len(asyncio.all_tasks())
        sockets = [c for c in emulator.control.state()["channels"] if c["connected"]]
        print(
            f"\nsoak: {CYCLES} calls, {CYCLES // DROP_EVERY} socket drops in {elapsed:.1f} s; "
            f"RSS {baseline_mb:.1f} MB after 100 calls -> {final_mb:.1f} MB after {CYCLES}; "
            f"asyncio tasks {baseline_tasks} -> {final_tasks}; open websockets {len(sockets)}; "
            f"legs remembered {len(session.tracker._leg_stages)}"
        )
        assert final_tasks == baseline_tasks
        assert len(sockets) == 1
        assert final_mb - baseline_mb < 10
        assert session.snapshot.conversations == {}
    finally:
        await session.async_stop()
