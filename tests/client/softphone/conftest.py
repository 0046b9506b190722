"""The softphone's transport and signalling against the emulator's streaming service and gateway.

Both media layers are small fakes with fixed SDP: these tests are about signalling.
"""

from collections.abc import AsyncGenerator
from typing import Any

import pytest

from custom_components.genesys_agent.genesys_cloud import AbstractAuth, GenesysClient
from custom_components.genesys_agent.genesys_cloud.softphone.signalling import (
    SignallingEvent,
    SoftphoneSignalling,
)
from custom_components.genesys_agent.genesys_cloud.softphone.transport import StreamingTransport
from genesys_emulator import Emulator

from .fakes import FakeMediaFactory, FakePeerFactory


def quick_transport(
    client: GenesysClient, auth: AbstractAuth, **options: Any
) -> StreamingTransport:
    """A transport whose timers are short enough for tests."""
    settings = {"ping_interval": 0.2, "iq_timeout": 1.0, "backoff_initial": 0.05} | options
    return StreamingTransport(client, auth, **settings)


@pytest.fixture
async def transport(
    client: GenesysClient, auth: AbstractAuth
) -> AsyncGenerator[StreamingTransport]:
    """A transport made but not started; stopped after the test."""
    transport = quick_transport(client, auth)
    yield transport
    await transport.async_stop()


@pytest.fixture
def peers(emulator: Emulator) -> FakePeerFactory:
    """The gateway's media peers (fakes)."""
    factory = FakePeerFactory()
    emulator.gateway.media_factory = factory
    emulator.gateway.propose_interval = 0.2
    return factory


@pytest.fixture
def media() -> FakeMediaFactory:
    """The softphone's media sessions (fakes)."""
    return FakeMediaFactory()


@pytest.fixture
def events() -> list[SignallingEvent]:
    """Every event the signalling emitted."""
    return []


@pytest.fixture
async def signalling(
    transport: StreamingTransport,
    media: FakeMediaFactory,
    peers: FakePeerFactory,
    events: list[SignallingEvent],
) -> AsyncGenerator[SoftphoneSignalling]:
    """Signalling on a started transport."""
    signalling = SoftphoneSignalling(transport, media, events.append)
    await transport.async_start()
    yield signalling
    await signalling.async_close()
