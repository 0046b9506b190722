"""Browser tests: the demo's real Home Assistant, driven by Debian's headless Chromium.

Screenshots go to a temporary folder; ``scripts/screenshots`` points ``GENESYS_SCREENSHOTS`` at
``docs/`` to refresh the README's pictures on purpose.
"""

import asyncio
from collections.abc import AsyncGenerator
import os
from pathlib import Path
import socket

from playwright.async_api import Browser, Page, async_playwright
import pytest

from demo.home_assistant import OWNER
from demo.orchestrator import Demo, DemoSettings

from ..system_tools import ensure_debian_tool

CHROMIUM = "/usr/bin/chromium"
# As root, without a sandbox; and nothing that reaches for Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS_VARIABLE = "GENESYS_SCREENSHOTS"
# Settled means no animation or transition running in the page or any shadow root, for this long.
SETTLE_SCRIPT = """async () => {
  for (let quiet = 0; quiet < 3; ) {
    await new Promise((frame) => requestAnimationFrame(frame));
    quiet = document.getAnimations().some((a) => a.playState === "running") ? 0 : quiet + 1;
  }
}"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here drives a real browser against real processes."""
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed on first use (CI machines start without it)."""
    return ensure_debian_tool(CHROMIUM, "chromium")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def browser(chromium: str, socket_enabled: None) -> AsyncGenerator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


def demo_settings(tmp_path: Path, **changes: bool) -> DemoSettings:
    """The demo on free ports, in a temporary folder (its control token too)."""
    return DemoSettings(
        config_dir=tmp_path / "config",
        control_file=tmp_path / "control.json",
        ha_port=free_port(),
        emulator_port=free_port(),
        **changes,
    )


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where pictures go: a temporary folder, or the one ``scripts/screenshots`` names."""
    chosen = os.environ.get(SCREENSHOTS_VARIABLE)
    return Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")


async def settled_screenshot(page: Page, path: Path, *, full_page: bool = False) -> None:
    """A picture once every animation (an unfolding section, a switch's thumb) has ended;
    ``full_page`` grows the window to the page's height first, so the sidebar reaches the end."""
    viewport = page.viewport_size
    if full_page and viewport is not None:
        height = await page.evaluate("document.documentElement.scrollHeight")
        await page.set_viewport_size({"width": viewport["width"], "height": max(height, 800)})
    async with asyncio.timeout(10):
        await page.evaluate(SETTLE_SCRIPT)
    await page.screenshot(path=path, animations="disabled")
    if full_page and viewport is not None:
        await page.set_viewport_size(viewport)


async def logged_in_page(browser: Browser, demo: Demo, path: str) -> Page:
    """A page at ``path``, past Home Assistant's login form."""
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(f"{demo.ha_url}{path}")
    await page.locator("input[name=username]").fill(OWNER["username"])
    await page.locator("input[name=password]").fill(OWNER["password"])
    await page.get_by_role("button", name="Log in").click()
    return page


@pytest.fixture
async def running_demo(tmp_path: Path, socket_enabled: None) -> AsyncGenerator[Demo]:
    """What scripts/demo starts: the integration set up, a dashboard, a ringing call."""
    async with Demo(demo_settings(tmp_path)) as demo:
        yield demo


@pytest.fixture
async def bare_demo(tmp_path: Path, socket_enabled: None) -> AsyncGenerator[Demo]:
    """Home Assistant with the emulator's OAuth client registered, nothing else."""
    async with Demo(demo_settings(tmp_path, add_integration=False, start_call=False)) as demo:
        await demo.add_credentials()
        yield demo
