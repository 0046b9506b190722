"""The softphone's signalling: Genesys' pending sessions and SDP over XMPP, as typed events.

The gateway (a JID whose domain contains ``gjoll``) offers every call. It first proposes a
session (``urn:xmpp:jingle-message:0`` ``<propose>``, re-sent until some device of the agent
proceeds); the device that takes the call sends ``<proceed>`` to the gateway; the gateway then
sends an SDP ``offer`` (JSON-RPC 2.0 in ``<genesys-webrtc xmlns="genesys">`` IQs), the device
tells the agent's other clients with ``<accept>`` to its own bare JID, answers, trickles its
candidates, and ``info active`` once ICE connects; either side ends with ``terminate``.

Only SDP over XMPP is spoken: a propose without ``inin-sdp-over-xmpp="true"`` (Jingle) is
logged and left to the agent's other phones, and Jingle IQs are ignored (the gateway may send a
``session-initiate`` beside an SDP-over-XMPP offer).

Choices where the reference is UNCONFIRMED, following the current SDK (streaming-client v20):
only the first propose of a session decides its mode; a propose re-sent after ``proceed`` is
proceeded again; candidates that arrive before their offer are kept for 60 s; a re-sent offer
(same JSON-RPC id; the last 5 ids, for 3 min) is answered once; an offer for a known session
with the same ICE credentials renegotiates on the same media session, one with new credentials
or ``reinvite: true`` gets a new media session and the old one is closed once the new one is
answered (the SDK's ``alternative-session`` terminate for the same id is not sent: the gateway
ignores it); handled ``genesys-webrtc`` IQs get no IQ result (the SDK sends none); the answer
SDP carries its candidates and each is also trickled, TCP and IPv6 host ones excepted, then
``a=end-of-candidates``; a terminate the client sends waits at most 2 s for its result.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
import json
import logging
import re
import time
from typing import Any
import uuid
from xml.etree.ElementTree import Element

from ..exceptions import GenesysError
from .media_protocol import MediaSession, MediaSessionFactory
from .stanza import build, local_name, namespace_of
from .transport import NS_CLIENT, StreamingTransport, iq

_LOGGER = logging.getLogger(__package__)

NS_JINGLE_MESSAGE = "urn:xmpp:jingle-message:0"
NS_JINGLE = "urn:xmpp:jingle:1"
NS_GENESYS = "genesys"
# The SDK's test for a softphone (gateway) peer.
_SOFTPHONE_JID = re.compile(r".*@.*gjoll.*")
EARLY_CANDIDATE_TTL = 60.0
OFFER_IDS_KEPT = 5
OFFER_ID_TTL = 180.0
TERMINATE_WAIT = 2.0
# Bounds on what the server can make this client remember.
MAX_SESSIONS = 32
MAX_EARLY_CANDIDATES = 64
END_OF_CANDIDATES = "a=end-of-candidates\r\n"


# ---------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class PendingSession:
    """Genesys offers a call to the agent's devices (a propose): ringing, not yet taken."""

    session_id: str
    conversation_id: str | None
    persistent_conversation_id: str | None
    auto_answer: bool
    # "Auto": the persistent connection's eager set-up, not a real call.
    priv_answer_mode: str | None
    # The gateway's JID names the caller's number: kept out of reprs.
    from_jid: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class PendingSessionRetracted:
    """The caller gave up (or the call was taken away) before this device took it."""

    session_id: str


@dataclass(frozen=True, slots=True)
class PendingSessionHandledElsewhere:
    """Another of the agent's clients accepted or rejected the call."""

    session_id: str


@dataclass(frozen=True, slots=True)
class SessionOffered:
    """The gateway sent an SDP offer (``renegotiation``: on the current media session)."""

    session_id: str
    conversation_id: str | None
    reinvite: bool
    renegotiation: bool


@dataclass(frozen=True, slots=True)
class SessionAnswered:
    """The media session answered the offer and the answer went out."""

    session_id: str


@dataclass(frozen=True, slots=True)
class SessionFailed:
    """The media session could not answer; the session was terminated."""

    session_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class RemoteCandidate:
    """A candidate the gateway trickled (addresses stay out of reprs)."""

    session_id: str
    candidate: str = field(repr=False)
    sdp_mid: str | None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """The gateway sent ``info`` about a session."""

    session_id: str
    status: str | None


@dataclass(frozen=True, slots=True)
class SessionTerminated:
    """The session ended (``by_remote``: Genesys ended it)."""

    session_id: str
    reason: str | None
    by_remote: bool


type SignallingEvent = (
    PendingSession
    | PendingSessionRetracted
    | PendingSessionHandledElsewhere
    | SessionOffered
    | SessionAnswered
    | SessionFailed
    | RemoteCandidate
    | SessionInfo
    | SessionTerminated
)
type SignallingListener = Callable[[SignallingEvent], None]


# ---------------------------------------------------------------------- SDP helpers


def _sdp_lines(sdp: str) -> list[str]:
    return [line.strip() for line in sdp.splitlines() if line.strip()]


def ice_credentials(sdp: str) -> tuple[str | None, str | None]:
    """The first ``a=ice-ufrag`` and ``a=ice-pwd`` of an SDP."""
    ufrag = pwd = None
    for line in _sdp_lines(sdp):
        if ufrag is None and line.startswith("a=ice-ufrag:"):
            ufrag = line.removeprefix("a=ice-ufrag:")
        elif pwd is None and line.startswith("a=ice-pwd:"):
            pwd = line.removeprefix("a=ice-pwd:")
    return ufrag, pwd


def trickled_candidates(sdp: str) -> list[str]:
    """The fragments the SDK trickles for an answer: one per candidate, then end-of-candidates."""
    mid = "audio"
    fragments = []
    for line in _sdp_lines(sdp):
        if line.startswith("a=mid:"):
            mid = line.removeprefix("a=mid:")
        elif line.startswith("a=candidate:"):
            fields = line.split()
            transport = fields[2].lower() if len(fields) > 2 else ""
            address = fields[4] if len(fields) > 4 else ""
            host = "typ host" in line
            if transport == "tcp" or (host and ":" in address):
                continue  # the SDK trickles neither TCP nor IPv6 host candidates
            fragments.append(f"m={mid} 9 RTP/AVP 0\r\n{line}\r\n")
    return [*fragments, END_OF_CANDIDATES]


def parse_candidate_fragment(fragment: str) -> tuple[str, str] | None:
    """A gateway fragment's (sdpMid, candidate); None for end-of-candidates or no ``m=`` line."""
    mid = candidate = None
    for line in _sdp_lines(fragment):
        if mid is None and line.startswith("m="):
            mid = line[2:].split(" ", 1)[0]
        elif candidate is None and line.startswith("a="):
            candidate = line[2:]
    if not mid or not candidate or not candidate.startswith("candidate:"):
        return None
    return mid, candidate


def _boolean(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("true", "1")


# ---------------------------------------------------------------------- sessions


@dataclass(eq=False)
class _Session:
    session_id: str
    peer_jid: str
    conversation_id: str | None = None
    proceeded: bool = False
    accepted: bool = False
    media: MediaSession | None = None
    answered: bool = False
    ice: tuple[str | None, str | None] = (None, None)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SoftphoneSignalling:
    """Turns the streaming transport's stanzas into events and commands into stanzas.

    It makes itself the transport's listener. Offers are answered by media sessions from
    ``media_factory``; the caller decides which proposes to proceed (auto-answer, a button).
    """

    def __init__(
        self,
        transport: StreamingTransport,
        media_factory: MediaSessionFactory,
        listener: SignallingListener,
    ) -> None:
        """Listen on ``transport``; nothing is sent until Genesys proposes a call."""
        self._transport = transport
        self._media_factory = media_factory
        self._listener = listener
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._early: dict[str, list[tuple[float, str, str]]] = {}
        self._offer_ids: OrderedDict[str, float] = OrderedDict()
        self._jingle_logged: OrderedDict[str, None] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        transport.listener = self.handle_stanza

    @property
    def session_ids(self) -> list[str]:
        """The sessions known now (pending or established), oldest first."""
        return list(self._sessions)

    def has_media(self, session_id: str) -> bool:
        """Whether the session has a media session."""
        session = self._sessions.get(session_id)
        return session is not None and session.media is not None

    async def async_close(self) -> None:
        """Close every media session and forget every session (nothing is sent)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        sessions, self._sessions = list(self._sessions.values()), OrderedDict()
        for session in sessions:
            await self._close_media(session.media)

    # ------------------------------------------------------------------ commands

    async def proceed(self, session_id: str) -> None:
        """Take the proposed call on this device (``proceed`` to the gateway).

        Raises ``GenesysError`` when the session is no longer known (retracted, ended), and
        ``GenesysConnectionError`` when the stream is down.
        """
        session = self._session(session_id)
        session.proceeded = True
        await self._message(session.peer_jid, "proceed", session_id)

    async def accept(self, session_id: str) -> None:
        """Tell the agent's other clients this device took the call (to the own bare JID)."""
        self._session(session_id).accepted = True
        await self._message(self._transport.bare_jid, "accept", session_id)

    async def answer(self, session_id: str, sdp: str) -> None:
        """Send the SDP answer."""
        await self._rpc(session_id, "answer", {"sdp": sdp})

    async def send_candidates(self, session_id: str, answer_sdp: str) -> None:
        """Trickle the answer's candidates, then end-of-candidates."""
        await asyncio.gather(
            *(
                self._rpc(session_id, "iceCandidate", {"sdp": fragment})
                for fragment in trickled_candidates(answer_sdp)
            )
        )

    async def send_info(self, session_id: str, status: str = "active") -> None:
        """Report the session's media state (``active`` once ICE connects)."""
        await self._rpc(session_id, "info", {"status": status})

    async def terminate(self, session_id: str, reason: str = "success") -> None:
        """End the session from this side and close its media."""
        session = self._sessions.pop(session_id, None)
        if session is None:
            return
        self._early.pop(session_id, None)
        await self._rpc_to(session, "terminate", {"reason": reason}, wait=TERMINATE_WAIT)
        await self._close_media(session.media)
        self._emit(SessionTerminated(session_id, reason, by_remote=False))

    # ------------------------------------------------------------------ sending

    def _session(self, session_id: str) -> _Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise GenesysError("no such softphone session")
        return session

    async def _message(self, to: str, name: str, session_id: str) -> None:
        payload = build(NS_JINGLE_MESSAGE, name, {"id": session_id})
        await self._transport.async_send(
            build(NS_CLIENT, "message", {"to": to, "id": uuid.uuid4().hex}, payload)
        )

    async def _rpc(self, session_id: str, method: str, params: dict[str, Any]) -> None:
        await self._rpc_to(self._session(session_id), method, params)

    async def _rpc_to(
        self,
        session: _Session,
        method: str,
        params: dict[str, Any],
        *,
        wait: float | None = None,
    ) -> None:
        """Send a JSON-RPC request; a missing or error result is only logged (as the SDK)."""
        body = {
            "jsonrpc": "2.0",
            "id": str(uuid.uuid4()),
            "method": method,
            "params": {"sessionId": session.session_id, **params},
        }
        request = iq("set", build(NS_GENESYS, "genesys-webrtc", text=json.dumps(body)))
        request.set("to", session.peer_jid)
        try:
            await self._transport.async_request(request, wait=wait)
        except GenesysError as err:
            _LOGGER.debug("The gateway did not confirm %s: %s", method, err)

    # ------------------------------------------------------------------ receiving

    def handle_stanza(self, element: Element) -> bool:
        """The transport's listener: True for IQs this module takes (no error reply)."""
        name = local_name(element)
        if name == "message":
            if element.get("type") == "error":
                return False  # a bounce of what this client sent, not a new request
            for payload in element:
                if namespace_of(payload) == NS_JINGLE_MESSAGE:
                    self._on_jingle_message(element, payload)
            return False
        if name != "iq" or element.get("type") not in ("get", "set") or len(element) != 1:
            return False
        payload = element[0]
        if namespace_of(payload) == NS_JINGLE:
            _LOGGER.debug("Ignored a Jingle %s (SDP over XMPP only)", payload.get("action"))
            return True
        if payload.tag != f"{{{NS_GENESYS}}}genesys-webrtc":
            return False
        self._on_rpc(element.get("from", ""), payload.text or "")
        return True

    def _on_jingle_message(self, message: Element, payload: Element) -> None:
        session_id, sender = payload.get("id", ""), message.get("from", "")
        if not session_id:
            return
        match local_name(payload):
            case "propose":
                self._on_propose(sender, session_id, payload)
            case "retract":
                self._on_retract(session_id)
            case "accept" | "reject" if self._from_other_client(sender):
                session = self._sessions.get(session_id)
                if session is not None and not session.proceeded:
                    del self._sessions[session_id]
                    self._emit(PendingSessionHandledElsewhere(session_id))
            case other:
                _LOGGER.debug("Ignored a jingle message %s", other)

    def _from_other_client(self, sender: str) -> bool:
        bare, _, resource = sender.partition("/")
        return bare == self._transport.bare_jid and resource != self._transport.resource

    def _on_propose(self, sender: str, session_id: str, propose: Element) -> None:
        if sender == self._transport.jid or not _SOFTPHONE_JID.fullmatch(sender):
            _LOGGER.debug("Ignored a propose that is not from the softphone gateway")
            return
        known = self._sessions.get(session_id)
        if known is not None:
            if known.proceeded:
                _LOGGER.debug("The gateway proposed a proceeded session again; proceeding again")
                self._spawn(self._quietly(self.proceed(session_id)))
            return
        if not _boolean(propose.get("inin-sdp-over-xmpp")):
            if session_id not in self._jingle_logged:
                _LOGGER.warning(
                    "Genesys offered a call with Jingle signalling, which this softphone does "
                    "not speak; it is left to the agent's other phones"
                )
                self._remember(self._jingle_logged, session_id, None)
            return
        session = _Session(session_id, sender, conversation_id=propose.get("inin-cid"))
        self._add_session(session)
        self._emit(
            PendingSession(
                session_id=session_id,
                conversation_id=propose.get("inin-cid"),
                persistent_conversation_id=propose.get("inin-persistent-cid"),
                auto_answer=_boolean(propose.get("inin-autoanswer")),
                priv_answer_mode=propose.get("inin-priv-answer-mode"),
                from_jid=sender,
            )
        )

    def _on_retract(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        self._early.pop(session_id, None)
        if session is None:
            return
        self._spawn(self._close_media(session.media))
        self._emit(PendingSessionRetracted(session_id))

    def _on_rpc(self, sender: str, text: str) -> None:
        try:
            request = json.loads(text)
        except ValueError:
            _LOGGER.debug("Ignored a genesys-webrtc payload that is not JSON")
            return
        params = request.get("params") if isinstance(request, dict) else None
        session_id = params.get("sessionId") if isinstance(params, dict) else None
        if not isinstance(params, dict) or not isinstance(session_id, str) or not session_id:
            _LOGGER.debug("Ignored a genesys-webrtc request without a session")
            return
        method = request.get("method")
        match method:
            case "offer":
                self._on_offer(sender, str(request.get("id")), session_id, params)
            case "iceCandidate":
                self._on_candidate(session_id, params.get("sdp"))
            case "terminate":
                self._on_terminate(session_id, params.get("reason"))
            case "info":
                status = params.get("status")
                self._emit(SessionInfo(session_id, status if isinstance(status, str) else None))
            case _:
                _LOGGER.debug("Ignored a genesys-webrtc %s", method)

    def _on_offer(self, sender: str, rpc_id: str, session_id: str, params: dict[str, Any]) -> None:
        sdp, conversation_id = params.get("sdp"), params.get("conversationId")
        if not isinstance(sdp, str) or not _SOFTPHONE_JID.fullmatch(sender):
            _LOGGER.debug("Ignored an offer without SDP or not from the softphone gateway")
            return
        now = time.monotonic()
        for seen, at in list(self._offer_ids.items()):
            if now - at > OFFER_ID_TTL:
                del self._offer_ids[seen]
        if rpc_id in self._offer_ids:
            _LOGGER.debug("Ignored a re-sent offer")
            return
        self._remember(self._offer_ids, rpc_id, now, limit=OFFER_IDS_KEPT)
        session = self._sessions.get(session_id)
        if session is None:
            session = _Session(session_id, sender)
            self._add_session(session)
        session.peer_jid = sender
        if isinstance(conversation_id, str):
            session.conversation_id = conversation_id
        self._spawn(self._answer_offer(session, sdp, params.get("reinvite") is True))

    async def _answer_offer(self, session: _Session, sdp: str, reinvite: bool) -> None:
        async with session.lock:
            if self._sessions.get(session.session_id) is not session:
                return  # ended while an earlier offer was being answered
            credentials = ice_credentials(sdp)
            renegotiation = (
                session.media is not None and not reinvite and credentials == session.ice
            )
            self._emit(
                SessionOffered(session.session_id, session.conversation_id, reinvite, renegotiation)
            )
            if not session.accepted:
                await self._quietly(self.accept(session.session_id))
            previous = None
            if not renegotiation:
                previous, session.media = session.media, self._media_factory()
                session.answered = False
            assert session.media is not None
            try:
                answer = await session.media.answer(sdp, list(self._transport.ice_servers))
            except Exception as err:  # whatever the media layer raises ends this session only
                _LOGGER.warning("The softphone could not answer the call: %s", err)
                await self._close_media(previous)
                await self.terminate(session.session_id, "failed-application")
                self._emit(SessionFailed(session.session_id, str(err)))
                return
            if self._sessions.get(session.session_id) is not session:
                await self._close_media(session.media)  # terminated while answering
                await self._close_media(previous)
                return
            session.ice, session.answered = credentials, True
            early = self._early.pop(session.session_id, [])
            await self.answer(session.session_id, answer)
            await self._close_media(previous)
            await self.send_candidates(session.session_id, answer)
            for _, mid, candidate in early:
                await self._add_candidate(session.media, candidate, mid)
            self._emit(SessionAnswered(session.session_id))

    def _on_candidate(self, session_id: str, fragment: object) -> None:
        parsed = parse_candidate_fragment(fragment) if isinstance(fragment, str) else None
        if parsed is None:
            _LOGGER.debug("Ignored a candidate fragment without a candidate")
            return
        mid, candidate = parsed
        self._emit(RemoteCandidate(session_id, candidate, mid))
        session = self._sessions.get(session_id)
        if session is not None and session.answered and session.media is not None:
            self._spawn(self._add_candidate(session.media, candidate, mid))
            return
        now = time.monotonic()
        if session_id not in self._early and len(self._early) >= MAX_SESSIONS:
            return
        kept = [c for c in self._early.get(session_id, []) if now - c[0] <= EARLY_CANDIDATE_TTL]
        if len(kept) < MAX_EARLY_CANDIDATES:
            kept.append((now, mid, candidate))
        self._early[session_id] = kept

    def _on_terminate(self, session_id: str, reason: object) -> None:
        session = self._sessions.pop(session_id, None)
        self._early.pop(session_id, None)
        if session is None:
            _LOGGER.debug("Ignored a terminate for an unknown session")
            return
        self._spawn(self._close_media(session.media))
        self._emit(SessionTerminated(session_id, reason if isinstance(reason, str) else None, True))

    # ------------------------------------------------------------------ plumbing

    def _add_session(self, session: _Session) -> None:
        self._sessions[session.session_id] = session
        while len(self._sessions) > MAX_SESSIONS:
            stale = next((s for s in self._sessions.values() if s.media is None), None)
            if stale is None:
                break
            del self._sessions[stale.session_id]

    @staticmethod
    def _remember[V](memory: OrderedDict[str, V], key: str, value: V, limit: int = 32) -> None:
        memory[key] = value
        while len(memory) > limit:
            memory.popitem(last=False)

    async def _add_candidate(self, media: MediaSession, candidate: str, mid: str) -> None:
        try:
            await media.add_remote_candidate(candidate, mid, None)
        except Exception as err:  # a bad candidate must not end the call
            _LOGGER.debug("The media session refused a remote candidate: %s", err)

    @staticmethod
    async def _close_media(media: MediaSession | None) -> None:
        if media is None:
            return
        try:
            await media.close()
        except Exception:
            _LOGGER.exception("The softphone's media session failed to close")

    @staticmethod
    async def _quietly(command: Coroutine[Any, Any, None]) -> None:
        try:
            await command
        except GenesysError as err:
            _LOGGER.debug("A softphone command failed: %s", err)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _emit(self, event: SignallingEvent) -> None:
        try:
            self._listener(event)
        except Exception:
            _LOGGER.exception("The softphone's event listener failed")
