"""Waiting for pushes, reading what the emulator saw, and serving what it cannot."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from custom_components.genesys_agent.genesys_cloud import AgentSession, CallState
from genesys_emulator import Emulator
from genesys_emulator.state import AuditRecord

from ..waiting import until


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
