"""The Notifications API's websocket: one subscribed channel, watched for silence, renewed.

The stream only moves frames; what they mean is the session's business.
"""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
import logging
import time

from aiohttp import ClientError, ClientWebSocketResponse, ClientWSTimeout, WSMsgType
from aiohttp.client_exceptions import WSServerHandshakeError

from .client import GenesysClient
from .exceptions import GenesysConnectionError
from .models import Channel, ChannelTopic

_LOGGER = logging.getLogger(__package__)

MAX_FRAME_BYTES = 1 << 20
# Renew a channel when this share of its lifetime has passed (Genesys: 24 h), but never
# sooner than this many seconds, so a skewed clock cannot make the session spin.
CHANNEL_RENEW_AT = 0.9
MIN_CHANNEL_LIFETIME = 1.0
# Genesys' documented health check; it answers with a "pong" on channel.metadata.
PING = '{"message":"ping"}'


class NotificationStream:
    """A channel subscribed to ``topics`` and the websocket reading it."""

    def __init__(self, client: GenesysClient, topics: Sequence[str]) -> None:
        """Nothing is opened until ``async_open``."""
        self._client = client
        self._topics = list(topics)
        self._channel: Channel | None = None
        self._renew_at = 0.0
        self._socket: ClientWebSocketResponse | None = None
        # The topics Genesys refused on the current channel (a scope or permission missing).
        self.rejected_topics: tuple[ChannelTopic, ...] = ()

    @property
    def is_open(self) -> bool:
        """A websocket is open (it may still turn out dead on the next read)."""
        return self._socket is not None

    async def async_open(self, *, fresh_channel: bool = False) -> None:
        """Open a websocket, replacing the current one only once the new one is up.

        A new channel is made when asked, when renewal is due, or when the channel is gone
        (the upgrade is refused: expired, evicted, or Genesys restarted). Raises the client's
        typed errors only.
        """
        if fresh_channel or self._channel is None or time.monotonic() >= self._renew_at:
            await self._create_channel()
        socket = await self._connect()
        if socket is None:
            await self._create_channel()
            socket = await self._connect()
        if socket is None:
            raise GenesysConnectionError("Genesys refused the websocket of a new channel")
        previous, self._socket = self._socket, socket
        if previous is not None:
            await previous.close()

    async def async_close(self) -> None:
        """Close the websocket; the channel stays valid for a reopen."""
        socket, self._socket = self._socket, None
        if socket is not None:
            await socket.close()

    async def async_receive(self, silence_timeout: float) -> str | None:
        """The next text frame, or None when the channel is due for renewal.

        Raises ``GenesysConnectionError`` when the socket ends, or stays silent for
        ``silence_timeout`` although pinged halfway through.
        """
        socket = self._socket
        if socket is None:
            raise GenesysConnectionError("the websocket is not open")
        pinged = False
        while True:
            renew_in = self._renew_at - time.monotonic()
            if renew_in <= 0:
                return None
            try:
                async with asyncio.timeout(min(silence_timeout / 2, renew_in)):
                    message = await socket.receive()
            except TimeoutError:
                if time.monotonic() >= self._renew_at:
                    return None
                if pinged:
                    raise GenesysConnectionError("the websocket fell silent") from None
                await self._ping(socket)
                pinged = True
                continue
            # aiohttp answers protocol pings itself; Genesys sends text frames only.
            if message.type is WSMsgType.TEXT:
                return str(message.data)
            if message.type is not WSMsgType.BINARY:
                raise GenesysConnectionError(f"the websocket ended ({message.type.name})")
            _LOGGER.debug("Ignored a binary frame of %d bytes", len(message.data))
            pinged = False

    async def _create_channel(self) -> None:
        channel = await self._client.async_create_channel()
        answer = await self._client.async_subscribe(channel.id, self._topics)
        self.rejected_topics = tuple(topic for topic in answer if topic.rejected)
        lifetime = (
            (channel.expires - datetime.now(UTC)).total_seconds() if channel.expires else 86400
        )
        self._channel = channel
        self._renew_at = time.monotonic() + max(lifetime * CHANNEL_RENEW_AT, MIN_CHANNEL_LIFETIME)

    async def _connect(self) -> ClientWebSocketResponse | None:
        """The channel's websocket; None when Genesys refuses the upgrade: the channel is gone."""
        assert self._channel is not None
        timeout = self._client.request_timeout
        try:
            async with asyncio.timeout(timeout):
                return await self._client.session.ws_connect(
                    self._channel.connect_uri,
                    heartbeat=None,
                    timeout=ClientWSTimeout(ws_close=timeout),
                    max_msg_size=MAX_FRAME_BYTES,
                )
        except WSServerHandshakeError:
            return None
        except (ClientError, TimeoutError) as err:
            raise GenesysConnectionError("the websocket could not be opened") from err

    @staticmethod
    async def _ping(socket: ClientWebSocketResponse) -> None:
        try:
            await socket.send_str(PING)
        except (ClientError, ConnectionError) as err:
            raise GenesysConnectionError("the websocket refused a ping") from err
