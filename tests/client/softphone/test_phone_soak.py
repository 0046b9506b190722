"""A working day, compressed: the real softphone (phone.py) answers calls back to back.

Out of every default run (markers ``soak`` and ``softphone_soak``):
``SOFTPHONE_SOAK_CALLS=300 .venv/bin/pytest -m softphone_soak -s --no-cov
tests/client/softphone/test_phone_soak.py``. Calls come on a persistent connection (one peer
connection, each later call renegotiated and answered by REST) and without one (a peer
connection a call); the streaming websocket is dropped every ``DROP_EVERY`` calls. From call 50
to the last, memory, tasks, file descriptors, UDP sockets and aiortc objects stay flat; the
event loop's longest lag while calls are active is printed (the emulator and its media peer run
in the same loop, so it counts their work too).
"""

import asyncio
import gc
import logging
import os
import time
from typing import Any

from aiortc import RTCPeerConnection
import pytest

from custom_components.genesys_agent.genesys_cloud import AgentSession, CallState
from custom_components.genesys_agent.genesys_cloud.softphone.phone import MediaState, Softphone
from genesys_emulator import Emulator

from ...loop_lag import LoopLagMonitor
from ...softphone.test_soak import BASELINE_CALL, assert_flat, resources
from ..helpers import until
from .phone_calls import MakePhone, peer_of, talking
from .test_phone_faults import hears_the_agent

CALLS = int(os.environ.get("SOFTPHONE_SOAK_CALLS", "300"))
DROP_EVERY = 25
CULPRITS = bool(os.environ.get("SOFTPHONE_SOAK_CULPRITS"))


async def closes_finished(peer_connections: int) -> None:
    """Wait (5 s at most) for the peer connections being closed to go: a leaked one stays."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        gc.collect()
        if sum(isinstance(o, RTCPeerConnection) for o in gc.get_objects()) == peer_connections:
            return
        await asyncio.sleep(0.05)


async def one_call(emulator: Emulator, session: AgentSession, phone: Softphone) -> None:
    conversation_id = await talking(emulator, session, phone)
    peer = await peer_of(emulator, conversation_id)
    await hears_the_agent(peer)  # fresh frames: a persistent peer heard the earlier calls too
    await emulator.control.customer_hangup(conversation_id)
    await until(lambda: session.snapshot.agent_state.call_state is not CallState.CONNECTED, 10)
    between_calls = MediaState.CONNECTED if phone.persistent else MediaState.IDLE
    await until(lambda: phone.media_state is between_calls, 10)


@pytest.mark.soak
@pytest.mark.softphone_soak
@pytest.mark.parametrize("persistent", [True, False], ids=["persistent", "per-call"])
async def test_the_softphone_answers_hundreds_of_calls_and_leaks_nothing(
    emulator: Emulator,
    session: AgentSession,
    make_phone: MakePhone,
    caplog: pytest.LogCaptureFixture,
    persistent: bool,
) -> None:
    # Samples are compared at the same point between drops (a keep-alive connection's
    # socket and task come and go with them).
    assert CALLS > BASELINE_CALL
    assert CALLS % DROP_EVERY == 0
    for logger in (None, "aioice", "aiortc"):
        caplog.set_level(logging.WARNING, logger=logger)
    if persistent:
        station = await emulator.control.create_station(emulator.demo_agent.id)
        await emulator.control.set_station_persistent(station.id, True)
    phone = await make_phone()
    assert phone.persistent is persistent
    samples: dict[int, dict[str, Any]] = {}
    # Both ends of the persistent connection; a call's own are closed (the last one's close
    # may still be under way when the phone shows idle).
    kept = 2 if persistent else 0
    started = time.monotonic()
    async with LoopLagMonitor(name_culprits=CULPRITS) as lag:
        for number in range(1, CALLS + 1):
            await one_call(emulator, session, phone)
            if number in (1, 10, BASELINE_CALL, CALLS) or number % 50 == 0:
                with lag.paused():
                    await closes_finished(kept)
                    samples[number] = resources()  # before a drop: its socket closes later
            if number % DROP_EVERY == 0:
                await emulator.streaming.drop_connections()
                await until(lambda: len(emulator.streaming.sessions) == 1, 10)
    elapsed = time.monotonic() - started
    assert_flat(
        samples,
        CALLS,
        elapsed,
        lag.figures(),
        peer_connections=kept,
        persistent=persistent,
    )
