"""Fixtures for the client: a logged-in client against the emulator, refreshing for real."""

from collections.abc import AsyncGenerator
from typing import Any, override

import aiohttp
import pytest

from custom_components.genesys_agent.genesys_cloud import (
    AbstractAuth,
    GenesysAuthError,
    GenesysClient,
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
        self.refreshes = 0

    @override
    async def async_get_access_token(self) -> str:
        return str(self.token["access_token"])

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
        return str(self.token["access_token"])


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
