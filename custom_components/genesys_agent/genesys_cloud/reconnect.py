"""When the session may try to connect again.

A drop of a socket that came up and resynced is not a failure of the reconnect: the next attempt
starts at once (a short jitter apart from other clients). Only attempts that fail to open the
socket or to resync escalate, with capped, jittered exponential backoff. A budget of attempts
(a token bucket) keeps a link that accepts and then drops every socket from looping tightly:
``burst`` attempts at once, then one per ``refill_interval`` seconds. With the defaults that is
at most 20 attempts a minute sustained, each of at most four requests (channel, subscription,
calls, user), well inside Genesys' 300 requests per minute per token.
"""

import asyncio
import random
import time

# Reconnects after a healthy socket dropped are spread over this many seconds.
RECONNECT_JITTER = 0.25
ATTEMPT_BURST = 10
ATTEMPT_REFILL_INTERVAL = 3.0


class ReconnectPacer:
    """Counts failed attempts and spaces the next one."""

    def __init__(
        self,
        *,
        backoff_initial: float,
        backoff_max: float,
        burst: int = ATTEMPT_BURST,
        refill_interval: float = ATTEMPT_REFILL_INTERVAL,
    ) -> None:
        """Start with no failure and a full budget."""
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.burst = burst
        self.refill_interval = refill_interval
        self.failures = 0
        self._budget = float(burst)
        self._budget_at = time.monotonic()

    def succeeded(self) -> None:
        """The socket is open and the state resynced: the next drop starts afresh."""
        self.failures = 0

    def failed(self) -> None:
        """An attempt could not open the socket or resync."""
        self.failures += 1

    def backoff(self) -> float:
        """The wait the failures so far ask for: a jitter only when there were none."""
        if not self.failures:
            return random.uniform(0.0, min(RECONNECT_JITTER, self.backoff_initial))  # noqa: S311
        # The exponent is capped too: 2 ** 1024 overflows a float after days of outage.
        delay = min(self.backoff_initial * 2 ** min(self.failures - 1, 64), self.backoff_max)
        return float(delay * random.uniform(0.8, 1.0))  # noqa: S311 - not cryptographic

    def _refill(self) -> None:
        now = time.monotonic()
        self._budget = min(
            float(self.burst), self._budget + (now - self._budget_at) / self.refill_interval
        )
        self._budget_at = now

    def budget_wait(self) -> float:
        """Seconds until the budget allows another attempt."""
        self._refill()
        return max(0.0, (1.0 - self._budget) * self.refill_interval)

    async def wait_for_turn(self) -> None:
        """Sleep as long as the failures and the budget ask, then spend one attempt."""
        await asyncio.sleep(self.backoff())
        await asyncio.sleep(self.budget_wait())
        self._refill()
        self._budget -= 1.0
