"""Interop with a real browser's WebRTC stack: Chromium plays the customer, aiortc the agent.

Chromium offers (as Genesys' gateway does) from a page served on 127.0.0.1 and measures the
agent's audio it receives in 960-sample windows; the client's media session answers. Only
loopback candidates are exchanged, so no packet goes to another address of the machine.
"""

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
import time
from typing import Any

import aiohttp
from aiohttp import web
from playwright.async_api import Page, async_playwright
import pytest

from custom_components.genesys_agent.genesys_cloud import (
    AgentSession,
    CallState,
    GenesysClient,
    custom_environment,
)
from custom_components.genesys_agent.genesys_cloud.softphone.media import AiortcMediaSession
from custom_components.genesys_agent.genesys_cloud.softphone.models import AudioSource
from custom_components.genesys_agent.genesys_cloud.softphone.phone import (
    AnswerMode,
    MediaState,
    Softphone,
    SoftphoneOptions,
)
from genesys_emulator import Emulator
from genesys_emulator.loopback_ice import candidate_addresses, is_loopback
from genesys_emulator.testing import login_with_pkce

from ..client.conftest import EmulatorAuth
from ..client.helpers import until
from .conftest import CHROMIUM_ARGS

PAGE = Path(__file__).with_name("softphone_far_end.html")
WEBRTC_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
SPEECH_RMS = 0.01  # the agent's tone is about 0.13 RMS
SILENT_RMS = 1e-4  # -80 dBFS
SETTLE_MS = 300  # Chromium's jitter buffer and the page's meter, generously


async def serve_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE)


@pytest.fixture
async def far_end_page(chromium: str, loopback_webrtc: None) -> AsyncIterator[Page]:
    """The far-end page in Chromium, served from 127.0.0.1; aiortc pinned to loopback."""
    app = web.Application()
    app.router.add_get("/", serve_page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS + WEBRTC_ARGS
        )
        page = await browser.new_page()
        await page.goto(f"http://127.0.0.1:{port}/")
        yield page
        await browser.close()
    await runner.cleanup()


def loopback_candidates_only(sdp: str) -> str:
    """The offer with its candidates on other interfaces removed."""
    return "".join(
        line
        for line in sdp.splitlines(keepends=True)
        if not line.startswith("a=candidate:") or all(map(is_loopback, candidate_addresses(line)))
    )


async def windows_after(page: Page, since_ms: float, count: int) -> list[dict[str, Any]]:
    """The page's windows measured after ``since_ms`` (page clock), once ``count`` exist."""
    deadline = time.monotonic() + 10
    while True:
        windows: list[dict[str, Any]] = await page.evaluate(
            "since => windows.filter(w => w.at > since)", since_ms
        )
        if len(windows) >= count or time.monotonic() > deadline:
            return windows
        await page.wait_for_timeout(50)


async def test_chromium_hears_the_agent_then_silence_on_mute_then_the_agent_again(
    far_end_page: Page,
) -> None:
    page = far_end_page
    offer = loopback_candidates_only(await page.evaluate("offer()"))
    assert candidate_addresses(offer)
    client = AiortcMediaSession(AudioSource.tone(440))
    try:
        answer = await client.answer(offer, [])
        assert all(map(is_loopback, candidate_addresses(answer)))
        await page.evaluate("sdp => accept(sdp)", answer)

        speech = await windows_after(page, await page.evaluate("now()") + SETTLE_MS, 25)
        assert len(speech) >= 25
        assert all(w["rms"] > SPEECH_RMS for w in speech)
        assert all(map(is_loopback, await page.evaluate("selectedAddresses()")))

        client.set_muted(True)
        silence = await windows_after(page, await page.evaluate("now()") + SETTLE_MS, 25)
        assert len(silence) >= 25
        assert all(w["rms"] < SILENT_RMS for w in silence), [w["rms"] for w in silence]
        assert all(w["peak"] == 0 for w in silence)  # exact digital zero reaches the page

        client.set_muted(False)
        again = await windows_after(page, await page.evaluate("now()") + SETTLE_MS, 25)
        assert all(w["rms"] > SPEECH_RMS for w in again)
        assert (await client.stats()).packets_received > 0  # the customer's audio reached us
    finally:
        await client.close()


class ChromiumCustomer:
    """The gateway's media peer played by Chromium: its offer, our answer, its meter."""

    def __init__(self, page: Page) -> None:
        self._page = page
        self.offers = 0

    async def offer(self, ice_servers: Sequence[object]) -> str:
        self.offers += 1
        return loopback_candidates_only(await self._page.evaluate("offer()"))

    async def accept_answer(self, sdp: str) -> None:
        assert all(map(is_loopback, candidate_addresses(sdp)))
        await self._page.evaluate("sdp => accept(sdp)", sdp)

    async def add_remote_candidate(
        self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        """The answer already carries every candidate; the trickled copies add nothing."""

    async def close(self) -> None:
        await self._page.evaluate("window.pc && window.pc.close()")


async def test_chromium_through_the_emulators_signalling_hears_the_softphone_and_its_mute(
    far_end_page: Page, emulator: Emulator
) -> None:
    """The whole path: streaming service, gateway, the phone answering, Chromium as the customer."""
    page = far_end_page
    customer = ChromiumCustomer(page)
    emulator.gateway.media_factory = lambda conversation_id: customer
    emulator.gateway.propose_interval = 0.2
    emulator.streaming.services = []
    async with aiohttp.ClientSession() as http:
        auth = EmulatorAuth(http, emulator, await login_with_pkce(http, emulator))
        client = GenesysClient(http, custom_environment(emulator.base_url), auth)
        session = AgentSession(client, listener=lambda _: None)
        await session.async_start()
        options = SoftphoneOptions(source=AudioSource.tone(440), answer_mode=AnswerMode.ALWAYS)
        phone = Softphone(session, options)
        try:
            assert await phone.async_start()
            await emulator.control.start_inbound_call()
            await until(lambda: session.snapshot.agent_state.call_state is CallState.CONNECTED, 15)
            await until(lambda: phone.media_state is MediaState.CONNECTED, 15)

            speech = await windows_after(page, await page.evaluate("now()") + SETTLE_MS, 25)
            assert len(speech) >= 25
            assert all(w["rms"] > SPEECH_RMS for w in speech)
            assert all(map(is_loopback, await page.evaluate("selectedAddresses()")))

            await phone.async_set_mute(True)
            assert session.snapshot.agent_state.muted  # Genesys shows it
            silence = await windows_after(page, await page.evaluate("now()") + SETTLE_MS, 25)
            assert len(silence) >= 25
            assert all(w["peak"] == 0 for w in silence)  # exact digital zero reaches Chromium

            await phone.async_set_mute(False)
            again = await windows_after(page, await page.evaluate("now()") + SETTLE_MS, 25)
            assert all(w["rms"] > SPEECH_RMS for w in again)
            assert customer.offers == 1
        finally:
            await phone.async_stop()
            await session.async_stop()
