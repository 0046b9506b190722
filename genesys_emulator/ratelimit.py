"""Genesys' per-token request budget and its ``inin-ratelimit-*`` headers.

A fixed one-minute window per access token; over the limit, 429 ``too.many.requests`` with
``Retry-After`` (seconds to the window's end). Without a configured limit the headers still
advertise Genesys' documented 300 requests per token per minute, and nothing is refused.
"""

import math
import time

from .errors import ApiError

WINDOW_SECONDS = 60.0
GENESYS_TOKEN_LIMIT = 300


class RateLimiter:
    """Counts requests per token per window."""

    def __init__(self, limit: int | None) -> None:
        """Enforce ``limit`` requests per minute (None: count only)."""
        self.limit = limit
        self._windows: dict[str, tuple[float, int]] = {}

    def reset(self) -> None:
        """Forget every window."""
        self._windows.clear()

    def count(self, token: str) -> dict[str, str]:
        """Count one request; the headers to send, or 429 when over the limit."""
        now = time.monotonic()
        start, used = self._windows.get(token, (now, 0))
        if now - start >= WINDOW_SECONDS:
            start, used = now, 0
        used += 1
        self._windows[token] = (start, used)
        allowed = self.limit if self.limit is not None else GENESYS_TOKEN_LIMIT
        reset = max(1, math.ceil(start + WINDOW_SECONDS - now))
        headers = {
            "inin-ratelimit-count": str(used),
            "inin-ratelimit-allowed": str(allowed),
            "inin-ratelimit-reset": str(reset),
        }
        if self.limit is not None and used > self.limit:
            raise ApiError(
                "too.many.requests",
                headers={**headers, "Retry-After": str(reset)},
                limit=self.limit,
                seconds=int(WINDOW_SECONDS),
            )
        return headers
