"""Bounded soak: aiortc calls back to back leak nothing (memory, tasks, fds, sockets, peers).

Out of every default run (markers ``soak`` and ``softphone_soak``):
``SOFTPHONE_SOAK_CALLS=100 .venv/bin/pytest -m softphone_soak -s --no-cov tests/softphone``.
Each call opens two peers on loopback, carries a second of audio both ways and closes; from call
50 to the last, every resource must stay flat, and the event loop's longest lag while calls are
active is measured. The softphone's own media session replaces ``call`` once it exists.

Resident memory is read twice: as the kernel counts it, and after glibc's ``malloc_trim`` has
returned the free heap pages it keeps; what the trimmed figure still grows by is what calls
retain (with aiortc 1.16: about 33 KB a call from call 50 to 100, 14 KB from 50 to 300).
"""

import asyncio
import ctypes
import gc
import json
import logging
import os
import time
from typing import Any

from aiortc import RTCDtlsTransport, RTCPeerConnection
import psutil
import pytest

from ..loop_lag import LoopLagMonitor
from .peers import call, configuration, hears_audio

CALLS = int(os.environ.get("SOFTPHONE_SOAK_CALLS", "100"))
BASELINE_CALL = 50
AUDIO_S = 1.0
# A backstop for native leaks (peer connections themselves are counted): a call that kept its
# buffers would retain hundreds of KB; allocator noise stays well under this.
RETAINED_PER_CALL_LIMIT_KB = 64.0
LIBC = ctypes.CDLL(None)


def resident_mb() -> float:
    return round(psutil.Process().memory_info().rss / 2**20, 1)


def resources() -> dict[str, Any]:
    gc.collect()
    process = psutil.Process()
    live = gc.get_objects()
    raw_mb = resident_mb()
    LIBC.malloc_trim(0)
    return {
        "rss_mb": raw_mb,
        "rss_trimmed_mb": resident_mb(),
        "tasks": len(asyncio.all_tasks()),
        "fds": process.num_fds(),
        "udp_sockets": len(process.net_connections(kind="udp")),
        "peer_connections": sum(isinstance(o, RTCPeerConnection) for o in live),
        "dtls_transports": sum(isinstance(o, RTCDtlsTransport) for o in live),
    }


async def one_call() -> None:
    near, far = await call(configuration([]), configuration([]))
    try:
        started = time.monotonic()
        await asyncio.gather(hears_audio(near), hears_audio(far))
        await asyncio.sleep(max(AUDIO_S - (time.monotonic() - started), 0))
    finally:
        await asyncio.gather(near.close(), far.close())


@pytest.mark.soak
@pytest.mark.softphone_soak
async def test_calls_back_to_back_leak_nothing(
    loopback_webrtc: None, caplog: pytest.LogCaptureFixture
) -> None:
    assert CALLS > BASELINE_CALL
    # Home Assistant logs warnings by default; pytest would keep every INFO line of aioice in
    # memory for the report, and that would be the only thing growing.
    for logger in (None, "aioice", "aiortc"):
        caplog.set_level(logging.WARNING, logger=logger)
    samples: dict[int, dict[str, Any]] = {0: resources()}
    started = time.monotonic()
    async with LoopLagMonitor() as lag:
        for number in range(1, CALLS + 1):
            await one_call()
            if number in (1, 10, BASELINE_CALL, CALLS) or number % 25 == 0:
                with lag.paused():
                    samples[number] = resources()
    elapsed = time.monotonic() - started
    for number, sample in samples.items():
        print(json.dumps({"call": number, **sample}))
    baseline, last = samples[BASELINE_CALL], samples[CALLS]
    calls_since = CALLS - BASELINE_CALL
    raw_kb, retained_kb = (
        (last[key] - baseline[key]) * 1024 / calls_since for key in ("rss_mb", "rss_trimmed_mb")
    )
    print(
        json.dumps(
            {
                "calls": CALLS,
                "seconds": round(elapsed, 1),
                f"rss_growth_per_call_from_{BASELINE_CALL}_kb": round(raw_kb, 1),
                f"retained_per_call_from_{BASELINE_CALL}_kb": round(retained_kb, 1),
                **lag.figures(),
            }
        )
    )
    for resource in ("tasks", "fds", "udp_sockets", "peer_connections", "dtls_transports"):
        assert last[resource] == baseline[resource], (resource, baseline, last)
    assert last["peer_connections"] == 0
    assert retained_kb < RETAINED_PER_CALL_LIMIT_KB, (baseline, last)
