"""Genesys Cloud's Notifications API: channels, subscriptions and the channel websocket.

REST (bearer token): ``POST|GET /api/v2/notifications/channels``,
``HEAD /api/v2/notifications/channels/{id}``, ``GET|PUT|POST|DELETE
/api/v2/notifications/channels/{id}/subscriptions`` (``?ignoreErrors=true`` turns bad topics into
``state: "Rejected"`` entries). Websocket: ``GET /channels/{id}`` — the channel id is the
credential; a second socket on a channel closes the first.

Frames, server to client: events
``{topicName, version: "2", eventBody, metadata: {CorrelationId}}``; heartbeats
``{topicName: "channel.metadata", eventBody: {message: "WebSocket Heartbeat"}}``; the answer to
``{"message": "ping"}``, ``{topicName: "channel.metadata", eventBody: {message: "pong"}}``;
``v2.system.socket_closing`` before a planned close.

Topics: ``v2.users.{id}.conversations``, ``.conversations.calls``, ``.presence``,
``.routingStatus``, ``.station``, ``.conversationsummary``, and the combined form
``v2.users.{id}?presence&routingStatus`` (stored and listed expanded). A user token may only
subscribe to its own user's topics; a client-credentials token to any user's.

Choices where the reference is UNCONFIRMED: an unknown or expired channel refuses the websocket
upgrade with 404 ``not.found``; the socket_closing body is a ``SystemMessageSystemMessage`` with
``channelId``, ``userId``, ``oauthClientId``, ``organizationId`` and ``message``, in the event
envelope; stopped heartbeats also silence pongs; websocket-level ``subscribe`` messages are not
emulated (REST subscriptions are); channels outlive the token that created them; sockets are
closed with code 1001 (going away) when replaced, expired or after socket_closing; DELETE of the
subscriptions answers 200 with an empty body; successful subscription entries carry only ``id``;
a channel made with ``?connectionType=streaming`` is reached through the streaming service
(``streaming/``) only.

Permissions: a topic the OAuth client's scopes or the user's permissions do not cover can be
withheld (``NotificationHub.withhold_topic``); with ``ignoreErrors=true`` it comes back as
``{id, state: "Rejected", rejectionReason: "Permission denied", missingPermissions}`` (the
``ChannelTopic`` model), without it the whole request is a 400 ``notification.invalid.topic``.
"""

import asyncio
from collections.abc import Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import json
import re
import secrets
import string
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from .auth import Token
from .config import EmulatorConfig
from .errors import ApiError
from .state import Org, new_id, utcnow
from .wire import iso

API = "/api/v2/notifications/channels"
USER_TOPICS = (
    "conversations",
    "conversations.calls",
    "presence",
    "routingStatus",
    "station",
    "conversationsummary",
)
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_USER_TOPIC = re.compile(rf"v2\.users\.({_UUID})\.(.+)")
_COMBINED_TOPIC = re.compile(rf"v2\.users\.({_UUID})\?(.+)")
COMBINED_TOPIC_MAX = 200
HEARTBEAT = {"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}
PONG = {"topicName": "channel.metadata", "eventBody": {"message": "pong"}}


@dataclass(kw_only=True)
class Channel:
    """A notification channel and its (at most one) socket."""

    id: str = field(
        default_factory=lambda: "streaming-0-"
        + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(26))
    )
    user_id: str | None
    client_id: str
    token: str
    expires_at: datetime
    last_used: datetime = field(default_factory=utcnow)
    topics: list[str] = field(default_factory=list)
    # Made with ?connectionType=streaming: its socket is the streaming (XMPP) service's.
    streaming: bool = False
    socket: web.WebSocketResponse | None = None
    transport: asyncio.Transport | None = None
    expiry: asyncio.TimerHandle | None = None

    @property
    def connected(self) -> bool:
        """Whether a socket is open on the channel."""
        return self.socket is not None and not self.socket.closed


def envelope(topic: str, body: dict[str, Any]) -> dict[str, Any]:
    """Genesys' event envelope (``version`` is the topic's schema version, not a sequence)."""
    return {
        "topicName": topic,
        "version": "2",
        "eventBody": body,
        "metadata": {"CorrelationId": new_id()},
    }


class NotificationHub:
    """Every channel of the org; publishes events to the sockets subscribed to their topic."""

    def __init__(self, config: EmulatorConfig, org: Org) -> None:
        """No channels yet."""
        self._config = config
        self._org = org
        self.channels: dict[str, Channel] = {}
        self.heartbeats_enabled = True
        # User topics (``presence``, ``conversations.calls``, …) refused to every subscriber,
        # with the permissions they lack.
        self.withheld_topics: dict[str, list[str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def withhold_topic(self, topic: str, missing_permissions: list[str] | None = None) -> None:
        """Refuse a user topic from now on, as for a scope or permission the login lacks.

        ``missing_permissions`` None: grant it again.
        """
        if topic not in USER_TOPICS:
            raise ApiError("bad.request", reason=f"not a user topic: {topic}")
        if missing_permissions is None:
            self.withheld_topics.pop(topic, None)
        else:
            self.withheld_topics[topic] = list(missing_permissions)

    def add_routes(self, app: web.Application) -> None:
        """Register the REST routes and the websocket."""
        app.router.add_post(API, self.create_channel)
        app.router.add_get(API, self.list_channels)
        app.router.add_route("HEAD", API + "/{channel_id}", self.head_channel)
        subscriptions = API + "/{channel_id}/subscriptions"
        app.router.add_get(subscriptions, self.get_subscriptions)
        app.router.add_put(subscriptions, self.replace_subscriptions)
        app.router.add_post(subscriptions, self.add_subscriptions)
        app.router.add_delete(subscriptions, self.delete_subscriptions)
        app.router.add_get("/channels/{channel_id}", self.connect)

    # ------------------------------------------------------------------ background work

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _schedule_expiry(self, channel: Channel) -> None:
        channel.expires_at = utcnow() + timedelta(seconds=self._config.channel_ttl)
        if channel.expiry is not None:
            channel.expiry.cancel()
        channel.expiry = asyncio.get_running_loop().call_later(
            self._config.channel_ttl, lambda: self._spawn(self._remove(channel))
        )

    async def _remove(self, channel: Channel, *, abort: bool = False) -> None:
        """Forget a channel and close its socket (``abort``: drop the connection, no close)."""
        self.channels.pop(channel.id, None)
        if channel.expiry is not None:
            channel.expiry.cancel()
        await self._disconnect(channel, abort=abort)

    @staticmethod
    async def _disconnect(channel: Channel, *, abort: bool) -> None:
        socket, transport = channel.socket, channel.transport
        if socket is None or socket.closed:
            return
        if abort and transport is not None:
            transport.abort()
        else:
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"channel closed")

    async def close(self) -> None:
        """Close every socket and forget every channel (emulator stop)."""
        await self.reset(abort=False)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drop_connections(self) -> int:
        """Cut every socket's connection (no close frame); the channels stay valid."""
        connected = [c for c in self.channels.values() if c.connected]
        await asyncio.gather(*(self._disconnect(c, abort=True) for c in connected))
        return len(connected)

    async def reset(self, *, abort: bool) -> None:
        """Forget every channel; ``abort`` drops the connections like a crashed server."""
        await asyncio.gather(*(self._remove(c, abort=abort) for c in list(self.channels.values())))

    # ------------------------------------------------------------------ publishing

    @staticmethod
    async def _send(socket: web.WebSocketResponse, text: str) -> None:
        with suppress(ConnectionError):
            await socket.send_str(text)

    def _sockets(self, user_id: str | None = None) -> list[web.WebSocketResponse]:
        return [
            c.socket
            for c in self.channels.values()
            if c.socket is not None and not c.socket.closed and user_id in {None, c.user_id}
        ]

    async def publish(self, topic: str, body: dict[str, Any]) -> None:
        """Send an event to every socket whose channel subscribes to ``topic``."""
        sockets = [
            c.socket
            for c in self.channels.values()
            if c.socket is not None and not c.socket.closed and topic in c.topics
        ]
        if sockets:
            text = json.dumps(envelope(topic, body))
            await asyncio.gather(*(self._send(s, text) for s in sockets))

    async def publish_to_user(self, user_id: str, topic: str, body: dict[str, Any]) -> None:
        """Publish on one of the user's topics (``v2.users.{id}.{topic}``)."""
        await self.publish(f"v2.users.{user_id}.{topic}", body)

    async def send_raw(self, text: str, user_id: str | None = None) -> int:
        """Write a text frame as is to every socket (of one user); returns how many."""
        sockets = self._sockets(user_id)
        await asyncio.gather(*(self._send(s, text) for s in sockets))
        return len(sockets)

    async def send_burst(self, texts: list[str], user_id: str | None = None) -> int:
        """Write text frames back to back to every socket (of one user), as a flood arrives."""
        sockets = self._sockets(user_id)
        for socket in sockets:
            for text in texts:
                await self._send(socket, text)
        return len(sockets)

    async def send_socket_closing(self) -> int:
        """Warn every socket of maintenance; close those still open after the grace period."""
        connected = [c for c in self.channels.values() if c.connected]
        for channel in connected:
            assert channel.socket is not None
            body = {
                "channelId": channel.id,
                "userId": channel.user_id,
                "oauthClientId": channel.client_id,
                "organizationId": self._org.id,
                "message": "WebSocket is closing for maintenance; connect a new one",
            }
            envelope_ = envelope("v2.system.socket_closing", {k: v for k, v in body.items() if v})
            await self._send(channel.socket, json.dumps(envelope_))
            self._spawn(self._close_later(channel.socket))
        return len(connected)

    async def _close_later(self, socket: web.WebSocketResponse) -> None:
        await asyncio.sleep(self._config.socket_closing_grace)
        await socket.close(code=WSCloseCode.GOING_AWAY, message=b"maintenance")

    # ------------------------------------------------------------------ REST

    def _channel_json(self, request: web.Request, channel: Channel) -> dict[str, Any]:
        return {
            "connectUri": f"ws://{request.host}/channels/{channel.id}",
            "id": channel.id,
            "expires": iso(channel.expires_at),
        }

    async def create_channel(self, request: web.Request) -> web.Response:
        """``POST /api/v2/notifications/channels``."""
        token: Token = request["token"]
        siblings = [
            c
            for c in self.channels.values()
            if c.user_id == token.user_id and c.client_id == token.client_id
        ]
        if len(siblings) >= self._config.max_channels_per_user:
            # Genesys drops the least recently used channel, unconnected ones first.
            oldest = min(siblings, key=lambda c: (c.connected, c.last_used))
            await self._remove(oldest)
        channel = Channel(
            user_id=token.user_id,
            client_id=token.client_id,
            token=token.value,
            expires_at=utcnow(),
            streaming=request.query.get("connectionType", "").lower() == "streaming",
        )
        self._schedule_expiry(channel)
        self.channels[channel.id] = channel
        return web.json_response(self._channel_json(request, channel))

    async def list_channels(self, request: web.Request) -> web.Response:
        """``GET /api/v2/notifications/channels?includechannels=token|oauthclient``."""
        token: Token = request["token"]
        by_client = request.query.get("includechannels", "token").lower() == "oauthclient"
        entities = [
            self._channel_json(request, c)
            for c in self.channels.values()
            if (c.user_id == token.user_id and c.client_id == token.client_id)
            if by_client or c.token == token.value
        ]
        return web.json_response({"entities": entities})

    def _own_channel(self, request: web.Request) -> Channel:
        token: Token = request["token"]
        channel = self.channels.get(request.match_info["channel_id"])
        if channel is None or (channel.user_id, channel.client_id) != (
            token.user_id,
            token.client_id,
        ):
            raise ApiError("not.found")
        channel.last_used = utcnow()
        return channel

    async def head_channel(self, request: web.Request) -> web.Response:
        """``HEAD /api/v2/notifications/channels/{id}``: 200 while the channel lives."""
        self._own_channel(request)
        return web.Response()

    @staticmethod
    def _listing(topics: list[str], rejected: list[dict[str, Any]]) -> web.Response:
        return web.json_response({"entities": [{"id": t} for t in topics] + rejected})

    async def get_subscriptions(self, request: web.Request) -> web.Response:
        """``GET …/subscriptions``."""
        return self._listing(self._own_channel(request).topics, [])

    async def delete_subscriptions(self, request: web.Request) -> web.Response:
        """``DELETE …/subscriptions``: unsubscribe from everything."""
        self._own_channel(request).topics.clear()
        return web.Response()

    async def replace_subscriptions(self, request: web.Request) -> web.Response:
        """``PUT …/subscriptions``: the new list replaces the old one."""
        return await self._subscribe(request, lambda channel: [])

    async def add_subscriptions(self, request: web.Request) -> web.Response:
        """``POST …/subscriptions``: add to the list."""
        return await self._subscribe(request, lambda channel: channel.topics)

    async def _subscribe(
        self, request: web.Request, kept: Callable[[Channel], list[str]]
    ) -> web.Response:
        channel = self._own_channel(request)
        requested = await request.json()
        if not isinstance(requested, list) or not all(
            isinstance(item, dict) and isinstance(item.get("id"), str) for item in requested
        ):
            raise ApiError("bad.request", reason="expected a list of {id: topic}")
        ignore_errors = request.query.get("ignoreErrors", "false").lower() == "true"
        topics = list(kept(channel))
        rejected: list[dict[str, Any]] = []
        for item in requested:
            expanded, reason = self._expand(request["token"], item["id"])
            missing = self._missing_permissions(expanded)
            if reason is None and missing:
                reason = "Permission denied"
            if reason is None:
                topics.extend(t for t in expanded if t not in topics)
            elif ignore_errors:
                entry = {"id": item["id"], "state": "Rejected", "rejectionReason": reason}
                rejected.append(entry | ({"missingPermissions": missing} if missing else {}))
            else:
                raise ApiError("notification.invalid.topic", topic=item["id"])
        if len(topics) > self._config.max_topics_per_channel:
            raise ApiError("notification.subscription.too.many.subscriptions")
        channel.topics = topics
        # Genesys: a channel lives 24 hours; subscribing again extends it.
        self._schedule_expiry(channel)
        return self._listing(topics, rejected)

    def _missing_permissions(self, topics: list[str]) -> list[str]:
        """The permissions withheld topics among ``topics`` lack."""
        missing: list[str] = []
        for topic in topics:
            if match := _USER_TOPIC.fullmatch(topic):
                missing += self.withheld_topics.get(match.group(2), [])
        return missing

    def _expand(self, token: Token, topic: str) -> tuple[list[str], str | None]:
        """A topic's expanded names, or why it is refused."""
        if match := _COMBINED_TOPIC.fullmatch(topic):
            if len(topic) > COMBINED_TOPIC_MAX:
                return [], "Combined topic is too long"
            user_id, parts = match.group(1), match.group(2).split("&")
        elif match := _USER_TOPIC.fullmatch(topic):
            user_id, parts = match.group(1), [match.group(2)]
        else:
            return [], "Invalid topic"
        if any(part not in USER_TOPICS for part in parts) or user_id not in self._org.users:
            return [], "Invalid topic"
        if token.user_id not in {None, user_id}:
            return [], "Permission denied"
        return [f"v2.users.{user_id}.{part}" for part in parts], None

    # ------------------------------------------------------------------ websocket

    async def connect(self, request: web.Request) -> web.StreamResponse:
        """``GET /channels/{id}``: the channel's websocket."""
        channel = self.channels.get(request.match_info["channel_id"])
        if channel is None or channel.streaming:
            raise ApiError("not.found")
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        previous = channel.socket
        channel.socket, channel.transport = socket, request.transport
        channel.last_used = utcnow()
        if previous is not None:
            await previous.close(code=WSCloseCode.GOING_AWAY, message=b"replaced")
        heartbeat = asyncio.get_running_loop().create_task(self._heartbeat(socket))
        try:
            async for message in socket:
                if (
                    message.type == WSMsgType.TEXT
                    and self._is_ping(message.data)
                    and self.heartbeats_enabled
                ):
                    await self._send(socket, json.dumps(PONG))
        finally:
            heartbeat.cancel()
            with suppress(asyncio.CancelledError):
                await heartbeat
            if channel.socket is socket:
                channel.socket = channel.transport = None
        return socket

    @staticmethod
    def _is_ping(text: str) -> bool:
        try:
            message = json.loads(text)
        except ValueError:
            return False
        return isinstance(message, dict) and message.get("message") == "ping"

    async def _heartbeat(self, socket: web.WebSocketResponse) -> None:
        text = json.dumps(HEARTBEAT)
        while not socket.closed:
            await asyncio.sleep(self._config.heartbeat_interval)
            if self.heartbeats_enabled:
                await self._send(socket, text)
