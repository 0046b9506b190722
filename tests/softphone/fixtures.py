"""Pytest plugin for every softphone test: loopback-pinned ICE and a real TURN relay.

Registered in ``tests/conftest.py``, so the emulator's and the client's softphone tests share
it. Nothing here imports aiortc until a fixture is used.
"""

from collections.abc import AsyncIterator, Iterator

import pytest

from ..system_tools import ensure_debian_tool
from .loopback import pin_ice_to_loopback
from .turn import TURNSERVER, TurnServer, running_coturn


@pytest.fixture
def loopback_ice(socket_enabled: None) -> Iterator[None]:
    """aioice's host candidates on 127.0.0.1 only and no default STUN server, for the test."""
    with pin_ice_to_loopback():
        yield


@pytest.fixture(scope="session")
def turnserver() -> str:
    """Debian's coturn, installed on first use (CI machines start without it)."""
    return ensure_debian_tool(TURNSERVER, "coturn")


@pytest.fixture(scope="session")
def iproute2() -> str:
    """Debian's iproute2 (``ip``, ``tc``) for the network-namespace tests."""
    ensure_debian_tool("tc", "iproute2")
    return ensure_debian_tool("ip", "iproute2")


@pytest.fixture
async def coturn(
    turnserver: str, loopback_ice: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TurnServer]:
    """coturn on 127.0.0.1 (UDP and TCP), long-term credentials, stopped after the test."""
    async with running_coturn(tmp_path_factory.mktemp("coturn")) as server:
        yield server
