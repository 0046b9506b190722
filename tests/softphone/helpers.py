"""Waiting and reading helpers for the media tests."""

import asyncio
from collections.abc import Callable
import os
from pathlib import Path
import subprocess
import sys

from genesys_emulator.media_peer import MediaPeer, ReceivedFrame

AUDIBLE_DBFS = -30.0
"""The tone plays at about -15 dBFS; anything above this is heard."""
BELOW_DBFS = -60.0
"""A frame quieter than this is silence to a listener (exact zero is stricter still)."""


async def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll ``condition`` until it holds (a generous deadline, never a measurement)."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - plain attributes, no event to wait on
            await asyncio.sleep(0.02)


async def frames_through(peer: MediaPeer, index: int) -> dict[int, ReceivedFrame]:
    """The peer's frames by index, once frame ``index`` has arrived."""
    await wait_for(lambda: any(f.index >= index for f in peer.frames))
    return {f.index: f for f in peer.frames}


ROOT = Path(__file__).resolve().parents[2]


def run_python(*arguments: str, without: frozenset[str] = frozenset()) -> str:
    """This interpreter run in a fresh process at the project's root; its output.

    ``without``: environment variables it does not inherit.
    """
    env = {k: v for k, v in os.environ.items() if k not in without} | {"PYTHONPATH": str(ROOT)}
    return subprocess.run(  # noqa: S603 - this interpreter, our own scripts
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    ).stdout
