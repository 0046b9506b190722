"""Client-side helpers the emulator tests share: API calls and a notification socket."""

import asyncio
from typing import Any, Self

from aiohttp import ClientResponse, ClientSession, ClientWebSocketResponse, WSMsgType

from genesys_emulator import Emulator

EVENT_TIMEOUT = 3.0


def bearer(token: dict[str, Any] | str) -> dict[str, str]:
    """The Authorization header for a token response (or a bare access token)."""
    value = token if isinstance(token, str) else token["access_token"]
    return {"Authorization": f"Bearer {value}"}


async def api(
    session: ClientSession,
    emu: Emulator,
    method: str,
    path: str,
    token: dict[str, Any] | str,
    json: Any = None,
) -> tuple[ClientResponse, Any]:
    """Call ``/api/v2{path}``; the response and its JSON body (None when empty)."""
    async with session.request(
        method, f"{emu.base_url}/api/v2{path}", headers=bearer(token), json=json
    ) as response:
        text = await response.text()
        return response, (None if not text else await response.json())


class Notifications:
    """A notification channel with its websocket, as a client would use it."""

    def __init__(self, session: ClientSession, emu: Emulator, token: dict[str, Any]) -> None:
        """Not connected yet: ``await open(topics)``."""
        self.session, self.emu, self.token = session, emu, token
        self.channel: dict[str, Any] = {}
        self.socket: ClientWebSocketResponse | None = None

    async def open(self, topics: list[str]) -> Self:
        """Create a channel, subscribe to ``topics`` and connect."""
        response, self.channel = await api(
            self.session, self.emu, "POST", "/notifications/channels", self.token
        )
        assert response.status == 200, self.channel
        response, body = await api(
            self.session,
            self.emu,
            "PUT",
            f"/notifications/channels/{self.channel['id']}/subscriptions",
            self.token,
            [{"id": topic} for topic in topics],
        )
        assert response.status == 200, body
        await self.connect()
        return self

    async def connect(self) -> ClientWebSocketResponse:
        """(Re)connect the websocket to the channel's connectUri."""
        self.socket = await self.session.ws_connect(self.channel["connectUri"], heartbeat=None)
        return self.socket

    async def frame(self, wait: float = EVENT_TIMEOUT) -> dict[str, Any]:
        """The next JSON frame, whatever it is (within ``wait`` seconds)."""
        assert self.socket is not None
        message = await self.socket.receive(timeout=wait)
        assert message.type == WSMsgType.TEXT, message
        frame: dict[str, Any] = message.json()
        return frame

    async def event(self, topic_suffix: str, wait: float = EVENT_TIMEOUT) -> dict[str, Any]:
        """The next event whose topic ends with ``topic_suffix``, skipping others."""
        async with asyncio.timeout(wait):
            while True:
                frame = await self.frame(wait)
                if frame["topicName"].endswith(topic_suffix):
                    return frame

    async def close(self) -> None:
        """Close the socket."""
        if self.socket is not None:
            await self.socket.close()


async def closed(socket: ClientWebSocketResponse) -> None:
    """Wait for the server to close (or cut) the socket, skipping frames still in flight."""
    message = await socket.receive(timeout=EVENT_TIMEOUT)
    while message.type == WSMsgType.TEXT:
        message = await socket.receive(timeout=EVENT_TIMEOUT)
    assert message.type in {WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR}, message


def participant_path(conversation_id: str, participant_id: str) -> str:
    """The API path of a call participant (PATCH it; POST …/replace)."""
    return f"/conversations/calls/{conversation_id}/participants/{participant_id}"


def participant(conversation: dict[str, Any], purpose: str) -> dict[str, Any]:
    """The last participant with that purpose in a conversation JSON."""
    return [p for p in conversation["participants"] if p["purpose"] == purpose][-1]
