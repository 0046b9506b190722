"""Pytest plugin: the ``emulator`` fixture, a PKCE login helper and control-surface requests.

Register with ``pytest_plugins = ["genesys_emulator.testing"]``. The fixture's emulator listens on
127.0.0.1 (the only host Home Assistant's test harness lets sockets reach) on a free port, with
auto-approve on, and is stopped after the test.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
import secrets
from typing import Any

from aiohttp import ClientSession
import pytest
from yarl import URL

from .auth import pkce_challenge
from .config import EmulatorConfig
from .control import TOKEN_HEADER
from .server import Emulator

DEFAULT_REDIRECT_URI = "http://127.0.0.1/auth/external/callback"


@asynccontextmanager
async def running_emulator(config: EmulatorConfig | None = None) -> AsyncIterator[Emulator]:
    """An emulator on 127.0.0.1 and a free port for the block (needs ``socket_enabled``)."""
    emu = Emulator(config)
    await emu.start(host="127.0.0.1", port=0)
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
def loopback_webrtc(socket_enabled: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """WebRTC on 127.0.0.1 only for the test (see ``loopback_ice``), as it was afterwards."""
    import aioice.ice  # noqa: PLC0415 - WebRTC only for the tests that ask for it

    from .loopback_ice import pin_ice_to_loopback  # noqa: PLC0415

    monkeypatch.setattr(aioice.ice, "get_host_addresses", aioice.ice.get_host_addresses)
    protocol = aioice.ice.StunProtocol
    monkeypatch.setattr(protocol, "datagram_received", protocol.datagram_received)
    pin_ice_to_loopback()


@pytest.fixture
async def emulator(socket_enabled: None) -> AsyncIterator[Emulator]:
    """A started emulator (auto-approve on), stopped after the test."""
    async with running_emulator(EmulatorConfig(auto_approve=True, control_api=True)) as emu:
        yield emu


def control_headers(emu: Emulator) -> dict[str, str]:
    """What a legitimate control request carries: the run's token (aiohttp adds the JSON type)."""
    return {TOKEN_HEADER: emu.control.token}


async def control_request(
    session: ClientSession, emu: Emulator, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    """Call ``/_emulator/{path}`` as ``ctl`` does (a POST always sends a JSON body)."""
    if method == "POST" and body is None:
        body = {}
    async with session.request(
        method, f"{emu.base_url}/_emulator/{path}", json=body, headers=control_headers(emu)
    ) as response:
        return response.status, await response.json()


async def login_with_pkce(
    session: ClientSession,
    emu: Emulator,
    *,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    login_hint: str | None = None,
) -> dict[str, Any]:
    """Sign in by authorization code + PKCE (auto-approve must be on); the token response.

    ``login_hint`` (an email) picks the user; by default the first agent signs in.
    """
    verifier = secrets.token_urlsafe(64)
    state = secrets.token_urlsafe(16)
    query = {
        "response_type": "code",
        "client_id": emu.demo_client.id,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
    }
    if login_hint is not None:
        query["login_hint"] = login_hint
    authorize = URL(emu.base_url + "/login/oauth/authorize").with_query(query)
    async with session.get(authorize, allow_redirects=False) as response:
        if response.status != 302:
            raise AssertionError(f"authorize answered {response.status}: {await response.text()}")
        location = URL(response.headers["Location"])
    if location.query.get("state") != state or "code" not in location.query:
        raise AssertionError(f"unexpected redirect {location}")
    form = {
        "grant_type": "authorization_code",
        "code": location.query["code"],
        "code_verifier": verifier,
        "client_id": emu.demo_client.id,
        "redirect_uri": redirect_uri,
    }
    async with session.post(emu.base_url + "/login/oauth/token", data=form) as response:
        response.raise_for_status()
        token: dict[str, Any] = await response.json()
    return token
