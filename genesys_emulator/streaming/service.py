"""The streaming service ("Hawk"): XMPP over a websocket, as Genesys' streaming client meets it.

Websocket ``GET /stream/channels/{id}`` (subprotocol ``xmpp``) for channels made with
``POST /api/v2/notifications/channels?connectionType=streaming``; each frame is one element
(RFC 7395). The handshake: ``<open/>`` → features (SASL ``PLAIN``) → ``<auth>`` with the user's
bare JID and ``authKey:<access token>`` (checked against the emulator's tokens and the channel's
user) → ``<success/>`` → ``<open/>`` again → features (bind, optional session) → bind (the
requested resource is kept; none: a random one). Then: ping results, XEP-0215 ``services`` from
``services`` (per type asked), session and pub/sub IQs answered ``result``, ``genesys-webrtc``
IQs answered ``result`` and handed to the softphone gateway, messages to the user's bare JID fanned
out to all its resources (the sender's too), messages to a gateway JID handed to the gateway,
``service-unavailable`` for any other IQ get/set. A second socket on the same full JID replaces
the first; a frame that is not XML ends the stream with ``not-well-formed``.

Choices where the reference is UNCONFIRMED: a refused login is ``<failure><not-authorized/>``;
the server sends no pings of its own; the pub/sub events of notification topics are not emulated
on this socket (the Notifications API's websocket carries them).
"""

import asyncio
import base64
import binascii
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
import uuid
from xml.etree import ElementTree
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from aiohttp import WSCloseCode, WSMsgType, web

from ..auth import TokenStore
from ..errors import ApiError
from ..notifications import NotificationHub
from ..state import Org, User

NS_CLIENT = "jabber:client"
NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
NS_STREAMS = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_PING = "urn:xmpp:ping"
NS_EXTDISCO = "urn:xmpp:extdisco:1"
NS_PUBSUB = "http://jabber.org/protocol/pubsub"
NS_GENESYS = "genesys"
MAX_FRAME_BYTES = 1 << 20
SERVER_NAME = "hawk"


def tag(namespace: str, name: str) -> str:
    """ElementTree's name for ``name`` in ``namespace``."""
    return f"{{{namespace}}}{name}"


def attributes(**values: str | None) -> str:
    """XML attributes (``None`` left out; ``_`` in a name becomes ``-``)."""
    return "".join(
        f" {name.rstrip('_').replace('_', '-')}={quoteattr(value)}"
        for name, value in values.items()
        if value is not None
    )


def iq_text(kind: str, id_: str, payload: str = "", **extra: str | None) -> str:
    """An ``<iq>`` frame."""
    head = f"<iq xmlns={quoteattr(NS_CLIENT)}{attributes(type=kind, id=id_, **extra)}"
    return f"{head}>{payload}</iq>" if payload else f"{head}/>"


def stanza_error(kind: str, condition: str) -> str:
    """An ``<error>`` child with a stanza condition."""
    return f'<error type="{kind}"><{condition} xmlns="{NS_STANZAS}"/></error>'


@dataclass(frozen=True, kw_only=True)
class ExternalService:
    """A STUN or TURN server handed out by XEP-0215 external service discovery."""

    type: str
    host: str
    port: int
    transport: str = "udp"
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def xml(self) -> str:
        """The ``<service/>`` element."""
        return (
            "<service"
            + attributes(
                type=self.type,
                host=self.host,
                port=str(self.port),
                transport=self.transport,
                username=self.username,
                password=self.password,
            )
            + "/>"
        )


@dataclass(eq=False, kw_only=True)
class XmppSession:
    """One bound stream: a user's resource."""

    socket: web.WebSocketResponse
    transport: asyncio.Transport | None
    user: User
    channel_id: str
    resource: str

    @property
    def bare_jid(self) -> str:
        """The user's JID."""
        return self.user.jabber_id

    @property
    def full_jid(self) -> str:
        """The user's JID with this stream's resource."""
        return f"{self.user.jabber_id}/{self.resource}"

    async def send(self, text: str) -> None:
        """Write one frame (a closed socket swallows it, as the network would)."""
        if not self.socket.closed:
            with suppress(ConnectionError):
                await self.socket.send_str(text)


type GatewayHandler = Callable[[XmppSession, Element], Awaitable[None]]


class _StreamEnded(Exception):
    """The client closed the stream or broke the protocol."""


class StreamingService:
    """Every XMPP stream of the org, and what the gateway sends on them."""

    def __init__(self, org: Org, tokens: TokenStore, hub: NotificationHub) -> None:
        """No streams yet; one STUN server on loopback is handed out."""
        self._org = org
        self._tokens = tokens
        self._hub = hub
        self.services: list[ExternalService] = [
            ExternalService(type="stun", host="127.0.0.1", port=3478)
        ]
        self.answer_pings = True
        # A SASL condition the next login is refused with (then cleared): fault injection.
        self.refuse_next_login: str | None = None
        self.sessions: dict[str, XmppSession] = {}
        # Every frame the clients sent, as sent: for tests.
        self.received: list[str] = []
        # The gateway's entry points: genesys-webrtc IQs and messages to its JIDs.
        self.on_rpc: GatewayHandler | None = None
        self.on_gateway_message: GatewayHandler | None = None
        self._queries: dict[str, asyncio.Future[Element]] = {}

    def add_routes(self, app: web.Application) -> None:
        """Register the websocket."""
        app.router.add_get("/stream/channels/{channel_id}", self.connect)

    # ------------------------------------------------------------------ control

    def user_sessions(self, user_id: str) -> list[XmppSession]:
        """The user's bound streams."""
        return [s for s in self.sessions.values() if s.user.id == user_id]

    async def send_to_user(self, user_id: str, text: str) -> int:
        """Write a frame to every stream of the user; returns how many."""
        sessions = self.user_sessions(user_id)
        await asyncio.gather(*(s.send(text) for s in sessions))
        return len(sessions)

    async def send_raw(self, text: str, user_id: str | None = None) -> int:
        """Write any frame to every stream (of one user)."""
        sessions = [s for s in self.sessions.values() if user_id in (None, s.user.id)]
        await asyncio.gather(*(s.send(text) for s in sessions))
        return len(sessions)

    async def query(self, session: XmppSession, payload: str, kind: str = "get") -> Element:
        """Send the client an IQ and return its answer (within 5 s)."""
        id_ = uuid.uuid4().hex
        future: asyncio.Future[Element] = asyncio.get_running_loop().create_future()
        self._queries[id_] = future
        try:
            await session.send(iq_text(kind, id_, payload, to=session.full_jid))
            async with asyncio.timeout(5):
                return await future
        finally:
            self._queries.pop(id_, None)

    async def drop_connections(self) -> int:
        """Cut every stream's TCP connection without a close."""
        sessions = list(self.sessions.values())
        for session in sessions:
            if session.transport is not None:
                session.transport.abort()
        return len(sessions)

    async def close(self) -> None:
        """Close every stream (emulator stop)."""
        sessions, self.sessions = list(self.sessions.values()), {}
        await asyncio.gather(
            *(s.socket.close(code=WSCloseCode.GOING_AWAY) for s in sessions),
            return_exceptions=True,
        )

    # ------------------------------------------------------------------ the stream

    async def connect(self, request: web.Request) -> web.StreamResponse:
        """``GET /stream/channels/{id}``: refused (404) unless a streaming channel."""
        channel = self._hub.channels.get(request.match_info["channel_id"])
        if channel is None or not channel.streaming or channel.user_id is None:
            raise ApiError("not.found")
        socket = web.WebSocketResponse(protocols=("xmpp",), max_msg_size=MAX_FRAME_BYTES)
        await socket.prepare(request)
        if socket.ws_protocol != "xmpp":
            await socket.close(code=WSCloseCode.PROTOCOL_ERROR, message=b"subprotocol xmpp")
            return socket
        user = self._org.users[channel.user_id]
        frames = self._frames(socket)
        session: XmppSession | None = None
        try:
            resource = await self._handshake(socket, frames, user)
            if resource is None:
                return socket
            session = XmppSession(
                socket=socket,
                transport=request.transport,
                user=user,
                channel_id=channel.id,
                resource=resource,
            )
            previous = self.sessions.get(session.full_jid)
            self.sessions[session.full_jid] = session
            if previous is not None:
                await previous.socket.close(code=WSCloseCode.GOING_AWAY, message=b"replaced")
            async for element in frames:
                await self._on_stanza(session, element)
        except _StreamEnded:
            pass
        finally:
            if session is not None and self.sessions.get(session.full_jid) is session:
                del self.sessions[session.full_jid]
            if not socket.closed:
                await socket.close()
        return socket

    async def _frames(self, socket: web.WebSocketResponse) -> AsyncIterator[Element]:
        """Each text frame as an element, until the socket or the stream closes."""
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            self.received.append(message.data)
            try:
                # Its peer is the client under test; 3.14 expat refuses entity bombs.
                element = ElementTree.fromstring(message.data)  # noqa: S314
            except ElementTree.ParseError:
                await socket.send_str(
                    f'<stream:error xmlns:stream="{NS_STREAMS}">'
                    '<not-well-formed xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error>'
                )
                raise _StreamEnded from None
            if element.tag == tag(NS_FRAMING, "close"):
                await socket.send_str(f'<close xmlns="{NS_FRAMING}"/>')
                raise _StreamEnded
            yield element

    async def _open(
        self, socket: web.WebSocketResponse, frames: AsyncIterator[Element], features: str
    ) -> None:
        element = await anext(frames)
        if element.tag != tag(NS_FRAMING, "open"):
            raise _StreamEnded
        stream_id = uuid.uuid4().hex
        await socket.send_str(
            f'<open xmlns="{NS_FRAMING}" version="1.0" from="{SERVER_NAME}" id="{stream_id}" '
            'xml:lang="en"/>'
        )
        await socket.send_str(
            f'<stream:features xmlns:stream="{NS_STREAMS}">{features}</stream:features>'
        )

    async def _handshake(
        self, socket: web.WebSocketResponse, frames: AsyncIterator[Element], user: User
    ) -> str | None:
        """SASL and bind; the bound resource, or None when the login was refused."""
        await self._open(
            socket,
            frames,
            f'<mechanisms xmlns="{NS_SASL}"><mechanism>PLAIN</mechanism></mechanisms>',
        )
        auth = await anext(frames)
        condition, self.refuse_next_login = self.refuse_next_login, None
        if auth.tag != tag(NS_SASL, "auth") or not self._authenticated(auth, user):
            condition = "not-authorized"
        if condition is not None:
            await socket.send_str(f'<failure xmlns="{NS_SASL}"><{condition}/></failure>')
            return None
        await socket.send_str(f'<success xmlns="{NS_SASL}"/>')
        await self._open(
            socket,
            frames,
            f'<bind xmlns="{NS_BIND}"/><session xmlns="{NS_SESSION}"><optional/></session>',
        )
        bind = await anext(frames)
        request = bind.find(tag(NS_BIND, "bind"))
        if bind.tag != tag(NS_CLIENT, "iq") or bind.get("type") != "set" or request is None:
            raise _StreamEnded
        resource = (request.findtext(tag(NS_BIND, "resource")) or "").strip() or str(uuid.uuid4())
        jid = escape(f"{user.jabber_id}/{resource}")
        await socket.send_str(
            iq_text(
                "result", bind.get("id", ""), f'<bind xmlns="{NS_BIND}"><jid>{jid}</jid></bind>'
            )
        )
        return resource

    def _authenticated(self, auth: Element, user: User) -> bool:
        if auth.get("mechanism") != "PLAIN":
            return False
        try:
            decoded = base64.b64decode(auth.text or "", validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        _, _, rest = decoded.partition("\0")
        username, _, password = rest.partition("\0")
        token = self._tokens.access_tokens.get(password.removeprefix("authKey:"))
        return (
            username == user.jabber_id
            and password.startswith("authKey:")
            and token is not None
            and token.valid()
            and token.user_id == user.id
        )

    # ------------------------------------------------------------------ stanzas

    async def _on_stanza(self, session: XmppSession, element: Element) -> None:
        if element.tag == tag(NS_CLIENT, "iq"):
            await self._on_iq(session, element)
        elif element.tag == tag(NS_CLIENT, "message"):
            await self._on_message(session, element)

    async def _on_iq(self, session: XmppSession, element: Element) -> None:
        kind, id_ = element.get("type"), element.get("id", "")
        if kind in ("result", "error"):
            future = self._queries.pop(id_, None)
            if future is not None and not future.done():
                future.set_result(element)
            return
        payload = element[0] if len(element) == 1 else None
        reply = iq_text("result", id_, to=session.full_jid)
        if payload is None or kind not in ("get", "set"):
            reply = iq_text("error", id_, stanza_error("modify", "bad-request"))
        elif payload.tag == tag(NS_PING, "ping"):
            if not self.answer_pings:
                return
        elif payload.tag == tag(NS_EXTDISCO, "services"):
            wanted = payload.get("type")
            services = "".join(s.xml() for s in self.services if wanted in (None, s.type))
            reply = iq_text("result", id_, f'<services xmlns="{NS_EXTDISCO}">{services}</services>')
        elif payload.tag == tag(NS_GENESYS, "genesys-webrtc") and self.on_rpc is not None:
            await session.send(reply)
            await self.on_rpc(session, element)
            return
        elif payload.tag not in (tag(NS_SESSION, "session"), tag(NS_PUBSUB, "pubsub")):
            reply = iq_text("error", id_, stanza_error("cancel", "service-unavailable"))
        await session.send(reply)

    async def _on_message(self, session: XmppSession, element: Element) -> None:
        to = element.get("to", "")
        if to == session.bare_jid:
            element.set("from", session.full_jid)
            # ElementTree writes ns0: prefixes: the same names, which any XMPP client reads.
            await self.send_to_user(session.user.id, ElementTree.tostring(element, "unicode"))
        elif "gjoll" in to and self.on_gateway_message is not None:
            await self.on_gateway_message(session, element)
