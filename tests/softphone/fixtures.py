"""Pytest plugin for every softphone test: a real TURN relay, and the tools of the namespaces.

Registered in ``tests/conftest.py``, so the emulator's and the client's softphone tests share
it (loopback pinning is ``loopback_webrtc`` from ``genesys_emulator.testing``).
"""

from collections.abc import AsyncIterator

import pytest

from ..system_tools import ensure_debian_tool
from .turn import TURNSERVER, TurnServer, running_coturn


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
    turnserver: str, loopback_webrtc: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TurnServer]:
    """coturn on 127.0.0.1 (UDP and TCP), long-term credentials, stopped after the test."""
    async with running_coturn(tmp_path_factory.mktemp("coturn")) as server:
        yield server
