"""Start the emulator and a real Home Assistant, connect them, and stop both cleanly.

Home Assistant runs as a child process that is started again when it exits with its restart code
(a restart from the UI), as its container's restart policy would. The config folder persists
between runs; the emulator starts empty every time, so the integration's stored tokens are handed
to it before Home Assistant starts.

The softphone is on (the integration's options, set as the UI sets them): Home Assistant is the
agent's WebRTC phone, answering the emulator's media peer. Both processes keep WebRTC on
127.0.0.1: this one pins ICE before the emulator offers media, Home Assistant's is started by
``loopback_hass``, which pins it before Home Assistant loads. The emulator hands out no STUN
server (none runs here), so both ends offer host candidates on loopback only.
"""

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
import importlib
import json
import os
from pathlib import Path
import shutil
import signal
import sys
from types import TracebackType
from typing import IO, Self

from aiohttp import ClientSession

from genesys_emulator import Emulator, EmulatorConfig
from genesys_emulator.cli import CONTROL_FILE, ControlAccess

from .dashboard import DASHBOARD, dashboard_config
from .ha_config import ROOT, is_onboarded, write_config
from .home_assistant import OWNER, HomeAssistantApi

DOMAIN = "genesys_agent"
AGENT = "jane_agent"
HA_STARTUP_TIMEOUT = 120.0
# Home Assistant's exit code when a restart is asked for (homeassistant.const.RESTART_EXIT_CODE).
RESTART_EXIT_CODE = 100
# The softphone with what a machine without a sound card has: a test tone out, nothing to play
# to. Calls ring until answered, unless Genesys asks for auto-answer (an outbound call).
SOFTPHONE_OPTIONS = {
    "softphone": True,
    "softphone_capture": "tone",
    "softphone_playback": "none",
    "softphone_answer": "genesys",
}
SOFTPHONE_MEDIA = f"sensor.{AGENT}_softphone_media"


@dataclass(kw_only=True)
class DemoSettings:
    """Where the demo runs; tests use free ports and a temporary folder."""

    config_dir: Path = ROOT / ".demo" / "config"
    control_file: Path = CONTROL_FILE
    ha_port: int = 8123
    emulator_port: int = 8765
    add_integration: bool = True
    start_call: bool = True
    # Start over: forget the config (helpers, automations, options, history) of earlier runs.
    fresh: bool = False

    @property
    def log_file(self) -> Path:
        """Home Assistant's output, kept across its restarts (beside the config folder)."""
        return self.config_dir.parent / "home-assistant.log"


class Demo:
    """The emulator in this process and Home Assistant in a child process."""

    def __init__(
        self, settings: DemoSettings, on_event: Callable[[str], None] | None = None
    ) -> None:
        """Nothing runs until ``start``; ``on_event`` hears of restarts and exits."""
        self.settings = settings
        self.emulator = Emulator(EmulatorConfig(auto_approve=True, control_api=True))
        self.emulator.streaming.services = []
        self.ha_url = f"http://127.0.0.1:{settings.ha_port}"
        self.ended = asyncio.Event()
        self.restarts = 0
        self._on_event = on_event or (lambda message: None)
        self._stack = AsyncExitStack()
        self._process: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None
        self.api: HomeAssistantApi

    async def __aenter__(self) -> Self:
        """Start everything; stop what started if any step fails."""
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop everything."""
        await self.stop()

    async def start(self) -> None:
        """Emulator, Home Assistant (onboarded on the first run), the integration, a call."""
        settings = self.settings
        await self.emulator.start("127.0.0.1", settings.emulator_port)
        self._stack.push_async_callback(self.emulator.stop)
        access = ControlAccess(url=self.emulator.base_url, token=self.emulator.control.token)
        access.write(settings.control_file)
        self._stack.callback(ControlAccess.remove, access.token, settings.control_file)
        if settings.fresh:
            shutil.rmtree(settings.config_dir, ignore_errors=True)
        onboarded = is_onboarded(settings.config_dir)
        write_config(settings.config_dir, settings.ha_port)
        self._adopt_stored_tokens()
        self._log = settings.log_file.open("ab")
        self._stack.callback(self._log.close)
        self._stack.push_async_callback(self._stop_home_assistant)
        await self._start_home_assistant()
        # aioice and aiortc cost two seconds to import: while Home Assistant starts, not before.
        await asyncio.to_thread(_load_webrtc)
        self.emulator.enable_webrtc_media()
        supervisor = asyncio.get_running_loop().create_task(self._supervise())
        self._stack.push_async_callback(_cancelled, supervisor)
        session = await self._stack.enter_async_context(ClientSession())
        self.api = HomeAssistantApi(session, self.ha_url)
        await self.api.wait_until_up(HA_STARTUP_TIMEOUT, onboarded=onboarded)
        await (self.api.log_in() if onboarded else self.api.onboard())
        await self.api.wait_until_running(HA_STARTUP_TIMEOUT)
        if settings.add_integration:
            if not await self.api.has_entry(DOMAIN):
                await self.add_integration()
                await self.api.set_options(DOMAIN, SOFTPHONE_OPTIONS)
                # The entry reloads with the softphone; once it shows, the phone is registered
                # and the first call rings on it (later starts set it up before running).
                await self.api.wait_until_available(SOFTPHONE_MEDIA, HA_STARTUP_TIMEOUT)
            if not await self.api.has_dashboard(DASHBOARD):
                await self.api.add_dashboard(DASHBOARD, dashboard_config(AGENT))
        if settings.start_call:
            await self.emulator.control.start_inbound_call()

    def _adopt_stored_tokens(self) -> None:
        """Let the fresh emulator accept the logins Home Assistant kept from an earlier run."""
        store = self.settings.config_dir / ".storage" / "core.config_entries"
        try:
            entries = json.loads(store.read_text())["data"]["entries"]
        except OSError, ValueError, KeyError:
            return
        for entry in entries:
            token = entry.get("data", {}).get("token", {})
            if (
                entry.get("domain") == DOMAIN
                and entry.get("unique_id")
                and "refresh_token" in token
            ):
                self.emulator.tokens.adopt(
                    self.emulator.demo_client.id,
                    entry["unique_id"],
                    token.get("access_token", ""),
                    token["refresh_token"],
                )

    async def add_credentials(self) -> None:
        """Register the emulator's OAuth client as application credentials (once)."""
        if await self.api.has_credentials(DOMAIN):
            return
        client = self.emulator.demo_client
        await self.api.add_credentials(client.id, client.secret)

    async def add_integration(self) -> None:
        """Register the emulator's OAuth client and run the integration's config flow."""
        await self.add_credentials()
        await self.api.add_integration(self.emulator.base_url)

    async def _start_home_assistant(self) -> None:
        assert self._log is not None
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "demo.loopback_hass",
            "--config",
            str(self.settings.config_dir),
            "--skip-pip",
            "--log-no-color",
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            cwd=ROOT,
            # Its own process group: Ctrl-C reaches the demo, which stops it in order.
            start_new_session=True,
        )

    async def _supervise(self) -> None:
        """Start Home Assistant again after a restart from its UI; report any other exit."""
        while (process := self._process) is not None:
            code = await process.wait()
            if self._process is not process:  # stopped on purpose
                return
            if code != RESTART_EXIT_CODE:
                self._process = None
                self._on_event(f"Home Assistant exited (code {code}); see {self.settings.log_file}")
                self.ended.set()
                return
            self._on_event("Home Assistant is restarting (asked from its UI)")
            await self._start_home_assistant()
            await self.api.wait_until_up(HA_STARTUP_TIMEOUT, onboarded=True)
            self.restarts += 1
            self._on_event(f"Home Assistant is back at {self.ha_url}")

    async def wait_until_restarted(self, restarts: int, within: float) -> None:
        """Until Home Assistant has been started again ``restarts`` times and is running."""
        async with asyncio.timeout(within):
            while self.restarts < restarts:  # noqa: ASYNC110 - another process's exit
                await asyncio.sleep(0.2)
            await self.api.wait_until_running(within)

    async def _stop_home_assistant(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()

    async def stop(self) -> None:
        """Stop Home Assistant, then the emulator; safe to call twice."""
        with suppress(ProcessLookupError):
            await self._stack.aclose()

    def banner(self) -> str:
        """What a person needs to use the demo."""
        settings = self.settings
        ctl = ROOT / "scripts" / "ctl"
        return "\n".join(
            [
                "",
                f"Home Assistant: {self.ha_url}/{DASHBOARD}",
                f"  login: {OWNER['username']} / {OWNER['password']}",
                f"  config: {settings.config_dir} (kept between runs; --fresh starts over)",
                f"  log: {settings.log_file}",
                f"Genesys Cloud emulator: {self.emulator.base_url} (a call rings for Jane Agent)",
                f"  control token: {self.emulator.control.token} (in {settings.control_file})",
                f"Drive the call from any directory ({ctl} --help lists every step):",
                f"  {ctl} answer | mute | unmute | hold | resume | hangup | wrapup | ring",
                f"  {ctl} mute --by supervisor     # a supervisor mutes the agent",
                f"  {ctl} drop                     # the notifications websocket drops",
                "Home Assistant is Jane's phone (its softphone sends a tone, on 127.0.0.1 only):",
                "  the dashboard's Answer takes a ringing call there, and an outbound call (ctl",
                "  dial NUMBER) is answered there on its own; ctl answer picks up a ringing call",
                "  on another client (the Softphone card: Call not on this phone).",
                "A restart from Home Assistant's UI restarts it; Ctrl-C stops everything.",
            ]
        )


def _load_webrtc() -> None:
    """ICE pinned to loopback in this process before the emulator's media peer can exist."""
    from genesys_emulator.loopback_ice import pin_ice_to_loopback  # noqa: PLC0415 - see above

    pin_ice_to_loopback()
    importlib.import_module("genesys_emulator.media_peer")


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
