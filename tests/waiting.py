"""Waiting in real time for something to happen (light: the network-namespace children use it)."""

import asyncio
from collections.abc import Callable
import time


async def until(condition: Callable[[], object], within: float = 5.0) -> None:
    """Wait in real time for ``condition`` to hold."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
