"""The softphone gateway (Genesys' XMPP-SIP gateway, "gjoll"): it offers calls to WebRTC stations.

It watches every conversation (``CallCenter.observers``). When an agent whose station is a WebRTC
station starts ringing (inbound ``alerting``, outbound ``dialing``), it proposes a session to all
the agent's streams (``urn:xmpp:jingle-message:0`` ``<propose>`` to the bare JID, re-sent every
``propose_interval`` until a ``<proceed>``); the proceeding stream gets the SDP offer (JSON-RPC
``offer`` in ``<genesys-webrtc xmlns="genesys">``) from a media peer made for the call, and the
offer's candidates trickled. The answer goes to the peer; an inbound call is then connected. When
the agent's leg ends before a proceed the propose is retracted; after, the session is terminated
and its peer closed, unless the station is persistent (``webRtcPersistentEnabled``): then the
session and peer stay, later calls are proposed no more (the client answers them by REST), and
each later call starts with a renegotiation offer (same session, new JSON-RPC id, the peer's new
offer with the same ICE credentials). A ``terminate`` from the client hangs the agent up.

Test hooks: ``sdp_over_xmpp`` False proposes Jingle (no ``inin-sdp-over-xmpp``), and nothing
follows the proceed; ``early_candidates`` trickles the offer's candidates before the offer;
``propose_again`` and ``resend_offer`` repeat a propose or an offer (same JSON-RPC id);
``reinvite`` re-invites a call (new offer, ``reinvite: true``, re-sent until answered).

Choices where the reference is UNCONFIRMED: the call connects when the SDP answer arrives (not
on ``info active``); the gateway answers no IQ of the client's (the streaming service does);
``inin-autoanswer`` is true for outbound calls and for users in ``auto_answer_users``.
"""

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
import json
import re
from typing import Any
import uuid
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from ..calls import CallCenter
from ..state import Conversation, Org, Participant
from .media_protocol import IceServer, OfferingMediaPeer, OfferingMediaPeerFactory
from .service import NS_CLIENT, NS_GENESYS, StreamingService, XmppSession, iq_text, tag

NS_JINGLE_MESSAGE = "urn:xmpp:jingle-message:0"
RINGING_STATES = frozenset({"alerting", "dialing", "contacting"})
_CANDIDATE = re.compile(r"^a=(candidate:.*)$", re.MULTILINE)


@dataclass(eq=False, kw_only=True)
class GatewaySession:
    """One signalling session: a call's, or a persistent connection's (many calls)."""

    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    conversation_id: str
    user_id: str
    bare_jid: str
    gateway_jid: str
    auto_answer: bool
    proceeded_by: str | None = None
    peer: OfferingMediaPeer | None = None
    offer: tuple[str, str] | None = None  # JSON-RPC id, SDP
    proposes: int = 0
    proceeds: int = 0
    answers: list[str] = field(default_factory=list)
    candidates: list[tuple[str | None, str]] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    retracted: bool = False
    terminated_by: str | None = None
    persistent: bool = False
    proceeded: asyncio.Event = field(default_factory=asyncio.Event)


class SoftphoneGateway:
    """The signalling side of every emulated call to a WebRTC station."""

    def __init__(self, org: Org, calls: CallCenter, service: StreamingService) -> None:
        """Watch ``calls`` and talk through ``service``; idle until ``media_factory`` is set."""
        self._org = org
        self._calls = calls
        self._service = service
        # None: no media peer to offer with, so no call is offered (the demo without aiortc).
        self.media_factory: OfferingMediaPeerFactory | None = None
        self.propose_interval = 2.0
        self.sdp_over_xmpp = True
        self.early_candidates = False
        self.auto_answer_users: set[str] = set()
        self.sessions: dict[str, GatewaySession] = {}
        # The session of each participant (agent leg) it was opened or renegotiated for.
        self._by_leg: dict[str, GatewaySession] = {}
        self._persistent: dict[str, GatewaySession] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        calls.observers.append(self.observe)
        service.on_rpc = self._on_rpc
        service.on_gateway_message = self._on_message

    def session_for(self, conversation_id: str) -> GatewaySession | None:
        """The latest session opened or renegotiated for a conversation."""
        matches = [s for s in self._by_leg.values() if s.conversation_id == conversation_id]
        return matches[-1] if matches else None

    async def close(self) -> None:
        """Stop every retry and close every peer (emulator stop)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for session in self.sessions.values():
            if session.peer is not None:
                await session.peer.close()
        self.sessions.clear()
        self._by_leg.clear()
        self._persistent.clear()

    # ------------------------------------------------------------------ calls

    async def observe(self, conversation: Conversation) -> None:
        """A conversation changed: propose, renegotiate, retract or terminate."""
        if self.media_factory is None:
            return
        for leg in conversation.participants:
            user = self._org.users.get(leg.user_id or "")
            if leg.purpose != "agent" or user is None or user.station_id is None:
                continue
            session = self._by_leg.get(leg.id)
            if leg.state in RINGING_STATES and session is None:
                await self._ring(conversation, leg)
            elif not leg.active and session is not None and session.terminated_by is None:
                await self._leg_ended(session)

    async def _ring(self, conversation: Conversation, leg: Participant) -> None:
        assert leg.user_id is not None
        user = self._org.users[leg.user_id]
        persistent = self._persistent.get(user.id)
        if persistent is not None:
            self._by_leg[leg.id] = persistent
            persistent.conversation_id = conversation.id
            self._spawn(self._send_offer(persistent, renegotiate=True))
            return
        number = (leg.ani or leg.dnis or "+10000000000").removeprefix("tel:")
        session = GatewaySession(
            conversation_id=conversation.id,
            user_id=user.id,
            bare_jid=user.jabber_id,
            gateway_jid="",
            auto_answer=leg.direction == "outbound" or user.id in self.auto_answer_users,
            persistent=self._org.stations[user.station_id or ""].persistent,
        )
        session.gateway_jid = f"{number}@gjoll.{self._org.jabber_domain}/{session.session_id}"
        self.sessions[session.session_id] = session
        self._by_leg[leg.id] = session
        self._spawn(self._propose_until_proceeded(session))

    async def _leg_ended(self, session: GatewaySession) -> None:
        if session.proceeded_by is None:
            session.retracted = True
            session.proceeded.set()  # stops the proposing
            retract = self._jingle_message(session, "retract")
            await self._service.send_to_user(session.user_id, retract)
        elif not session.persistent:
            session.terminated_by = "gateway"
            await self._rpc(session, "terminate", {"reason": "success"})
            await self._close_peer(session)

    # ------------------------------------------------------------------ proposing

    def _jingle_message(
        self, session: GatewaySession, name: str, extra: dict[str, str] | None = None
    ) -> str:
        """A jingle-message ``<name>`` from the gateway to the user's bare JID."""
        attributes = "".join(f" {k}={quoteattr(v)}" for k, v in (extra or {}).items())
        body = '<description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"/>'
        payload = (
            f"<{name} xmlns={quoteattr(NS_JINGLE_MESSAGE)} id={quoteattr(session.session_id)}"
            + (f"{attributes}>{body}</{name}>" if name == "propose" else "/>")
        )
        return (
            f"<message xmlns={quoteattr(NS_CLIENT)} from={quoteattr(session.gateway_jid)} "
            f"to={quoteattr(session.bare_jid)}>{payload}</message>"
        )

    def _propose(self, session: GatewaySession) -> str:
        extra = {
            "inin-cid": session.conversation_id,
            "inin-autoanswer": "true" if session.auto_answer else "false",
        }
        if self.sdp_over_xmpp:
            extra["inin-sdp-over-xmpp"] = "true"
        return self._jingle_message(session, "propose", extra)

    async def _propose_until_proceeded(self, session: GatewaySession) -> None:
        while not session.proceeded.is_set():
            session.proposes += 1
            await self._service.send_to_user(session.user_id, self._propose(session))
            try:
                async with asyncio.timeout(self.propose_interval):
                    await session.proceeded.wait()
            except TimeoutError:
                continue

    async def propose_again(self, conversation_id: str) -> None:
        """Send the conversation's propose once more (a gateway that missed the proceed)."""
        session = self.session_for(conversation_id)
        assert session is not None
        session.proposes += 1
        await self._service.send_to_user(session.user_id, self._propose(session))

    async def _on_message(self, stream: XmppSession, message: Element) -> None:
        proceed = message.find(tag(NS_JINGLE_MESSAGE, "proceed"))
        session = self.sessions.get(proceed.get("id", "")) if proceed is not None else None
        if session is None or message.get("to") != session.gateway_jid:
            return
        session.proceeds += 1
        if session.proceeded_by is not None or session.retracted:
            return
        session.proceeded_by = stream.full_jid
        session.proceeded.set()
        if self.sdp_over_xmpp:
            self._spawn(self._send_offer(session, renegotiate=False))

    # ------------------------------------------------------------------ offering

    def _ice_servers(self) -> list[IceServer]:
        servers = []
        for service in self._service.services:
            url = f"{service.type}:{service.host}:{service.port}"
            if service.type.startswith("turn") and service.transport != "udp":
                url += f"?transport={service.transport}"
            servers.append(IceServer([url], service.username, service.password))
        return servers

    async def _send_offer(self, session: GatewaySession, *, renegotiate: bool) -> None:
        if session.peer is None:
            assert self.media_factory is not None
            session.peer = self.media_factory(session.conversation_id)
        sdp = await session.peer.offer(self._ice_servers())
        session.offer = (str(uuid.uuid4()), sdp)
        fragments = [
            f"m=audio 9 UDP/TLS/RTP/SAVPF 96 101\r\na={c}" for c in _CANDIDATE.findall(sdp)
        ]
        if self.early_candidates and not renegotiate:
            for fragment in fragments:
                await self._rpc(session, "iceCandidate", {"sdp": fragment})
        await self.resend_offer(session.conversation_id, session)
        if not self.early_candidates or renegotiate:
            for fragment in fragments:
                await self._rpc(session, "iceCandidate", {"sdp": fragment})

    async def resend_offer(
        self,
        conversation_id: str,
        session: GatewaySession | None = None,
        *,
        reinvite: bool = False,
    ) -> None:
        """Send the session's current offer (again: the same JSON-RPC id)."""
        session = session or self.session_for(conversation_id)
        assert session is not None
        assert session.offer is not None
        rpc_id, sdp = session.offer
        params: dict[str, Any] = {
            "sessionId": session.session_id,
            "conversationId": session.conversation_id,
            "sdp": sdp,
        }
        if reinvite:
            params["reinvite"] = True
        await self._rpc(session, "offer", params, rpc_id=rpc_id)

    async def reinvite(self, conversation_id: str, *, attempts: int = 10) -> None:
        """Re-invite the call's session (``reinvite: true``, the peer's new offer), re-sending
        the same offer every ``propose_interval`` until it is answered, as the gateway does."""
        session = self.session_for(conversation_id)
        assert session is not None
        assert session.peer is not None
        session.offer = (str(uuid.uuid4()), await session.peer.offer(self._ice_servers()))
        answered = len(session.answers)
        for _ in range(attempts):
            await self.resend_offer(conversation_id, session, reinvite=True)
            await asyncio.sleep(self.propose_interval)
            if len(session.answers) > answered:
                return

    async def _rpc(
        self,
        session: GatewaySession,
        method: str,
        params: dict[str, Any],
        *,
        rpc_id: str | None = None,
    ) -> None:
        to = self._service.sessions.get(session.proceeded_by or "")
        if to is None:
            return  # the stream is gone; the gateway does not queue
        body = {
            "jsonrpc": "2.0",
            "id": rpc_id or str(uuid.uuid4()),
            "method": method,
            "params": {"sessionId": session.session_id, **params},
        }
        text = escape(json.dumps(body))
        payload = f"<genesys-webrtc xmlns={quoteattr(NS_GENESYS)}>{text}</genesys-webrtc>"
        await to.send(
            iq_text("set", uuid.uuid4().hex, payload, from_=session.gateway_jid, to=to.full_jid)
        )

    async def _on_rpc(self, stream: XmppSession, request: Element) -> None:
        payload = request.find(tag(NS_GENESYS, "genesys-webrtc"))
        try:
            body = json.loads(payload.text or "") if payload is not None else None
        except ValueError:
            return
        if not isinstance(body, dict) or not isinstance(params := body.get("params"), dict):
            return
        session = self.sessions.get(str(params.get("sessionId")))
        if session is None or session.proceeded_by != stream.full_jid:
            return
        match body.get("method"):
            case "answer" if isinstance(params.get("sdp"), str):
                await self._on_answer(session, params["sdp"])
            case "iceCandidate" if isinstance(params.get("sdp"), str):
                await self._on_candidate(session, params["sdp"])
            case "info":
                session.infos.append(str(params.get("status")))
            case "terminate":
                await self._on_terminate(session)

    async def _on_answer(self, session: GatewaySession, sdp: str) -> None:
        session.answers.append(sdp)
        if session.persistent:
            self._persistent[session.user_id] = session
        if session.peer is not None:
            await session.peer.accept_answer(sdp)
        conversation = self._calls.conversations.get(session.conversation_id)
        if conversation is None:
            return
        leg = conversation.user_participant(session.user_id)
        if leg is not None and leg.state == "alerting" and len(session.answers) == 1:
            await self._calls.answer(conversation)

    async def _on_candidate(self, session: GatewaySession, fragment: str) -> None:
        lines = fragment.splitlines()
        mid = next((line[2:].split(" ", 1)[0] for line in lines if line.startswith("m=")), None)
        candidate = next((line[2:] for line in lines if line.startswith("a=candidate:")), None)
        if candidate is None:
            return  # end-of-candidates
        session.candidates.append((mid, candidate))
        if session.peer is not None:
            await session.peer.add_remote_candidate(candidate, mid, None)

    async def _on_terminate(self, session: GatewaySession) -> None:
        if session.terminated_by is not None:
            return
        session.terminated_by = "client"
        await self._close_peer(session)
        conversation = self._calls.conversations.get(session.conversation_id)
        leg = conversation.user_participant(session.user_id) if conversation else None
        if conversation is not None and leg is not None and leg.active:
            await self._calls.hang_up(conversation, leg)

    async def _close_peer(self, session: GatewaySession) -> None:
        peer, session.peer = session.peer, None
        self._persistent.pop(session.user_id, None)
        if peer is not None:
            await peer.close()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
