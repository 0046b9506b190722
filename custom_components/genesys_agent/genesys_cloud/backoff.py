"""The reconnect delay every realtime connection of the client waits after a failure."""

import random


def backoff_delay(failures: int, initial: float, maximum: float) -> float:
    """Capped exponential backoff with jitter, so many clients never retry in step."""
    # The exponent is capped too: 2 ** 1024 overflows a float after days of outage.
    delay = min(initial * 2 ** min(failures - 1, 64), maximum)
    return float(delay * random.uniform(0.8, 1.0))  # noqa: S311 - not cryptographic
