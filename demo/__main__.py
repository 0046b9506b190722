"""``python -m demo``: run the demo until Ctrl-C."""

import asyncio
from contextlib import suppress
import os
import signal
import time

from .orchestrator import Demo, DemoSettings


async def run() -> None:
    """Start, print how to use it, wait for Ctrl-C or SIGTERM, stop."""
    settings = DemoSettings(
        ha_port=int(os.environ.get("GENESYS_DEMO_HA_PORT", "8123")),
        emulator_port=int(os.environ.get("GENESYS_EMULATOR_PORT", "8765")),
    )
    started = time.monotonic()
    print("demo: starting the Genesys Cloud emulator and Home Assistant...", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with Demo(settings) as demo:
        print(demo.banner(), flush=True)
        print(f"demo: ready in {time.monotonic() - started:.0f} s", flush=True)
        await stop.wait()
        print("demo: stopping...", flush=True)


def main() -> None:
    """Entry point."""
    with suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
