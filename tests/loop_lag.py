"""How long the event loop was kept from running: the figure behind "no callback over 20 ms".

``async with LoopLagMonitor() as lag: ...`` runs a ticker that asks to wake every ``interval``;
how late each wake-up comes is how long the loop was held, by callbacks or by waits (for the
GIL, or for the OS to run a thread a callback starts). Every callback the loop's thread runs
meanwhile is timed too (``asyncio.events.Handle._run``, wrapped while the monitor runs): its
CPU is the work it did, whatever the machine's other threads and processes were doing. The
test's own bookkeeping (``gc`` walks, say) runs inside ``with lag.paused():`` and is not counted.

``name_culprits`` names what held the loop: a thread looks at the loop thread's stack every
millisecond while the ticker is overdue, and every wake-up later than ``threshold`` (or after
half of it of the loop's CPU) is reported with the stack seen most often during its stall
(innermost frames first, then the coroutine the task runs, which tells whose task it was) and
the CPU each thread used meanwhile. asyncio's debug mode would name only the callback
(``Task.__step``) and costs time of its own (pytest turns it on): it is off while the monitor runs.
"""

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
import gc
from pathlib import Path
import re
import sys
import threading
import time
from types import FrameType, TracebackType
from typing import Any, Self

_SAMPLE_EVERY = 0.001
_ROOT = f"{Path(__file__).resolve().parents[1]}/"
_LIBRARY = re.compile(r".*/(site-packages|lib/python3\.\d+)/")
# Frames of the loop's own machinery, left out of a culprit's stack.
_LOOP_FILES = ("asyncio/base_events.py", "asyncio/events.py", "asyncio/runners.py")


def _where(frame: FrameType) -> str:
    """``file:line function``, the file from the repository's root or the package's folder."""
    path = _LIBRARY.sub("", frame.f_code.co_filename.removeprefix(_ROOT))
    return f"{path}:{frame.f_lineno} {frame.f_code.co_name}"


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


def _callback_name(handle: asyncio.Handle) -> str:
    """A task's coroutine (and what it awaits now), or the callback's own name."""
    callback = handle._callback  # type: ignore[attr-defined]
    task = getattr(callback, "__self__", None)
    if not isinstance(task, asyncio.Task):
        return str(getattr(callback, "__qualname__", callback))[:120]
    coroutine: Any = task.get_coro()
    name, awaiting = getattr(coroutine, "__qualname__", "?"), coroutine
    while (inner := getattr(awaiting, "cr_await", None)) is not None and hasattr(inner, "cr_await"):
        awaiting = inner
    return f"{name} -> {getattr(awaiting, '__qualname__', '?')}"


@dataclass
class _CallbackClock:
    """The loop thread's callbacks timed: the longest few by CPU (with the garbage collector's
    share of it), the longest wall time, and the collector's longest pause."""

    kept: int = 5
    longest: list[tuple[float, float, float, str]] = field(default_factory=list)
    wall_max_ms: float = 0.0
    # The most CPU a callback used besides the collections that ran inside it.
    own_max_ms: float = 0.0
    gc_ms: float = 0.0
    gc_pause_max_ms: float = 0.0
    _gc_started: float | None = None

    def record(self, handle: asyncio.Handle, cpu_ms: float, wall_ms: float, gc_ms: float) -> None:
        """Keep the callback if it is among the longest (one entry a name)."""
        self.wall_max_ms = max(self.wall_max_ms, wall_ms)
        self.own_max_ms = max(self.own_max_ms, cpu_ms - gc_ms)
        if len(self.longest) == self.kept and cpu_ms <= self.longest[-1][0]:
            return
        name = _callback_name(handle)
        same = [entry for entry in self.longest if entry[3] == name]
        if same and same[0][0] >= cpu_ms:
            return
        self.longest = [entry for entry in self.longest if entry[3] != name]
        self.longest.append((round(cpu_ms, 1), round(wall_ms, 1), round(gc_ms, 1), name))
        self.longest.sort(reverse=True)
        del self.longest[self.kept :]

    def collecting(self, phase: str) -> None:
        """``gc.callbacks``: the loop thread's collections, timed."""
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started is not None:
            pause_ms = (time.perf_counter() - self._gc_started) * 1000
            self._gc_started = None
            self.gc_ms += pause_ms
            self.gc_pause_max_ms = max(self.gc_pause_max_ms, pause_ms)

    @property
    def cpu_max_ms(self) -> float:
        return self.longest[0][0] if self.longest else 0.0


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
    # Wake-ups over the threshold, or after half of it worked: (lag, CPU the loop used
    # meanwhile, the beat before the stall).
    _late: list[tuple[float, float, float]] = field(default_factory=list)
    _pauses: int = 0
    _debug: bool = False
    callbacks: _CallbackClock = field(default_factory=_CallbackClock)
    _unwrapped: Any = None
    _loop_thread: int = 0

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self._debug = loop.get_debug()
        loop.set_debug(False)
        self._time_callbacks(threading.get_ident())
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
        asyncio.events.Handle._run = self._unwrapped  # type: ignore[method-assign]
        gc.callbacks.remove(self._collecting)
        asyncio.get_running_loop().set_debug(self._debug)

    def _time_callbacks(self, loop_thread: int) -> None:
        """Wrap ``Handle._run``: the loop thread's callbacks outside pauses are timed."""
        run = self._unwrapped = asyncio.events.Handle._run
        self._loop_thread = loop_thread
        monitor = self

        def timed(handle: asyncio.Handle) -> None:
            if threading.get_ident() != loop_thread:
                return run(handle)  # another loop (the emulator's, in a test)
            clock = monitor.callbacks
            pauses, cpu, wall, collected = (
                monitor._pauses,
                time.thread_time(),
                time.perf_counter(),
                clock.gc_ms,
            )
            try:
                return run(handle)
            finally:
                if monitor._pauses == pauses and not pauses % 2:
                    cpu_ms = (time.thread_time() - cpu) * 1000
                    wall_ms = (time.perf_counter() - wall) * 1000
                    clock.record(handle, cpu_ms, wall_ms, clock.gc_ms - collected)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]
        gc.callbacks.append(self._collecting)

    def _collecting(self, phase: str, _info: dict[str, int]) -> None:
        if threading.get_ident() == self._loop_thread and not self._pauses % 2:
            self.callbacks.collecting(phase)

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
            if lag_ms > self.threshold * 1000 or busy_ms > self.threshold * 500:
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
        """Each wake-up over the threshold (or after half of it of the loop's CPU), longest
        first: the loop's CPU meanwhile, its stall's commonest stack, and the CPU each thread
        used while it was sampled."""
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
            "loop_lags_over_threshold": sum(n for tenths, n in self.lags.items() if tenths > over),
            "loop_busy_max_ms": self.busiest_ms,
            "loop_busy_over_threshold": sum(n for tenths, n in self.busy.items() if tenths > over),
            "loop_lag_samples": self.lags.total(),
            "callback_cpu_max_ms": self.callbacks.cpu_max_ms,
            "callback_cpu_besides_gc_max_ms": round(self.callbacks.own_max_ms, 1),
            "callback_wall_max_ms": round(self.callbacks.wall_max_ms, 1),
            # The latest wake-ups, with the loop's CPU meanwhile: little of it means a wait.
            "late_wakeups_lag_cpu_ms": [
                [round(lag, 1), round(busy, 1)]
                for lag, busy, _ in sorted(self._late, reverse=True)[:5]
                if lag > self.threshold * 1000
            ],
            "gc_pause_max_ms": round(self.callbacks.gc_pause_max_ms, 1),
            "longest_callbacks_cpu_wall_gc_ms": self.callbacks.longest,
        }
        if self.name_culprits:
            figures["culprits"] = self.culprits_by_place()
        return figures

    def culprits_by_place(self, depth: int = 6) -> list[dict[str, Any]]:
        """The late wake-ups grouped by their innermost frames and their task's coroutine."""
        groups: dict[tuple[str, ...], list[tuple[float, float, dict[str, float]]]] = {}
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
