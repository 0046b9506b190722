"""How long the event loop was kept from running: the figure behind "no callback over 20 ms".

``async with LoopLagMonitor() as lag: ...`` runs a ticker that asks to wake every ``interval``;
how late each wake-up comes is how long some callback held the loop. The test's own
bookkeeping (``gc`` walks, say) runs inside ``with lag.paused():`` and is not counted.

``name_culprits`` names what held the loop: a thread looks at the loop thread's stack every
millisecond while the ticker is overdue, and every wake-up later than ``threshold`` is reported
with the stack seen most often during its stall (innermost frames first, then the coroutine the
task runs, which tells whose task it was). asyncio's debug mode would name only the callback
(``Task.__step``) and costs time of its own (pytest turns it on): it is off while the monitor runs.
"""

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
import sys
import threading
import time
from types import FrameType, TracebackType
from typing import Any, Self

_SAMPLE_EVERY = 0.001
# Frames of the loop's own machinery, left out of a culprit's stack.
_LOOP_FILES = ("asyncio/base_events.py", "asyncio/events.py", "asyncio/runners.py")


def _where(frame: FrameType) -> str:
    path = frame.f_code.co_filename
    for marker in ("site-packages/", "/lib/python3", "/work/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path.removeprefix('wt/soak/')}:{frame.f_lineno} {frame.f_code.co_name}"


def _stack(frame: FrameType | None) -> tuple[str, ...]:
    """The loop thread's frames, innermost first, up to (not into) the loop's own."""
    frames: list[str] = []
    while frame is not None and not frame.f_code.co_filename.endswith(_LOOP_FILES):
        frames.append(_where(frame))
        frame = frame.f_back
    return tuple(frames)


def _thread_cpu_ns() -> dict[str, int]:
    """Each live thread's CPU time, by name (the loop's thread is ``loop``)."""
    used: dict[str, int] = {}
    for thread in threading.enumerate():
        if thread.ident is None:
            continue
        name = "loop" if thread is threading.main_thread() else thread.name.split(" ")[0]
        with suppress(OSError):  # ended meanwhile
            clock = time.pthread_getcpuclockid(thread.ident)
            used[name] = used.get(name, 0) + time.clock_gettime_ns(clock)
    return used


@dataclass
class _Stall:
    stacks: Counter[tuple[str, ...]] = field(default_factory=Counter)
    cpu_at_start: dict[str, int] = field(default_factory=dict)
    cpu_at_end: dict[str, int] = field(default_factory=dict)

    def cpu_ms(self) -> dict[str, float]:
        """CPU each thread used while the loop was overdue (the loop's own: it was working)."""
        used = {
            name: (ns - self.cpu_at_start.get(name, ns)) / 1e6
            for name, ns in self.cpu_at_end.items()
        }
        return {name: round(ms, 1) for name, ms in sorted(used.items()) if ms >= 1}


class _StallSampler(threading.Thread):
    """While the loop is overdue, its thread's stack every millisecond, grouped by stall."""

    def __init__(self, loop_thread: int, overdue_after: float) -> None:
        super().__init__(name="loop-lag-sampler", daemon=True)
        self._loop_thread = loop_thread
        self._overdue_after = overdue_after
        self.beat = time.perf_counter()
        self.stalls: dict[float, _Stall] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(_SAMPLE_EVERY):
            beat = self.beat
            if time.perf_counter() - beat < self._overdue_after:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            stall = self.stalls.get(beat)
            if stall is None:
                stall = self.stalls[beat] = _Stall(cpu_at_start=_thread_cpu_ns())
            stall.stacks[_stack(frame)] += 1
            stall.cpu_at_end = _thread_cpu_ns()


@dataclass
class LoopLagMonitor:
    interval: float = 0.005
    threshold: float = 0.020
    name_culprits: bool = False
    # How late each wake-up came, and the CPU the loop's thread used from each tick to the next
    # (what callbacks ran meanwhile): counted by 0.1 ms, so an hour of ticks holds no memory.
    lags: Counter[int] = field(default_factory=Counter)
    busy: Counter[int] = field(default_factory=Counter)
    _task: asyncio.Task[None] | None = None
    _sampler: _StallSampler | None = None
    # Wake-ups over the threshold: (lag, CPU the loop used meanwhile, the beat before the stall).
    _late: list[tuple[float, float, float]] = field(default_factory=list)
    _pauses: int = 0
    _debug: bool = False

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self._debug = loop.get_debug()
        loop.set_debug(False)
        if self.name_culprits:
            self._sampler = _StallSampler(threading.get_ident(), self.interval + 0.005)
            self._sampler.start()
        self._task = asyncio.create_task(self._tick())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        if self._sampler is not None:
            self._sampler.stopped.set()
            self._sampler.join()
        asyncio.get_running_loop().set_debug(self._debug)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Leave out every tick that overlaps the block (which may await)."""
        self._pauses += 1
        try:
            yield
        finally:
            self._pauses += 1

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, pauses = loop.time() + self.interval, self._pauses
            beat, cpu = time.perf_counter(), time.thread_time()
            if self._sampler is not None:
                self._sampler.beat = beat
            await asyncio.sleep(self.interval)
            if self._pauses != pauses or pauses % 2:
                continue
            lag_ms = max(loop.time() - due, 0.0) * 1000
            busy_ms = (time.thread_time() - cpu) * 1000
            self.lags[round(lag_ms * 10)] += 1
            self.busy[round(busy_ms * 10)] += 1
            if lag_ms > self.threshold * 1000:
                self._late.append((lag_ms, busy_ms, beat))

    @property
    def busiest_ms(self) -> float:
        """The most CPU the loop used between two ticks: no callback took longer."""
        return max(self.busy, default=0) / 10

    @property
    def longest_ms(self) -> float:
        return max(self.lags, default=0) / 10

    def _percentile_ms(self, fraction: float) -> float:
        rank, seen = int(self.lags.total() * fraction), 0
        for tenths in sorted(self.lags):
            seen += self.lags[tenths]
            if seen > rank:
                return tenths / 10
        return 0.0

    def culprits(self) -> list[tuple[float, float, tuple[str, ...], dict[str, float]]]:
        """Each wake-up over the threshold, longest first: the loop's CPU meanwhile, its
        stall's commonest stack, and the CPU each thread used while it was sampled."""
        stalls = self._sampler.stalls if self._sampler is not None else {}
        named = []
        for lag_ms, busy_ms, beat in sorted(self._late, reverse=True):
            seen = stalls.get(beat)
            stack = seen.stacks.most_common(1)[0][0] if seen else ()
            threads = seen.cpu_ms() if seen else {}
            named.append((round(lag_ms, 1), round(busy_ms, 1), stack, threads))
        return named

    def figures(self) -> dict[str, Any]:
        over = self.threshold * 10_000
        figures: dict[str, Any] = {
            "loop_lag_max_ms": self.longest_ms,
            "loop_lag_p99_ms": self._percentile_ms(0.99),
            "loop_lags_over_threshold": len(self._late),
            "loop_busy_max_ms": self.busiest_ms,
            "loop_busy_over_threshold": sum(n for tenths, n in self.busy.items() if tenths > over),
            "loop_lag_samples": self.lags.total(),
        }
        if self.name_culprits:
            figures["culprits"] = self.culprits_by_place()
        return figures

    def culprits_by_place(self, depth: int = 6) -> list[dict[str, Any]]:
        """The late wake-ups grouped by their innermost frames and their task's coroutine."""
        groups: dict[tuple[str, ...], list[tuple[float, dict[str, float]]]] = {}
        for lag_ms, busy_ms, stack, threads in self.culprits():
            groups.setdefault(stack[:depth] + stack[-1:], []).append((lag_ms, busy_ms, threads))
        return [
            {
                "count": len(stalls),
                "max_ms": max(stalls)[0],
                "loop_cpu_ms": [busy for _, busy, _ in stalls],
                "threads_cpu_ms_in_longest": max(stalls, key=lambda s: s[0])[2],
                "stack": list(place),
            }
            for place, stalls in sorted(groups.items(), key=lambda g: -max(g[1])[0])
        ]
