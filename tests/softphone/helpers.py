"""Waiting and reading helpers for the media tests."""

import asyncio
from collections.abc import Callable

from genesys_emulator.media_peer import MediaPeer, ReceivedFrame

AUDIBLE_DBFS = -30.0
"""The tone plays at about -15 dBFS; anything above this is heard."""


async def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll ``condition`` until it holds (a generous deadline, never a measurement)."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - plain attributes, no event to wait on
            await asyncio.sleep(0.02)


async def frames_through(peer: MediaPeer, index: int) -> dict[int, ReceivedFrame]:
    """The peer's frames by index, once frame ``index`` has arrived."""
    await wait_for(lambda: any(f.index >= index for f in peer.frames))
    return {f.index: f for f in peer.frames}
