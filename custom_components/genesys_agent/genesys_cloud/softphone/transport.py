"""Genesys' streaming service: XMPP over a websocket (RFC 7395), kept alive and reconnected.

The connection, as the official streaming client makes it: ``POST
/api/v2/notifications/channels?connectionType=streaming`` gives a channel, whose websocket is
``{streaming host}/stream/channels/{id}`` with subprotocol ``xmpp``; SASL PLAIN with the user's
bare JID and ``authKey:<access token>``; a resource bind with the same resource on every
reconnect (so the gateway can re-invite this device); then XEP-0199 pings every 14 s (two missed
in a row drop the socket) and XEP-0215 external service discovery for the ICE servers, after
every connect and every 6 h. An XEP-0051 connection transfer reconnects at once.

Written here rather than on slixmpp: the service is a small, fixed subset of XMPP spoken over
an RFC 7395 websocket with SASL PLAIN only; slixmpp brings its own TCP/TLS streams and event
loop plumbing, would not use the injected aiohttp session, and adds a dependency Home Assistant
does not carry. The subset fits in this module; the parser is ``stanza``'s.

Choices where the reference is UNCONFIRMED, following the current SDK: a SASL
``not-authorized`` refreshes the token once, then stops the transport (the login is gone);
the other SASL failures and a refused websocket get a new channel; the channel is reused for
10 reconnects, then renewed; IQs the client does not know get ``service-unavailable``; a
handled ``genesys-webrtc`` IQ gets no result (the SDK sends none).
"""

import asyncio
import base64
from collections.abc import Callable
import contextlib
import logging
import time
import uuid
from xml.etree.ElementTree import Element

from aiohttp import ClientError, ClientWebSocketResponse, ClientWSTimeout, WSMsgType
from aiohttp.client_exceptions import WSServerHandshakeError

from ..auth import AbstractAuth
from ..client import GenesysClient
from ..exceptions import GenesysAuthError, GenesysConnectionError, GenesysError
from ..reconnect import ReconnectPacer
from .models import IceServer
from .stanza import StanzaError, build, child, local_name, namespace_of, parse_frame, serialize

_LOGGER = logging.getLogger(__package__)

NS_CLIENT = "jabber:client"
NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
NS_STREAMS = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_PING = "urn:xmpp:ping"
NS_EXTDISCO = "urn:xmpp:extdisco:1"
NS_CXFR = "urn:xmpp:cxfr"

MAX_FRAME_BYTES = 1 << 20
# The SDK: reuse a channel for this many reconnects, then make a new one.
CHANNEL_REUSES = 10
# SASL failures after which a new channel may help; any other ends the login.
RETRYABLE_SASL = frozenset(
    {
        "encryption-required",
        "incorrect-encoding",
        "invalid-mechanism",
        "malformed-request",
        "mechanism-too-weak",
    }
)
# The SDK's ICE-service query: 15 s each, retried twice.
EXTDISCO_ATTEMPTS = 3

type StanzaListener = Callable[[Element], bool]
type StateListener = Callable[[bool], None]


class XmppError(GenesysError):
    """The server answered an IQ with an error (``code`` is its condition)."""


def iq(kind: str, *payload: Element, to: str | None = None, id_: str | None = None) -> Element:
    """An ``<iq>`` of type ``kind`` carrying ``payload``."""
    return build(NS_CLIENT, "iq", {"type": kind, "id": id_ or _new_id(), "to": to or ""}, *payload)


def _new_id() -> str:
    return uuid.uuid4().hex


def ice_servers_from(services: Element) -> list[IceServer]:
    """XEP-0215 ``<services>`` as ICE servers, mapped the way the SDK maps them."""
    servers = []
    for service in services.iter(f"{{{NS_EXTDISCO}}}service"):
        kind, host = service.get("type", ""), service.get("host", "")
        if kind not in ("stun", "stuns", "turn", "turns") or not host:
            continue
        url = f"{kind}:{host}"
        if port := service.get("port"):
            url += f":{port}"
        transport = service.get("transport", "udp")
        if kind.startswith("turn") and transport != "udp":
            url += f"?transport={transport}"
        servers.append(IceServer([url], service.get("username"), service.get("password")))
    return servers


class StreamingTransport:
    """One agent's XMPP session on Genesys' streaming service, healed when it drops.

    ``listener`` gets every message, presence, and IQ get/set the transport does not handle
    itself; for an IQ it returns whether it took it (if not, the transport answers
    ``service-unavailable``). It must not block: it runs on the reading task.
    """

    def __init__(
        self,
        client: GenesysClient,
        auth: AbstractAuth,
        *,
        listener: StanzaListener | None = None,
        state_listener: StateListener | None = None,
        resource: str | None = None,
        connect_timeout: float = 15.0,
        iq_timeout: float = 15.0,
        ping_interval: float = 14.0,
        ice_refresh_interval: float = 6 * 3600.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 300.0,
    ) -> None:
        """Nothing is opened until ``async_start``."""
        self._client = client
        self._auth = auth
        self.listener = listener
        self._state_listener = state_listener
        self.resource = resource or str(uuid.uuid4())
        self.connect_timeout = connect_timeout
        self.iq_timeout = iq_timeout
        self.ping_interval = ping_interval
        self.ice_refresh_interval = ice_refresh_interval
        self.pacer = ReconnectPacer(backoff_initial=backoff_initial, backoff_max=backoff_max)
        self.bare_jid = ""
        self.jid = ""
        self.ice_servers: list[IceServer] = []
        self.auth_failed = False
        self._channel_id: str | None = None
        self._channel_uses = 0
        self._socket: ClientWebSocketResponse | None = None
        self._pending: dict[str, asyncio.Future[Element]] = {}
        self._task: asyncio.Task[None] | None = None
        self._ice_refreshed_at = -float("inf")
        self._replies: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> bool:
        """Bound and reading."""
        return self._socket is not None and not self._socket.closed and bool(self.jid)

    @property
    def domain(self) -> str:
        """The XMPP domain of the user's JID (where extdisco is asked)."""
        return self.bare_jid.partition("@")[2]

    # ------------------------------------------------------------------ life

    async def async_start(self) -> None:
        """Connect once (raising typed errors), then stay connected in the background."""
        await self._connect()
        self._task = asyncio.create_task(self._run(), name=f"{__package__} streaming")

    async def async_stop(self) -> None:
        """Stop reconnecting and close the stream."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close_socket(send_close=True)

    async def _run(self) -> None:
        while True:
            connecting = not self.connected
            try:
                if connecting:
                    await self._connect()
                    self.pacer.succeeded()
                    connecting = False
                await self._serve()
                continue  # a connection transfer: reconnect at once
            except GenesysAuthError:
                _LOGGER.debug("The streaming service refused the login; the softphone stops")
                self.auth_failed = True
                await self._close_socket(send_close=False)
                return
            except Exception as err:  # the loop must outlive anything; it reconnects
                if isinstance(err, GenesysError):
                    _LOGGER.debug("The streaming connection failed: %s", err)
                else:
                    _LOGGER.exception("Unexpected error in the streaming connection")
                if connecting:
                    self.pacer.failed()  # only failed attempts escalate; a drop starts afresh
            await self._close_socket(send_close=False)
            await self.pacer.wait_for_turn()

    # ------------------------------------------------------------------ connecting

    async def _connect(self) -> None:
        """Channel, websocket, SASL, bind; refreshes the token once if SASL refuses it."""
        self._ice_refreshed_at = -float("inf")
        for refreshed in (False, True):
            if self._channel_id is None or self._channel_uses >= CHANNEL_REUSES:
                await self._new_channel()
            self._channel_uses += 1
            token = await (
                self._auth.async_refresh_access_token()
                if refreshed
                else self._auth.async_get_access_token()
            )
            try:
                async with asyncio.timeout(self.connect_timeout):
                    await self._open_and_bind(token)
            except TimeoutError as err:
                await self._close_socket(send_close=False)
                raise GenesysConnectionError("the streaming handshake timed out") from err
            except GenesysAuthError:
                await self._close_socket(send_close=False)
                if refreshed:
                    raise
                continue
            except BaseException:
                await self._close_socket(send_close=False)
                raise
            break
        self._notify_state(True)

    async def _new_channel(self) -> None:
        agent, channel = await asyncio.gather(
            self._client.async_get_me(),
            self._client.async_create_channel(streaming=True),
            return_exceptions=True,  # both finish before either error is raised
        )
        if isinstance(agent, BaseException):
            raise agent
        if isinstance(channel, BaseException):
            raise channel
        if not agent.jabber_id:
            raise GenesysError("Genesys gave the user no jabber id; no softphone without it")
        self.bare_jid = agent.jabber_id
        self._channel_id, self._channel_uses = channel.id, 0

    async def _open_and_bind(self, token: str) -> None:
        url = f"{self._client.environment.streaming_url}/stream/channels/{self._channel_id}"
        try:
            self._socket = await self._client.session.ws_connect(
                url,
                protocols=("xmpp",),
                heartbeat=None,
                timeout=ClientWSTimeout(ws_close=self._client.request_timeout),
                max_msg_size=MAX_FRAME_BYTES,
            )
        except WSServerHandshakeError as err:
            self._channel_id = None  # expired or unknown: a new one next time
            raise GenesysConnectionError("the streaming service refused the channel") from err
        except ClientError as err:
            raise GenesysConnectionError("the streaming websocket could not be opened") from err
        features = await self._open_stream()
        if child(features, NS_SASL, "mechanisms") is None:
            raise GenesysConnectionError("the streaming service offered no SASL")
        credentials = f"\0{self.bare_jid}\0authKey:{token}".encode()
        await self._send(
            build(
                NS_SASL, "auth", {"mechanism": "PLAIN"}, text=base64.b64encode(credentials).decode()
            )
        )
        outcome = await self._next_element()
        if outcome.tag == f"{{{NS_SASL}}}failure":
            condition = next((local_name(e) for e in outcome if namespace_of(e) == NS_SASL), "")
            if condition in RETRYABLE_SASL:
                self._channel_id = None
                raise GenesysConnectionError(f"SASL failed ({condition})")
            raise GenesysAuthError(f"the streaming service refused the token ({condition})")
        if outcome.tag != f"{{{NS_SASL}}}success":
            raise GenesysConnectionError(f"expected SASL success, got {local_name(outcome)}")
        features = await self._open_stream()
        bind = iq("set", build(NS_BIND, "bind", {}, build(NS_BIND, "resource", text=self.resource)))
        await self._send(bind)
        bound = await self._next_element()
        jid = bound.findtext(f"{{{NS_BIND}}}bind/{{{NS_BIND}}}jid")
        if bound.get("type") != "result" or bound.get("id") != bind.get("id") or not jid:
            raise GenesysConnectionError("the resource bind failed")
        session = child(features, NS_SESSION, "session")
        if session is not None and child(session, NS_SESSION, "optional") is None:
            start = iq("set", build(NS_SESSION, "session"))
            await self._send(start)
            started = await self._next_element()
            if started.get("type") != "result":
                raise GenesysConnectionError("the session could not start")
        self.jid = jid

    async def _open_stream(self) -> Element:
        """Send ``<open/>``, read the server's ``<open/>``, return its features."""
        await self._send(build(NS_FRAMING, "open", {"to": self.domain, "version": "1.0"}))
        opened = await self._next_element()
        if opened.tag != f"{{{NS_FRAMING}}}open":
            raise GenesysConnectionError(f"expected the stream's open, got {local_name(opened)}")
        features = await self._next_element()
        if features.tag != f"{{{NS_STREAMS}}}features":
            raise GenesysConnectionError(f"expected stream features, got {local_name(features)}")
        return features

    async def _next_element(self) -> Element:
        """The next well-formed element (a frame that is not one is skipped)."""
        while True:
            element = await self._receive()
            if element is not None:
                return element

    async def _receive(self) -> Element | None:
        """The next frame's element; None for a frame refused as not XMPP."""
        socket = self._socket
        if socket is None:
            raise GenesysConnectionError("the streaming websocket is not open")
        message = await socket.receive()
        if message.type is not WSMsgType.TEXT:
            raise GenesysConnectionError(f"the streaming websocket ended ({message.type.name})")
        try:
            return parse_frame(str(message.data))
        except StanzaError as err:
            _LOGGER.debug("Refused a streaming frame of %d characters: %s", len(message.data), err)
            return None

    # ------------------------------------------------------------------ connected

    async def _serve(self) -> None:
        """Read until the socket fails (raises) or Genesys transfers the connection (returns)."""
        reader = asyncio.create_task(self._read())
        keepalive = asyncio.create_task(self._keep_alive())
        try:
            done, _ = await asyncio.wait({reader, keepalive}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            reader.cancel()
            keepalive.cancel()
            await asyncio.gather(reader, keepalive, return_exceptions=True)
        done.pop().result()  # raises why the stream ended
        _LOGGER.debug("Genesys transfers the streaming connection; reconnecting")
        await self._close_socket(send_close=True)

    async def _read(self) -> None:
        """Dispatch elements until Genesys asks for a connection transfer."""
        while True:
            element = await self._receive()
            if element is not None and self._dispatch(element):
                return

    async def _keep_alive(self) -> None:
        """Ping every interval (two unanswered in a row end the stream); refresh ICE servers."""
        missed = 0
        while True:
            if time.monotonic() - self._ice_refreshed_at >= self.ice_refresh_interval:
                await self._refresh_ice_servers()
            await asyncio.sleep(self.ping_interval)
            try:
                await self.async_request(iq("get", build(NS_PING, "ping")))
                missed = 0
            except XmppError:
                missed = 0  # an error answer is an answer: the socket lives
            except GenesysConnectionError:
                missed += 1
                if missed >= 2:
                    raise GenesysConnectionError("two pings went unanswered") from None

    async def _refresh_ice_servers(self) -> None:
        turn, stun = await asyncio.gather(
            self._query_services("turn"), self._query_services("stun")
        )
        if turn is None and stun is None:
            return  # keep what we had; try again at the next connect
        self.ice_servers = (turn or []) + (stun or [])
        self._ice_refreshed_at = time.monotonic()
        _LOGGER.debug("ICE servers: %s", self.ice_servers)

    async def _query_services(self, kind: str) -> list[IceServer] | None:
        for _ in range(EXTDISCO_ATTEMPTS):
            query = iq("get", build(NS_EXTDISCO, "services", {"type": kind}), to=self.domain)
            try:
                answer = await self.async_request(query)
            except XmppError:
                return []
            except GenesysConnectionError:
                continue
            services = child(answer, NS_EXTDISCO, "services")
            return [] if services is None else ice_servers_from(services)
        return None

    def _dispatch(self, element: Element) -> bool:
        """Handle one element; True when Genesys asks for a reconnect (connection transfer)."""
        namespace, name = namespace_of(element), local_name(element)
        if namespace in (NS_CLIENT, "") and name == "iq":
            return self._on_iq(element)
        if namespace in (NS_CLIENT, "") and name in ("message", "presence"):
            self._tell_listener(element)
            return False
        if element.tag in (f"{{{NS_STREAMS}}}error", f"{{{NS_FRAMING}}}close"):
            raise GenesysConnectionError(f"the streaming service closed the stream ({name})")
        _LOGGER.debug("Ignored a streaming element %s", name)
        return False

    def _on_iq(self, element: Element) -> bool:
        kind, id_ = element.get("type"), element.get("id", "")
        if kind in ("result", "error"):
            future = self._pending.pop(id_, None)
            if future is not None and not future.done():
                future.set_result(element)
            return False
        if kind not in ("get", "set") or len(element) != 1:
            _LOGGER.debug("Ignored a malformed iq")
            return False
        payload = element[0]
        if kind == "get" and payload.tag == f"{{{NS_PING}}}ping":
            self._reply(element, iq("result", id_=id_))
            return False
        if kind == "set" and payload.tag == f"{{{NS_CXFR}}}query":
            return True  # the SDK reconnects without answering
        if not self._tell_listener(element):
            _LOGGER.debug("Answered an unknown iq (%s) with service-unavailable", payload.tag)
            error = build(
                NS_CLIENT,
                "error",
                {"type": "cancel"},
                build(NS_STANZAS, "service-unavailable"),
            )
            self._reply(element, iq("error", error, id_=id_))
        return False

    def _tell_listener(self, element: Element) -> bool:
        if self.listener is None:
            return False
        try:
            return self.listener(element)
        except Exception:
            _LOGGER.exception("The softphone's stanza listener failed")
            return True

    def _reply(self, request: Element, answer: Element) -> None:
        if sender := request.get("from"):
            answer.set("to", sender)
        task = asyncio.create_task(self._send_quietly(answer))
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)

    async def _send_quietly(self, element: Element) -> None:
        with contextlib.suppress(GenesysConnectionError):
            await self._send(element)

    # ------------------------------------------------------------------ sending

    async def async_send(self, element: Element) -> None:
        """Send a stanza; raises ``GenesysConnectionError`` when there is no stream."""
        if not self.connected:
            raise GenesysConnectionError("the streaming service is not connected")
        await self._send(element)

    async def async_request(self, request: Element, *, wait: float | None = None) -> Element:
        """Send an IQ get/set and return its result.

        Raises ``XmppError`` for an error answer, ``GenesysConnectionError`` for none in time.
        """
        id_ = request.get("id") or _new_id()
        request.set("id", id_)
        future: asyncio.Future[Element] = asyncio.get_running_loop().create_future()
        self._pending[id_] = future
        try:
            await self.async_send(request)
            async with asyncio.timeout(self.iq_timeout if wait is None else wait):
                answer = await future
        except TimeoutError as err:
            raise GenesysConnectionError("the streaming service did not answer in time") from err
        finally:
            self._pending.pop(id_, None)
        if answer.get("type") == "error":
            error = child(answer, NS_CLIENT, "error")
            condition = next(
                (
                    local_name(e)
                    for e in (error if error is not None else [])
                    if namespace_of(e) == NS_STANZAS
                ),
                "undefined-condition",
            )
            raise XmppError(f"the streaming service answered {condition}", code=condition)
        return answer

    async def _send(self, element: Element) -> None:
        socket = self._socket
        if socket is None or socket.closed:
            raise GenesysConnectionError("the streaming websocket is not open")
        try:
            async with asyncio.timeout(self._client.request_timeout):
                await socket.send_str(serialize(element))
        except (ClientError, ConnectionError, TimeoutError) as err:
            raise GenesysConnectionError("the streaming websocket refused a frame") from err

    async def _close_socket(self, *, send_close: bool) -> None:
        """Forget the socket at once (a cancellation cannot leave it half-known), then close it."""
        socket, self._socket = self._socket, None
        was_connected, self.jid = bool(self.jid), ""
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(GenesysConnectionError("the streaming socket closed"))
        if was_connected:
            self._notify_state(False)
        if socket is None or socket.closed:
            return
        with contextlib.suppress(ClientError, ConnectionError):
            if send_close:
                await socket.send_str(serialize(build(NS_FRAMING, "close")))
            # Shielded: a close cut short by a cancellation would leak the connection.
            await asyncio.shield(socket.close())

    def _notify_state(self, connected: bool) -> None:
        if self._state_listener is None:
            return
        try:
            self._state_listener(connected)
        except Exception:
            _LOGGER.exception("The softphone's state listener failed")
