"""Fault injection: failing or hanging requests, added latency.

A failure either comes instead of the request (nothing is applied), or after it: the request is
applied, then its answer is lost (a 503 after the change took, or no answer at all).

Applies to every HTTP path except the control surface ``/_emulator``; websocket faults (silence,
raw frames, drops) live with the notification hub.
"""

import asyncio
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from .errors import CODE_FOR_STATUS, ApiError

CONTROL_PREFIX = "/_emulator"
TIMEOUT = "timeout"


@dataclass(kw_only=True)
class PendingFailure:
    """The next ``count`` requests under ``path_prefix`` fail with ``status``."""

    count: int
    status: int | str
    path_prefix: str
    retry_after: int
    # The request is applied first; only its answer fails.
    after_applying: bool = False


class FaultInjector:
    """Failures queued by the control surface, consumed by requests in order."""

    def __init__(self) -> None:
        """No faults."""
        self.failures: list[PendingFailure] = []
        self.latency = 0.0
        self._released = asyncio.Event()

    def fail_next(
        self,
        count: int,
        status: int | str,
        path_prefix: str,
        retry_after: int,
        *,
        after_applying: bool = False,
    ) -> None:
        """Queue ``count`` failures (status 429, 500, 503, 504 or ``"timeout"``)."""
        if status != TIMEOUT and status not in CODE_FOR_STATUS:
            raise ValueError(f"cannot inject status {status!r}")
        self.failures.append(
            PendingFailure(
                count=count,
                status=status,
                path_prefix=path_prefix,
                retry_after=retry_after,
                after_applying=after_applying,
            )
        )

    def clear(self) -> None:
        """Drop queued failures and latency."""
        self.failures.clear()
        self.latency = 0.0

    def release(self) -> None:
        """Let hanging requests go (emulator stop)."""
        self._released.set()

    def _take(self, path: str) -> PendingFailure | None:
        for failure in self.failures:
            if path.startswith(failure.path_prefix):
                failure.count -= 1
                if failure.count <= 0:
                    self.failures.remove(failure)
                return failure
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Delay, fail or hang the request as configured."""
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        if self.latency:
            await asyncio.sleep(self.latency)
        failure = self._take(request.path)
        if failure is None:
            return await handler(request)
        if failure.after_applying:
            await handler(request)
        if failure.status == TIMEOUT:
            # Hold the request open without answering; only the emulator's stop ends it.
            await self._released.wait()
            raise ApiError("request.timeout")
        assert isinstance(failure.status, int)
        raise ApiError(
            CODE_FOR_STATUS[failure.status],
            headers={"Retry-After": str(failure.retry_after)} if failure.status == 429 else None,
            limit=300,
            seconds=60,
        )
