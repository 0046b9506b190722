"""How long the event loop was kept from running: the figure behind "no callback over 20 ms".

``async with LoopLagMonitor() as lag: ...`` runs a ticker that asks to wake every ``interval``;
how late each wake-up comes is how long some callback held the loop. The loop's debug mode
(pytest turns it on) costs time of its own, so it is off while the monitor runs, unless
``name_culprits`` asks asyncio to name every callback slower than ``threshold``. The test's
own bookkeeping (``gc`` walks, say) runs inside ``with lag.paused():`` and is not counted.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
import logging
import re
from types import TracebackType
from typing import Any, Self

SLOW_CALLBACK = re.compile(r"Executing (?P<what>.*) took (?P<seconds>[0-9.]+) seconds", re.DOTALL)


class _SlowCallbackLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.slow: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if match := SLOW_CALLBACK.match(record.getMessage()):
            self.slow.append((float(match["seconds"]) * 1000, match["what"][:160]))


@dataclass
class LoopLagMonitor:
    interval: float = 0.005
    threshold: float = 0.020
    name_culprits: bool = False
    lags_ms: list[float] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _log: _SlowCallbackLog = field(default_factory=_SlowCallbackLog)
    _saved: tuple[bool, float] = (False, 0.1)
    _pauses: int = 0

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self._saved = (loop.get_debug(), loop.slow_callback_duration)
        loop.slow_callback_duration = self.threshold
        loop.set_debug(self.name_culprits)
        logging.getLogger("asyncio").addHandler(self._log)
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
        logging.getLogger("asyncio").removeHandler(self._log)
        loop = asyncio.get_running_loop()
        loop.set_debug(self._saved[0])
        loop.slow_callback_duration = self._saved[1]

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Leave out every tick that overlaps the block."""
        self._pauses += 1
        try:
            yield
        finally:
            self._pauses += 1

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, pauses = loop.time() + self.interval, self._pauses
            await asyncio.sleep(self.interval)
            if self._pauses == pauses:
                self.lags_ms.append(max(loop.time() - due, 0.0) * 1000)

    @property
    def longest_ms(self) -> float:
        return max(self.lags_ms, default=0.0)

    def figures(self) -> dict[str, Any]:
        ordered = sorted(self.lags_ms)
        p99 = ordered[int(len(ordered) * 0.99)] if ordered else 0.0
        over = sum(lag > self.threshold * 1000 for lag in ordered)
        return {
            "loop_lag_max_ms": round(self.longest_ms, 1),
            "loop_lag_p99_ms": round(p99, 1),
            "loop_lags_over_threshold": over,
            "loop_lag_samples": len(ordered),
            "slow_callbacks": sorted(self._log.slow, reverse=True)[:5],
        }
