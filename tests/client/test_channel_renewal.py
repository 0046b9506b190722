"""Channels expire (Genesys: after 24 h); the session moves to a new one before that."""

from collections.abc import AsyncGenerator

import pytest

from custom_components.genesys_agent.genesys_cloud import AgentSession, GenesysClient
from genesys_emulator import Emulator, EmulatorConfig
from genesys_emulator.testing import running_emulator

from .helpers import until


@pytest.fixture
async def emulator(socket_enabled: None) -> AsyncGenerator[Emulator]:
    """Channels that live two seconds."""
    async with running_emulator(EmulatorConfig(auto_approve=True, channel_ttl=2.0)) as emulator:
        yield emulator


async def test_the_session_renews_its_channel_and_keeps_receiving(
    client: GenesysClient, emulator: Emulator
) -> None:
    session = AgentSession(client, listener=lambda snapshot: None)
    await session.async_start()
    try:
        first = {c["id"] for c in emulator.control.state()["channels"]}
        await until(
            lambda: {c["id"] for c in emulator.control.state()["channels"] if c["connected"]}
            - first
        )
        await emulator.control.set_presence(emulator.demo_agent.id, "Busy")
        await until(lambda: session.snapshot.presence == "busy")
        assert session.snapshot.connected
    finally:
        await session.async_stop()
