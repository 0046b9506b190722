"""The websocket stream against a server doing what the emulator never does."""

from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp import web
import pytest

from custom_components.genesys_agent.genesys_cloud import (
    GenesysClient,
    GenesysConnectionError,
    custom_environment,
)
from custom_components.genesys_agent.genesys_cloud.notifications import NotificationStream

from .conftest import FixedAuth
from .helpers import serving


@pytest.fixture
async def stream(
    socket_enabled: None, http: aiohttp.ClientSession
) -> AsyncGenerator[NotificationStream]:
    """A stream on a server whose socket sends a binary frame, a text frame, then closes."""

    async def create_channel(request: web.Request) -> web.Response:
        expires = datetime.now(UTC) + timedelta(hours=1)
        return web.json_response(
            {"id": "c", "connectUri": f"ws://{request.host}/ws", "expires": expires.isoformat()}
        )

    async def subscribe(request: web.Request) -> web.Response:
        return web.json_response({"entities": [{"id": "topic"}]})

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_bytes(b"\x00")
        await socket.send_str("text")
        await socket.close()
        return socket

    app = web.Application()
    app.router.add_post("/api/v2/notifications/channels", create_channel)
    app.router.add_put("/api/v2/notifications/channels/c/subscriptions", subscribe)
    app.router.add_get("/ws", websocket)
    async with serving(app) as base_url:
        client = GenesysClient(http, custom_environment(base_url), FixedAuth())
        stream = NotificationStream(client, ["topic"])
        yield stream
        await stream.async_close()


async def test_binary_frames_are_skipped_and_a_closed_socket_is_an_error(
    stream: NotificationStream,
) -> None:
    with pytest.raises(GenesysConnectionError):
        await stream.async_receive(1.0)  # not open yet
    await stream.async_open()
    assert stream.is_open
    assert await stream.async_receive(1.0) == "text"
    with pytest.raises(GenesysConnectionError):
        await stream.async_receive(1.0)
