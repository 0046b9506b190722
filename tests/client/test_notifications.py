"""The websocket stream against a server doing what the emulator never does."""

from collections.abc import AsyncGenerator, Callable
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

# Where each kind of server's channel points its websocket.
SOCKETS = {
    "frames": "ws://{host}/frames",  # a binary frame, a text frame, then a close
    "refused": "ws://{host}/refused",  # the upgrade is refused: the channel is gone
    "unreachable": "ws://127.0.0.1:9/nobody",
}


@pytest.fixture
async def streams(
    socket_enabled: None, http: aiohttp.ClientSession
) -> AsyncGenerator[Callable[[str], NotificationStream]]:
    """Streams on a server whose channels' websockets behave as SOCKETS says."""
    opened: list[NotificationStream] = []

    async def create_channel(request: web.Request) -> web.Response:
        expires = datetime.now(UTC) + timedelta(hours=1)
        socket = SOCKETS[request.match_info["kind"]].format(host=request.host)
        return web.json_response({"id": "c", "connectUri": socket, "expires": expires.isoformat()})

    async def subscribe(request: web.Request) -> web.Response:
        return web.json_response({"entities": [{"id": "topic"}]})

    async def frames(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_bytes(b"\x00")
        await socket.send_str("text")
        await socket.close()
        return socket

    app = web.Application()
    app.router.add_post("/{kind}/api/v2/notifications/channels", create_channel)
    app.router.add_put("/{kind}/api/v2/notifications/channels/c/subscriptions", subscribe)
    app.router.add_get("/frames", frames)
    async with serving(app) as base_url:

        def make(kind: str) -> NotificationStream:
            client = GenesysClient(http, custom_environment(f"{base_url}/{kind}"), FixedAuth())
            opened.append(NotificationStream(client, ["topic"]))
            return opened[-1]

        yield make
        for stream in opened:
            await stream.async_close()


async def test_binary_frames_are_skipped_and_a_closed_socket_is_an_error(
    streams: Callable[[str], NotificationStream],
) -> None:
    stream = streams("frames")
    with pytest.raises(GenesysConnectionError):
        await stream.async_receive(1.0)  # not open yet
    await stream.async_open()
    assert stream.is_open
    assert await stream.async_receive(1.0) == "text"
    with pytest.raises(GenesysConnectionError):
        await stream.async_receive(1.0)


@pytest.mark.parametrize("kind", ["refused", "unreachable"])
async def test_a_websocket_that_cannot_be_opened_is_a_connection_error(
    streams: Callable[[str], NotificationStream], kind: str
) -> None:
    stream = streams(kind)
    with pytest.raises(GenesysConnectionError):
        await stream.async_open()
    assert not stream.is_open
