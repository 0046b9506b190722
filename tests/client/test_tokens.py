"""Tokens: requests refused together share one refresh; a revoked login is noticed in time."""

import asyncio
from collections.abc import AsyncGenerator
import time

import aiohttp
import pytest

from custom_components.genesys_agent.genesys_cloud import (
    AgentSession,
    GenesysClient,
    custom_environment,
)
from genesys_emulator import Emulator, EmulatorConfig
from genesys_emulator.testing import login_with_pkce, running_emulator

from .conftest import EmulatorAuth
from .helpers import until
from .test_reconnects import resyncs

ACCESS_TOKEN_TTL = 3


async def test_a_401_during_the_resync_sends_one_refresh(
    session: AgentSession, emulator: Emulator, auth: EmulatorAuth
) -> None:
    """The resync's two parallel reads are both refused: one refresh serves them both."""
    await emulator.control.expire_access_tokens()
    before = resyncs(emulator)
    await emulator.control.drop_websockets()
    await until(lambda: resyncs(emulator) > before and session.snapshot.connected)
    assert auth.refreshes == 1
    assert not session.snapshot.auth_failed


async def test_concurrent_refreshes_are_one(client: GenesysClient, auth: EmulatorAuth) -> None:
    tokens = await asyncio.gather(*(client.async_refresh_token() for _ in range(5)))
    assert auth.refreshes == 1
    assert set(tokens) == {auth.token["access_token"]}


@pytest.fixture
async def short_lived_tokens(socket_enabled: None) -> AsyncGenerator[Emulator]:
    config = EmulatorConfig(auto_approve=True, access_token_ttl=ACCESS_TOKEN_TTL)
    async with running_emulator(config) as emulator:
        yield emulator


async def test_a_login_revoked_while_the_socket_is_up_is_noticed_within_the_token_lifetime(
    http: aiohttp.ClientSession, short_lived_tokens: Emulator
) -> None:
    """No request is made while the socket is quiet; the refresh timer finds the revocation."""
    emulator = short_lived_tokens
    auth = EmulatorAuth(http, emulator, await login_with_pkce(http, emulator))
    client = GenesysClient(http, custom_environment(emulator.base_url), auth)
    session = AgentSession(client, listener=lambda snapshot: None, token_refresh_floor=0.2)
    await session.async_start()
    try:
        await emulator.control.revoke_tokens()
        revoked = time.monotonic()
        await until(lambda: session.snapshot.auth_failed, within=ACCESS_TOKEN_TTL + 1)
        assert time.monotonic() - revoked <= ACCESS_TOKEN_TTL
        assert not session.snapshot.connected
    finally:
        await session.async_stop()
