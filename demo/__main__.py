"""``python -m demo [--fresh]``: run the demo until Ctrl-C (or until Home Assistant stops)."""

import argparse
import asyncio
from contextlib import suppress
import os
import signal
import time

from .orchestrator import Demo, DemoSettings


def say(message: str) -> None:
    """One line for the person at the terminal."""
    print(f"demo: {message}", flush=True)


async def run(fresh: bool) -> None:
    """Start, print how to use it, wait for Ctrl-C, SIGTERM or Home Assistant's end, stop."""
    settings = DemoSettings(
        ha_port=int(os.environ.get("GENESYS_DEMO_HA_PORT", "8123")),
        emulator_port=int(os.environ.get("GENESYS_EMULATOR_PORT", "8765")),
        fresh=fresh,
    )
    started = time.monotonic()
    say("starting the Genesys Cloud emulator and Home Assistant...")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    starting = asyncio.current_task()

    def on_signal() -> None:
        # While starting, cancel the start (Demo stops what it started); then stop in order.
        if starting is not None and not stop.is_set() and not ready.is_set():
            starting.cancel()
        stop.set()

    ready = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    async with Demo(settings, on_event=say) as demo:
        ready.set()
        print(demo.banner(), flush=True)
        say(f"ready in {time.monotonic() - started:.0f} s")
        ended = loop.create_task(demo.ended.wait())
        stopped = loop.create_task(stop.wait())
        await asyncio.wait({ended, stopped}, return_when=asyncio.FIRST_COMPLETED)
        ended.cancel()
        stopped.cancel()
        say("stopping...")
    say("stopped")


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__)
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start over: forget the config of earlier runs (helpers, automations, options)",
    )
    args = parser.parse_args()
    with suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(run(args.fresh))


if __name__ == "__main__":
    main()
