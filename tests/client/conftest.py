"""Fixtures for the client: a logged-in client against the emulator, refreshing for real."""

from collections.abc import AsyncGenerator
import time
from typing import Any, override

import aiohttp
import pytest

from custom_components.genesys_agent.genesys_cloud import (
    AbstractAuth,
    AgentSession,
    GenesysAuthError,
    GenesysClient,
    SessionSnapshot,
    custom_environment,
)
from genesys_emulator import Emulator
from genesys_emulator.testing import login_with_pkce


class EmulatorAuth(AbstractAuth):
    """Tokens from a PKCE login; refreshed with the refresh token, as Home Assistant would."""

    def __init__(self, session: aiohttp.ClientSession, emulator: Emulator, token: dict[str, Any]):
        self._session = session
        self._emulator = emulator
        self.token = token
        self.expires_at = time.time() + float(token["expires_in"])
        self.refreshes = 0

    @override
    async def async_get_access_token(self) -> str:
        return str(self.token["access_token"])

    @override
    def access_token_expires_at(self) -> float:
        return self.expires_at

    @override
    async def async_refresh_access_token(self) -> str:
        self.refreshes += 1
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.token["refresh_token"],
            "client_id": self._emulator.demo_client.id,
        }
        async with self._session.post(
            f"{self._emulator.base_url}/login/oauth/token", data=form
        ) as response:
            if response.status != 200:
                raise GenesysAuthError("refresh refused")
            self.token = await response.json()
        self.expires_at = time.time() + float(self.token["expires_in"])
        return str(self.token["access_token"])


class FixedAuth(AbstractAuth):
    """A token that never changes, however often it is refreshed (for servers that ignore it)."""

    def __init__(self) -> None:
        self.refreshes = 0

    @override
    async def async_get_access_token(self) -> str:
        return "fixed"

    @override
    async def async_refresh_access_token(self) -> str:
        self.refreshes += 1
        return "fixed"


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    """The injected aiohttp session."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def auth(http: aiohttp.ClientSession, emulator: Emulator) -> EmulatorAuth:
    """The demo agent, logged in with PKCE."""
    return EmulatorAuth(http, emulator, await login_with_pkce(http, emulator))


@pytest.fixture
def client(http: aiohttp.ClientSession, emulator: Emulator, auth: EmulatorAuth) -> GenesysClient:
    """A client of the emulator, with a short timeout so hangs end quickly."""
    return GenesysClient(http, custom_environment(emulator.base_url), auth, request_timeout=1.0)


@pytest.fixture
def snapshots() -> list[SessionSnapshot]:
    """Every snapshot the session's listener was given."""
    return []


@pytest.fixture
async def session(
    client: GenesysClient, snapshots: list[SessionSnapshot]
) -> AsyncGenerator[AgentSession]:
    """A started session with quick reconnects and a short silence limit; stopped after."""
    session = AgentSession(
        client,
        listener=snapshots.append,
        heartbeat_timeout=1.0,
        backoff_initial=0.05,
        mute_confirm_timeout=2.0,
    )
    await session.async_start()
    yield session
    await session.async_stop()
