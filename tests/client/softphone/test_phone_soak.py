"""A working day, compressed: the real softphone (phone.py) answers calls back to back.

Out of every default run (markers ``soak`` and ``softphone_soak``):
``.venv/bin/pytest -m softphone_soak -s --no-cov tests/client/softphone/test_phone_soak.py``
(``SOFTPHONE_SOAK_CALLS`` calls each way, 300 by default: about three minutes for both). Calls
come on a persistent connection (one peer connection, each later call renegotiated and
answered by REST) and without one (a peer connection a call); the streaming websocket is
dropped every ``DROP_EVERY`` calls. From call 50 to the last, tasks, file descriptors, UDP
sockets, aiortc objects and the live objects of the softphone's own classes stay flat, and
memory grows by less than the limit (what it still grows by is the emulator's history).

The emulator (Genesys, its gateway and its media peer) runs on an event loop of its own in
another thread, so the loop the lag monitor watches carries what Home Assistant's would: the
agent's session and the softphone. No callback may work that loop for 20 ms;
``SOFTPHONE_SOAK_CULPRITS=1`` names what made a wake-up later than that.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
import gc
import logging
import os
import threading
import time
from typing import Any

import aiohttp
from aiortc import RTCPeerConnection
import pytest

from custom_components.genesys_agent.genesys_cloud import AgentSession, CallState, SessionSnapshot
from custom_components.genesys_agent.genesys_cloud.softphone.phone import MediaState, Softphone
from genesys_emulator import Emulator, EmulatorConfig

from ...loop_lag import LoopLagMonitor
from ...softphone.helpers import AUDIBLE_DBFS
from ...softphone.test_soak import BASELINE_CALL, assert_flat, resources
from ..helpers import until
from .phone_calls import MakePhone

CALLS = int(os.environ.get("SOFTPHONE_SOAK_CALLS", "300"))
DROP_EVERY = 25
CULPRITS = bool(os.environ.get("SOFTPHONE_SOAK_CULPRITS"))
_SOFTPHONE_MODULES = ("custom_components.", "aiortc.", "aioice.", "av.", "pylibsrtp", "OpenSSL.")


class EmulatorLoop:
    """An event loop in a thread of its own; everything that touches the emulator runs on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="emulator")
        self._thread.start()

    async def run[T](self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Await ``work()`` on the emulator's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work(), self.loop))

    async def read[T](self, look: Callable[[], T]) -> T:
        """Call ``look`` on the emulator's loop (its state changes there)."""

        async def looked() -> T:
            return look()

        return await self.run(looked)

    async def until(self, condition: Callable[[], object], within: float = 10) -> None:
        """Wait for ``condition``, asked on the emulator's loop, to hold."""
        deadline = time.monotonic() + within
        while not await self.read(condition):
            assert time.monotonic() < deadline, "condition not met in time"
            await asyncio.sleep(0.01)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


@pytest.fixture
def snapshots() -> deque[SessionSnapshot]:
    """The session's latest snapshots only (every one of a working day's would be what grows)."""
    return deque(maxlen=10)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """The injected session, without keep-alive: a pooled connection (two file descriptors,
    both ends in this process) would come and go with aiohttp's idle timer."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        yield session


@pytest.fixture
async def emulator_loop() -> AsyncIterator[EmulatorLoop]:
    """The emulator's own loop, stopped after the test."""
    loop = EmulatorLoop()
    yield loop
    loop.close()


@pytest.fixture
async def emulator(socket_enabled: None, emulator_loop: EmulatorLoop) -> AsyncIterator[Emulator]:
    """A started emulator on its own loop (auto-approve on), stopped after the test."""

    async def start() -> Emulator:
        emu = Emulator(EmulatorConfig(auto_approve=True, control_api=True))
        await emu.start(host="127.0.0.1", port=0)
        return emu

    emu = await emulator_loop.run(start)
    yield emu
    await emulator_loop.run(emu.stop)


def softphone_objects() -> int:
    """Live objects of the integration's and its WebRTC stack's own classes (the emulator keeps
    every call's history, as Genesys does: it is what the process's memory still grows by)."""
    return sum(type(o).__module__.startswith(_SOFTPHONE_MODULES) for o in gc.get_objects())


async def closes_finished(peer_connections: int) -> None:
    """Wait (5 s at most) for the peer connections being closed to go: a leaked one stays."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        gc.collect()
        if sum(isinstance(o, RTCPeerConnection) for o in gc.get_objects()) == peer_connections:
            return
        await asyncio.sleep(0.05)


async def one_call(
    emulator: Emulator, on_emulator: EmulatorLoop, session: AgentSession, phone: Softphone
) -> None:
    """An inbound call, answered by the softphone, heard at the far end, hung up by the caller."""
    conversation_id = await on_emulator.run(emulator.control.start_inbound_call)
    await until(lambda: session.snapshot.agent_state.call_state is CallState.CONNECTED, 10)
    await until(lambda: phone.media_state is MediaState.CONNECTED, 10)
    await on_emulator.until(lambda: emulator.media_peer_of(conversation_id) is not None)
    peer = await on_emulator.read(lambda: emulator.media_peer_of(conversation_id))
    assert peer is not None
    # Ten fresh frames, all of them the agent's tone (a persistent peer heard earlier calls).
    heard = await on_emulator.read(lambda: peer.frames_received)
    await on_emulator.until(lambda: peer.frames_received >= heard + 10)
    await on_emulator.until(lambda: all(f.dbfs > AUDIBLE_DBFS for f in list(peer.frames)[-10:]))
    await on_emulator.run(lambda: emulator.control.customer_hangup(conversation_id))
    await until(lambda: session.snapshot.agent_state.call_state is not CallState.CONNECTED, 10)
    between_calls = MediaState.CONNECTED if phone.persistent else MediaState.IDLE
    await until(lambda: phone.media_state is between_calls, 10)


@pytest.mark.soak
@pytest.mark.softphone_soak
@pytest.mark.parametrize("persistent", [True, False], ids=["persistent", "per-call"])
async def test_the_softphone_answers_hundreds_of_calls_and_leaks_nothing(
    emulator: Emulator,
    emulator_loop: EmulatorLoop,
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
        station = await emulator_loop.run(
            lambda: emulator.control.create_station(emulator.demo_agent.id)
        )
        await emulator_loop.run(lambda: emulator.control.set_station_persistent(station.id, True))
    phone = await make_phone()
    assert phone.persistent is persistent
    samples: dict[int, dict[str, Any]] = {}
    # Both ends of the persistent connection; a call's own are closed (the last one's close
    # may still be under way when the phone shows idle).
    kept = 2 if persistent else 0
    started = time.monotonic()
    async with LoopLagMonitor(name_culprits=CULPRITS) as lag:
        for number in range(1, CALLS + 1):
            await one_call(emulator, emulator_loop, session, phone)
            if number in (1, 10, BASELINE_CALL, CALLS) or number % 50 == 0:
                with lag.paused():
                    await closes_finished(kept)
                    # Before a drop: its socket closes later.
                    samples[number] = resources() | {"softphone_objects": softphone_objects()}
            if number % DROP_EVERY == 0:
                await emulator_loop.run(emulator.streaming.drop_connections)
                await emulator_loop.until(lambda: len(emulator.streaming.sessions) == 1)
    elapsed = time.monotonic() - started
    assert_flat(
        samples,
        CALLS,
        elapsed,
        lag.figures(),
        peer_connections=kept,
        persistent=persistent,
    )
    # A persistent connection's packets and frames in flight vary by up to 8; an object kept a
    # call would add one for every call since the baseline.
    kept_objects = samples[CALLS]["softphone_objects"] - samples[BASELINE_CALL]["softphone_objects"]
    assert kept_objects < max(10, (CALLS - BASELINE_CALL) / 10), samples
    # No callback worked the loop for 20 ms, the garbage collections that ran inside it aside
    # (Python's, printed). A wake-up later than that was a wait (for the GIL, or for the OS to
    # run a thread aiortc starts): printed, with its cause when asked.
    assert lag.callbacks.own_max_ms < lag.threshold * 1000, lag.figures()
