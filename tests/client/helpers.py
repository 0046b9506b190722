"""Waiting for pushes, reading what the emulator saw, and serving what it cannot."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import aiohttp
from aiohttp import web

from custom_components.genesys_agent.genesys_cloud import (
    AgentSession,
    CallState,
    GenesysClient,
    custom_environment,
)
from genesys_emulator import Emulator, EmulatorConfig
from genesys_emulator.state import AuditRecord
from genesys_emulator.testing import login_with_pkce, running_emulator

from ..waiting import until
from .conftest import EmulatorAuth


def api_patches(emulator: Emulator) -> list[AuditRecord]:
    """The PATCHes the client sent (mutes made on the desktop or by a supervisor excluded)."""
    return [r for r in emulator.audit if r.source == "api" and r.method == "PATCH"]


def connected_channels(emulator: Emulator) -> set[str]:
    """The channels with a websocket open."""
    return {c["id"] for c in emulator.control.state()["channels"] if c["connected"]}


def emulator_agent_leg(emulator: Emulator, conversation_id: str) -> dict[str, object]:
    """The agent's participant as the emulator holds it."""
    conversation = next(
        c for c in emulator.control.state()["conversations"] if c["id"] == conversation_id
    )
    leg: dict[str, object] = next(
        p for p in conversation["participants"] if p["purpose"] == "agent"
    )
    return leg


async def connected_call(emulator: Emulator, session: AgentSession) -> str:
    """An inbound call the session saw ring, then answered."""
    conversation_id = await emulator.control.start_inbound_call()
    await until(lambda: session.snapshot.agent_state.call_state is CallState.RINGING)
    await emulator.control.answer(conversation_id)
    await until(lambda: session.snapshot.agent_state.call_state is CallState.CONNECTED)
    return conversation_id


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 and a free port; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def emulator_and_client(stack: AsyncExitStack) -> tuple[Emulator, GenesysClient]:
    """A fresh emulator and a client logged in to it, both closed with ``stack``.

    For tests on an event loop of their own (Hypothesis' state machines), outside the fixtures.
    """
    emulator = await stack.enter_async_context(running_emulator(EmulatorConfig(auto_approve=True)))
    http = await stack.enter_async_context(aiohttp.ClientSession())
    auth = EmulatorAuth(http, emulator, await login_with_pkce(http, emulator))
    return emulator, GenesysClient(http, custom_environment(emulator.base_url), auth)
