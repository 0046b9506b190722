"""Softphone media figures for ``scripts/bench``: the mute gate, CPU per call, import cost.

``softphone_rows()`` gives rows in the shape of ``bench_figures.row``; ``python -m
tests.softphone.bench_media`` prints them as JSON. ``measured_apart()`` runs them that way, in a
fresh interpreter: the test harness's event loop runs in debug mode, which alone triples the
CPU and the latencies of a call. Real aiortc at both ends on loopback.
"""

import asyncio
from dataclasses import dataclass
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from custom_components.genesys_agent.genesys_cloud.softphone.media import (
    FRAME_SECONDS,
    AiortcMediaSession,
    GateTransition,
)
from custom_components.genesys_agent.genesys_cloud.softphone.models import AudioSource
from genesys_emulator.loopback_ice import pin_ice_to_loopback
from genesys_emulator.media_peer import MediaPeer, ReceivedFrame

from .helpers import AUDIBLE_DBFS, BELOW_DBFS, ROOT, run_python

CYCLES = 20
CPU_SECONDS = 10.0


@dataclass
class MuteFigures:
    """One mute (or unmute) as the gate and the far end saw it."""

    gate_ms: float
    frames_to_below: int
    frames_to_zero: int
    far_below_ms: float
    far_zero_ms: float
    receiver_ms: float


async def _frame(peer: MediaPeer, condition: Any, since: int) -> ReceivedFrame:
    while True:
        for frame in peer.frames:
            if frame.index >= since and condition(frame):
                return frame
        await asyncio.sleep(FRAME_SECONDS)


async def _transition(peer: MediaPeer, client: AiortcMediaSession, muted: bool) -> GateTransition:
    transition = client.set_muted(muted)
    assert transition is not None
    while transition.first_frame_index is None:  # noqa: ASYNC110 - a plain attribute
        await asyncio.sleep(0.001)
    return transition


async def mute_cycles(cycles: int = CYCLES) -> tuple[list[MuteFigures], list[tuple[int, float]]]:
    """Mute and unmute ``cycles`` times: each mute's figures, each unmute's (frames, ms)."""
    pin_ice_to_loopback()
    peer, client = MediaPeer(), AiortcMediaSession(AudioSource.tone(440))
    mutes: list[MuteFigures] = []
    unmutes: list[tuple[int, float]] = []
    try:
        answer = await client.answer(await peer.offer([]), [])
        await peer.accept_answer(answer)
        await _frame(peer, lambda f: True, 25)
        for cycle in range(cycles):
            await asyncio.sleep(0.2 + 0.013 * cycle)  # spread the commands across the frame
            mute = await _transition(peer, client, True)
            k = mute.first_frame_index
            assert k is not None
            assert mute.first_frame_at is not None
            first = await _frame(peer, lambda f: True, k)
            below = await _frame(peer, lambda f: f.dbfs < BELOW_DBFS, k)
            zero = await _frame(peer, lambda f: f.exact_zero, k)
            mutes.append(
                MuteFigures(
                    gate_ms=mute.delay_ms or 0.0,
                    frames_to_below=below.index - k,
                    frames_to_zero=zero.index - k,
                    far_below_ms=(below.arrival - mute.commanded_at) * 1000,
                    far_zero_ms=(zero.arrival - mute.commanded_at) * 1000,
                    receiver_ms=(first.arrival - mute.first_frame_at) * 1000,
                )
            )
            await asyncio.sleep(0.2)
            unmute = await _transition(peer, client, False)
            u = unmute.first_frame_index
            assert u is not None
            audible = await _frame(peer, lambda f: f.dbfs > AUDIBLE_DBFS, u)
            unmutes.append((audible.index - u, (audible.arrival - unmute.commanded_at) * 1000))
    finally:
        await client.close()
        await peer.close()
    return mutes, unmutes


FAR_END = """
import asyncio, json, sys, time
from genesys_emulator.media_peer import MediaPeer

async def main():
    loop = asyncio.get_running_loop()
    peer = MediaPeer()
    print(json.dumps(await peer.offer([])), flush=True)
    await peer.accept_answer(json.loads(await loop.run_in_executor(None, sys.stdin.readline)))
    await loop.run_in_executor(None, sys.stdin.readline)
    print(json.dumps({"cpu": time.process_time(), "frames": peer.frames_received}), flush=True)
    await peer.close()

asyncio.run(main())
"""


async def cpu_per_call(seconds: float = CPU_SECONDS) -> tuple[float, int]:
    """This process's CPU (% of one core) with one call, the far end in another process."""
    pin_ice_to_loopback()
    far_end = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        FAR_END,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert far_end.stdin is not None
    assert far_end.stdout is not None
    client = AiortcMediaSession(AudioSource.tone(440))
    try:
        offer = json.loads(await far_end.stdout.readline())
        far_end.stdin.write(json.dumps(await client.answer(offer, [])).encode() + b"\n")
        await asyncio.sleep(2)  # connected and flowing
        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        share = (time.process_time() - cpu) / (time.perf_counter() - started) * 100
        far_end.stdin.write(b"done\n")
        heard = json.loads(await far_end.stdout.readline())["frames"]
    finally:
        await client.close()
        await far_end.wait()
    return share, heard


IMPORT_COST = """
import time
import custom_components.genesys_agent.genesys_cloud.softphone.models  # the integration, loaded
def rss(): return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20
before, started = rss(), time.perf_counter()
import custom_components.genesys_agent.genesys_cloud.softphone.media
print(rss() - before, time.perf_counter() - started)
"""


def import_cost() -> tuple[float, float]:
    """RSS (MB) and seconds added by importing the media module (aiortc, av) when enabled."""
    memory, seconds = run_python("-c", IMPORT_COST).split()
    return float(memory), float(seconds)


def _spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return {"median": statistics.median(values), "p95": p95, "max": ordered[-1]}


SPREAD = "median {median:.1f} ms, p95 {p95:.1f} ms, max {max:.1f} ms"


async def softphone_rows() -> list[dict[str, Any]]:
    """Every softphone figure of one run, as ``bench_figures.row`` arguments.

    Each row has a ``template`` over its ``values``; ``met`` is None (no target to meet) or
    whether this run met the target.
    """
    mutes, unmutes = await mute_cycles()
    cpu, heard = await cpu_per_call()
    memory, seconds = import_cost()
    gate = [m.gate_ms for m in mutes]
    audible = max(frames for frames, _ in unmutes)
    zero = max(m.frames_to_zero for m in mutes)

    def row(
        figure: str, template: str, target: str, met: bool | None, **values: float
    ) -> dict[str, Any]:
        return {
            "figure": figure,
            "template": template,
            "target": target,
            "met": met,
            "values": values,
        }

    return [
        row(
            "softphone: mute → first zeroed frame to the encoder",
            SPREAD,
            "≤ 20 ms (the next frame)",
            max(gate) <= 20,
            **_spread(gate),
        ),
        row(
            "softphone: far end below -60 dBFS / exact zero, frames after the first zeroed",
            "frame k+{below:.0f} / k+{zero:.0f} at worst (frame k carries Opus' look-ahead)",
            "exact zero by k+2",
            zero <= 2,
            below=max(m.frames_to_below for m in mutes),
            zero=zero,
        ),
        row(
            "softphone: mute → far end below -60 dBFS",
            SPREAD,
            "jitter buffer dominated",
            None,
            **_spread([m.far_below_ms for m in mutes]),
        ),
        row(
            "softphone: mute → far end exact zero",
            SPREAD,
            "jitter buffer dominated",
            None,
            **_spread([m.far_zero_ms for m in mutes]),
        ),
        row(
            "softphone: of which encoder → far end's decoded frame (aiortc jitter buffer)",
            SPREAD,
            "≈ 80 ms measured for aiortc's receiver",
            None,
            **_spread([m.receiver_ms for m in mutes]),
        ),
        row(
            "softphone: unmute → first audible frame at the far end",
            "frame +{frame:.0f} at worst; " + SPREAD,
            "the first unmuted frame",
            audible == 0,
            frame=audible,
            **_spread([ms for _, ms in unmutes]),
        ),
        row(
            "softphone: CPU per active call (this end; far end in another process)",
            "{cpu:.1f} % of one core ({heard:.0f} frames heard)",
            "≈ 9 % measured in issue 12",
            None,
            cpu=cpu,
            heard=heard,
        ),
        row(
            "softphone: memory and time of importing aiortc/av (only when enabled)",
            "{memory:.0f} MB, {seconds:.2f} s",
            "≈ 68 MB, 1 s measured in issue 12",
            None,
            memory=memory,
            seconds=seconds,
        ),
    ]


def measured_apart() -> list[dict[str, Any]]:
    """``softphone_rows()`` from a fresh interpreter (blocking: call it in a thread)."""
    rows: list[dict[str, Any]] = json.loads(run_python("-m", "tests.softphone.bench_media"))
    return rows


if __name__ == "__main__":
    print(json.dumps(asyncio.run(softphone_rows()), indent=2, ensure_ascii=False))
