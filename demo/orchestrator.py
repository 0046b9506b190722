"""Start the emulator and a real Home Assistant, connect them, and stop both cleanly."""

import asyncio
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
import os
from pathlib import Path
import shutil
import signal
import sys
from types import TracebackType
from typing import Any, Self

from aiohttp import ClientSession

from genesys_emulator import Emulator, EmulatorConfig

from .ha_config import ROOT, write_config
from .home_assistant import OWNER, HomeAssistantApi

DASHBOARD = "genesys-agent"
AGENT_ENTITIES = [
    "switch.jane_agent_microphone_muted",
    "sensor.jane_agent_call_state",
    "binary_sensor.jane_agent_remote_mute",
    "binary_sensor.jane_agent_on_call",
    "sensor.jane_agent_presence",
    "sensor.jane_agent_routing_status",
    "event.jane_agent_call",
    "switch.jane_agent_hold",
    "select.jane_agent_presence",
]


def _while_available(entity_id: str, name: str) -> dict[str, Any]:
    """A tile shown only while its entity can act (the call buttons, the wrap-up select).

    A button's tile presses it when tapped.
    """
    tile: dict[str, Any] = {"type": "tile", "entity": entity_id, "name": name}
    if entity_id.startswith("button."):
        tile["tap_action"] = {
            "action": "perform-action",
            "perform_action": "button.press",
            "target": {"entity_id": entity_id},
        }
    return {
        "type": "conditional",
        "conditions": [{"condition": "state", "entity": entity_id, "state_not": "unavailable"}],
        "card": tile,
    }


DASHBOARD_CARDS: list[dict[str, Any]] = [
    _while_available("button.jane_agent_answer", "Answer"),
    _while_available("button.jane_agent_hang_up", "Hang up"),
    {"type": "tile", "entity": "switch.jane_agent_microphone_muted", "name": "Mute"},
    {"type": "tile", "entity": "sensor.jane_agent_call_state", "name": "Call"},
    _while_available("select.jane_agent_wrap_up_code", "Wrap-up code"),
    _while_available("button.jane_agent_skip_wrap_up", "Skip wrap-up"),
    # No header toggle: it would switch mute and hold together.
    {
        "type": "entities",
        "title": "Jane Agent",
        "entities": AGENT_ENTITIES,
        "show_header_toggle": False,
    },
]
HA_STARTUP_TIMEOUT = 120.0


@dataclass(kw_only=True)
class DemoSettings:
    """Where the demo runs; tests use free ports and a temporary folder."""

    config_dir: Path = ROOT / ".demo" / "config"
    ha_port: int = 8123
    emulator_port: int = 8765
    add_integration: bool = True
    start_call: bool = True


class Demo:
    """The emulator in this process and Home Assistant in a child process."""

    def __init__(self, settings: DemoSettings) -> None:
        """Nothing runs until ``start``."""
        self.settings = settings
        self.emulator = Emulator(EmulatorConfig(auto_approve=True, control_api=True))
        self.ha_url = f"http://127.0.0.1:{settings.ha_port}"
        self._stack = AsyncExitStack()
        self._process: asyncio.subprocess.Process | None = None
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
        """Emulator, a fresh Home Assistant, onboarding, and (by default) the integration."""
        settings = self.settings
        await self.emulator.start("127.0.0.1", settings.emulator_port)
        self._stack.push_async_callback(self.emulator.stop)
        shutil.rmtree(settings.config_dir, ignore_errors=True)
        write_config(settings.config_dir, settings.ha_port)
        log = (settings.config_dir / "demo-hass.log").open("wb")
        self._stack.callback(log.close)
        self._process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "hass"),
            "--config",
            str(settings.config_dir),
            "--skip-pip",
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._stack.push_async_callback(self._stop_home_assistant)
        session = await self._stack.enter_async_context(ClientSession())
        self.api = HomeAssistantApi(session, self.ha_url)
        await self.api.wait_until_up(HA_STARTUP_TIMEOUT)
        await self.api.onboard()
        await self.api.wait_until_running(HA_STARTUP_TIMEOUT)
        if settings.add_integration:
            await self.add_integration()
            await self.add_dashboard()
        if settings.start_call:
            await self.emulator.control.start_inbound_call()

    async def add_credentials(self) -> None:
        """Register the emulator's OAuth client as application credentials."""
        client = self.emulator.demo_client
        await self.api.add_credentials(client.id, client.secret)

    async def add_integration(self) -> None:
        """Register the emulator's OAuth client and run the integration's config flow."""
        await self.add_credentials()
        await self.api.add_integration(self.emulator.base_url)

    async def add_dashboard(self) -> None:
        """The agent's dashboard."""
        await self.api.add_dashboard(DASHBOARD, "Genesys Agent", DASHBOARD_CARDS)

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
        emulator = self.emulator.base_url
        ctl = f"{Path(sys.executable)} -m genesys_emulator ctl"
        return "\n".join(
            [
                "",
                f"Home Assistant: {self.ha_url}/{DASHBOARD}",
                f"  login: {OWNER['username']} / {OWNER['password']}",
                f"Genesys Cloud emulator: {emulator} (a call is ringing for Jane Agent)",
                "Drive the call:",
                f"  {ctl} answer --url {emulator}",
                f"  {ctl} mute --url {emulator}        # a mute from the Genesys desktop",
                f"  {ctl} mute --by supervisor --url {emulator}",
                f"  {ctl} unmute --url {emulator}",
                f"  {ctl} hold|unhold|hangup|wrapup|ring|status --url {emulator}",
                "Ctrl-C stops everything.",
            ]
        )
