"""Fixtures of the emulator tests: an HTTP session and a signed-in agent."""

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import ClientSession
import pytest

from genesys_emulator import Emulator
from genesys_emulator.testing import login_with_pkce

from .helpers import Notifications


@pytest.fixture
async def session() -> AsyncIterator[ClientSession]:
    """A client session for talking to the emulator."""
    async with ClientSession() as client:
        yield client


@pytest.fixture
async def agent_token(session: ClientSession, emulator: Emulator) -> dict[str, Any]:
    """The demo agent's token response, from a code + PKCE login."""
    return await login_with_pkce(session, emulator)


@pytest.fixture
async def agent_events(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> AsyncIterator[Notifications]:
    """A socket subscribed to the demo agent's call, conversation, presence and routing topics."""
    agent = emulator.demo_agent.id
    notifications = await Notifications(session, emulator, agent_token).open(
        [
            f"v2.users.{agent}.conversations.calls",
            f"v2.users.{agent}.conversations",
            f"v2.users.{agent}?presence&routingStatus",
        ]
    )
    yield notifications
    await notifications.close()
