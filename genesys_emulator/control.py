"""The control surface: drive the emulated org from tests, the demo or a person.

The Python API is ``emulator.control`` (every call publishes its notification events before it
returns). The same operations over HTTP, JSON in and out, never under ``/api/v2``:

======  =========================================  ============================================
POST    /_emulator/users                           {name, email} → {id, name, email}
POST    /_emulator/stations                        {userId} → {id, name, userId}
POST    /_emulator/calls/inbound                   {userId?, queueName?, ani?} → {conversationId}
POST    /_emulator/calls/outbound                  {userId?, number?} → {conversationId}
POST    /_emulator/calls/direct                    {userId?, ani?} → {conversationId}
POST    /_emulator/calls/{id}/answer
POST    /_emulator/calls/{id}/hold                 {held: bool}
POST    /_emulator/calls/{id}/mute                 {muted: bool, by?: "desktop"|"supervisor"}
POST    /_emulator/calls/{id}/customer-hangup
POST    /_emulator/calls/{id}/agent-disconnect
POST    /_emulator/calls/{id}/wrapup               {code?: wrap-up code id, skip?: bool}
POST    /_emulator/calls/{id}/transfer
POST    /_emulator/calls/{id}/consult              {number?} → {participantId}
POST    /_emulator/users/{id}/presence             {systemPresence} or {presenceId}
POST    /_emulator/queues                          {name, wrapupPrompt?, wrapupCodes?: [name]}
                                                   → {id, name, wrapupPrompt, wrapupCodes}
POST    /_emulator/presences                       {label, systemPresence, languageLabels?,
                                                   deactivated?} → OrganizationPresence
POST    /_emulator/users/{id}/routing-status       {status}
POST    /_emulator/websockets/drop                 → {count}
POST    /_emulator/websockets/socket-closing       → {count}
POST    /_emulator/websockets/raw                  {text, userId?} → {count}
POST    /_emulator/websockets/burst                {texts, userId?} → {count}
POST    /_emulator/channels/expire                 → {count}
POST    /_emulator/tokens/expire
POST    /_emulator/tokens/revoke                   {userId?} → {count}
POST    /_emulator/restart
POST    /_emulator/faults/fail-next                {count, status?, pathPrefix?, retryAfter?}
POST    /_emulator/faults/fail-after-applying      {count, status?, pathPrefix?}
POST    /_emulator/faults/latency                  {seconds}
POST    /_emulator/faults/heartbeats               {enabled: bool}
POST    /_emulator/faults/clear
POST    /_emulator/topics/withhold                 {topic, missingPermissions?: [str] | null}
POST    /_emulator/auto-approve                    {enabled: bool}
POST    /_emulator/webrtc-media                    {enabled: bool}
POST    /_emulator/stations/{id}/persistent        {enabled: bool} (webRtcPersistentEnabled)
POST    /_emulator/streaming/ice-servers           {services: [{type, host, port, transport?,
                                                   username?, password?}]} (extdisco's answer)
POST    /_emulator/streaming/drop                  → {count}
POST    /_emulator/streaming/raw                   {text, userId?} → {count}
POST    /_emulator/streaming/auto-answer           {userId, enabled: bool}
GET     /_emulator/audit[?userId=]                 → {entities: [audit records]}
GET     /_emulator/calls/{id}/media[?since=]       → what Genesys received of the agent's audio
GET     /_emulator/state                           → users, queues, calls (REST shapes), channels,
                                                   streams, softphoneSessions
======  =========================================  ============================================

Every request must carry the run's token (``emulator.control.token``, random per run; the demo
prints it and writes it for ``ctl``) in ``X-Emulator-Token`` (401 otherwise), a POST must say
``Content-Type: application/json`` (415 otherwise), and a request whose ``Origin`` is not the
emulator's own is refused (403). A web page open while the demo runs can therefore not drive it:
its cross-origin ``text/plain`` POST, the one kind a browser sends without asking first, has
neither the token nor the content type.

Errors come back as Genesys ``ErrorBody`` (e.g. 404 ``not.found`` for an unknown call); a request
that is not valid JSON of the right shape gets 400 ``bad.request``.
"""

from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
import hmac
import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import wire
from .errors import ApiError
from .state import (
    AGENT_PERMISSIONS,
    DEFAULT_WRAPUP_CODES,
    AuditRecord,
    Conversation,
    Participant,
    PresenceDefinition,
    Queue,
    Station,
    User,
    utcnow,
)
from .streaming.service import ExternalService

if TYPE_CHECKING:
    from .server import Emulator

MUTERS = frozenset({"desktop", "supervisor"})
TOKEN_HEADER = "X-Emulator-Token"  # noqa: S105 (a header name, not a secret)

Action = Callable[["Control", web.Request, dict[str, Any]], Awaitable[Any]]
Handler = Callable[[web.Request], Awaitable[web.Response]]


class Control:
    """Operations a real org would see done by its people, its network or its operators."""

    def __init__(self, emulator: Emulator) -> None:
        """Drive ``emulator``; HTTP callers must present ``token``."""
        self._emu = emulator
        self.token = secrets.token_urlsafe(24)

    # ------------------------------------------------------------------ org

    def _user(self, user_id: str | None) -> User:
        user = self._emu.org.users.get(user_id or self._emu.demo_agent.id)
        if user is None:
            raise ApiError("not.found")
        return user

    async def create_user(
        self, name: str, email: str, *, permissions: frozenset[str] = AGENT_PERMISSIONS
    ) -> User:
        """Add a user to the org (ids derive from the email)."""
        return self._emu.org.add_user(name, email, permissions)

    async def create_station(self, user_id: str) -> Station:
        """Give a user a WebRTC station."""
        return self._emu.org.add_station(self._user(user_id))

    async def set_webrtc_media(self, enabled: bool) -> None:
        """Calls to WebRTC stations with real media (an aiortc peer each), or signalling only."""
        self._emu.enable_webrtc_media(enabled)

    async def configure_queue(
        self,
        name: str,
        *,
        wrapup_prompt: str = "optional",
        wrapup_codes: Sequence[str] = DEFAULT_WRAPUP_CODES,
    ) -> Queue:
        """Create or reconfigure a queue: ``mandatory`` or ``optional`` wrap-up, its codes."""
        with _invalid_is_bad_request():
            return self._emu.org.set_queue(name, wrapup_prompt, wrapup_codes)

    async def add_presence(
        self,
        label: str,
        system_presence: str,
        *,
        translations: dict[str, str] | None = None,
        deactivated: bool = False,
    ) -> PresenceDefinition:
        """Add a secondary presence under a system presence (``translations``: locale → label)."""
        with _invalid_is_bad_request():
            return self._emu.org.add_presence(
                label, system_presence, translations, deactivated=deactivated
            )

    async def set_presence(self, user_id: str, system_presence: str) -> None:
        """Change a user's presence to a system one (as the user would in Genesys' UI)."""
        try:
            definition = self._emu.org.system_presence(system_presence)
        except KeyError as err:
            raise ApiError("bad.request", reason=f"unknown presence {system_presence}") from err
        await self._emu.presences.set_presence(self._user(user_id), definition)

    async def set_presence_definition(self, user_id: str, presence_id: str) -> None:
        """Change a user's presence to any of the org's definitions (a secondary one, say)."""
        definition = self._emu.org.presences.get(presence_id)
        if definition is None:
            raise ApiError("bad.request", reason=f"unknown presence definition {presence_id}")
        await self._emu.presences.set_presence(self._user(user_id), definition)

    async def set_routing_status(self, user_id: str, status: str) -> None:
        """Change a user's ACD routing status."""
        with _invalid_is_bad_request():
            await self._emu.presences.set_routing_status(self._user(user_id), status)

    # ------------------------------------------------------------------ calls

    async def start_inbound_call(
        self,
        user_id: str | None = None,
        *,
        queue_name: str = "Support",
        ani: str = "tel:+13175550100",
    ) -> str:
        """A customer calls; the queue offers the call to the user (default: the demo agent)."""
        conversation = await self._emu.calls.start_inbound(self._user(user_id), queue_name, ani)
        return conversation.id

    async def start_direct_call(
        self, user_id: str | None = None, *, ani: str = "tel:+13175550155"
    ) -> str:
        """Someone dials the user's own number (default: the demo agent's): no queue."""
        conversation = await self._emu.calls.start_direct(self._user(user_id), ani)
        return conversation.id

    async def start_outbound_call(
        self, user_id: str | None = None, *, number: str = "tel:+13175550111"
    ) -> str:
        """The user (default: the demo agent) dials a number."""
        conversation = await self._emu.calls.start_outbound(self._user(user_id), number)
        return conversation.id

    def _agent(self, conversation_id: str) -> tuple[Conversation, Participant]:
        conversation = self._emu.calls.get(conversation_id)
        return conversation, self._emu.calls.agent_leg(conversation)

    async def answer(self, conversation_id: str) -> None:
        """The agent picks up (inbound), or the called party answers (outbound)."""
        await self._emu.calls.answer(self._emu.calls.get(conversation_id))

    async def set_hold(self, conversation_id: str, held: bool) -> None:
        """The agent holds or resumes the call."""
        await self._emu.calls.set_hold(*self._agent(conversation_id), held)

    async def set_mute(self, conversation_id: str, muted: bool, *, by: str = "desktop") -> None:
        """Mute the agent from Genesys' desktop or by a supervisor, as the API PATCH would."""
        if by not in MUTERS:
            raise ApiError("bad.request", reason=f"by must be one of {sorted(MUTERS)}")
        conversation, agent = self._agent(conversation_id)
        await self._emu.calls.set_mute(conversation, agent, muted)
        actor = self._emu.supervisor.id if by == "supervisor" else agent.user_id
        self._emu.audit.append(
            AuditRecord(
                time=utcnow(),
                method="PATCH",
                path=f"/api/v2/conversations/calls/{conversation.id}/participants/{agent.id}",
                user_id=actor,
                body={"muted": muted},
                status=202,
                source=by,
            )
        )

    async def customer_hangup(self, conversation_id: str) -> None:
        """The customer (or called party) hangs up."""
        await self._emu.calls.customer_hangup(self._emu.calls.get(conversation_id))

    async def agent_disconnect(self, conversation_id: str) -> None:
        """The agent hangs up from the desktop."""
        await self._emu.calls.hang_up(*self._agent(conversation_id))

    async def complete_wrapup(self, conversation_id: str, *, code_id: str | None = None) -> None:
        """The agent finishes wrap-up with a code (default: the queue's first, the default one)."""
        conversation, agent = self._agent(conversation_id)
        calls = self._emu.calls
        code = code_id or calls.awaited_wrapup(agent).wrapup_codes[0].id
        await calls.submit_wrapup(conversation, agent, code)

    async def skip_wrapup(self, conversation_id: str) -> None:
        """The agent skips wrap-up (refused when the queue's wrap-up is mandatory)."""
        await self._emu.calls.skip_wrapup(*self._agent(conversation_id))

    async def transfer_away(self, conversation_id: str) -> None:
        """The agent transfers the customer back to the queue."""
        await self._emu.calls.transfer_away(self._emu.calls.get(conversation_id))

    async def start_consult(self, conversation_id: str, *, number: str = "tel:+13175550122") -> str:
        """The agent consults a third party (same conversation); returns its participant id."""
        consulted = await self._emu.calls.start_consult(
            self._emu.calls.get(conversation_id), number
        )
        return consulted.id

    # ------------------------------------------------------------------ sessions

    async def drop_websockets(self) -> int:
        """Cut every websocket's TCP connection without a close frame; channels stay valid."""
        return await self._emu.hub.drop_connections()

    async def send_socket_closing(self) -> int:
        """Announce maintenance on every socket; they close after the grace period."""
        return await self._emu.hub.send_socket_closing()

    async def expire_channels(self) -> int:
        """Every channel expires now (sockets closed, ids unknown from now on)."""
        count = len(self._emu.hub.channels)
        await self._emu.hub.reset(abort=False)
        return count

    async def expire_access_tokens(self) -> None:
        """Every access token expires now (refresh tokens still work)."""
        self._emu.tokens.expire_access_tokens()

    async def revoke_tokens(self, user_id: str | None = None) -> int:
        """Revoke every access and refresh token of a user (or of everyone)."""
        return self._emu.tokens.revoke(user_id=user_id)

    async def restart(self) -> None:
        """Lose every channel, token, auth code and call; keep users, stations and clients."""
        await self._emu.restart()

    async def set_auto_approve(self, enabled: bool) -> None:
        """Switch the login page off (codes at once) or on."""
        self._emu.login.auto_approve = enabled

    # ------------------------------------------------------------------ faults

    async def fail_next(
        self,
        count: int,
        *,
        status: int | str = 503,
        path_prefix: str = "/api/v2",
        retry_after: int = 1,
    ) -> None:
        """The next ``count`` requests under ``path_prefix`` fail.

        ``status``: 503, 500, 504, 429 (with ``Retry-After``) or "timeout" (no answer at all).
        """
        with _invalid_is_bad_request():
            self._emu.faults.fail_next(count, status, path_prefix, retry_after)

    async def fail_after_applying(
        self, count: int, *, status: int | str = 503, path_prefix: str = "/api/v2"
    ) -> None:
        """The next ``count`` requests under ``path_prefix`` are applied, then their answer fails.

        ``status``: as for ``fail_next``; "timeout" applies the request and never answers.
        """
        with _invalid_is_bad_request():
            self._emu.faults.fail_next(count, status, path_prefix, 0, after_applying=True)

    async def set_latency(self, seconds: float) -> None:
        """Delay every HTTP answer (the control surface excepted)."""
        self._emu.faults.latency = seconds

    async def clear_faults(self) -> None:
        """No more injected failures, latency or silence."""
        self._emu.faults.clear()
        self._emu.hub.heartbeats_enabled = True

    async def stop_heartbeats(self) -> None:
        """Sockets stay open but the server goes silent (no heartbeats, no pongs)."""
        self._emu.hub.heartbeats_enabled = False

    async def resume_heartbeats(self) -> None:
        """Heartbeats and pongs again."""
        self._emu.hub.heartbeats_enabled = True

    async def withhold_topic(
        self, topic: str, missing_permissions: list[str] | None = None
    ) -> None:
        """Refuse subscriptions to a user topic (``conversations.calls``, …) from now on.

        As if the login lacked ``missing_permissions``; None grants the topic again.
        """
        self._emu.hub.withhold_topic(topic, missing_permissions)

    async def send_raw_frame(self, text: str, user_id: str | None = None) -> int:
        """Write any text frame to every socket (of a user); returns how many got it."""
        return await self._emu.hub.send_raw(text, user_id)

    async def send_raw_burst(self, texts: list[str], user_id: str | None = None) -> int:
        """Write text frames back to back, as a flood arrives; returns how many sockets got them."""
        return await self._emu.hub.send_burst(texts, user_id)

    # ------------------------------------------------------------------ softphone

    async def set_station_persistent(self, station_id: str, enabled: bool) -> None:
        """Turn the station's persistent connection (``webRtcPersistentEnabled``) on or off."""
        station = self._emu.org.stations.get(station_id)
        if station is None:
            raise ApiError("not.found")
        station.persistent = enabled

    async def set_ice_servers(self, services: list[ExternalService]) -> None:
        """What extdisco hands out from now on (no STUN: clients go relay-only)."""
        self._emu.streaming.services = services

    async def drop_streaming(self) -> int:
        """Cut every streaming (XMPP) socket without a close."""
        return await self._emu.streaming.drop_connections()

    async def send_raw_stanza(self, text: str, user_id: str | None = None) -> int:
        """Write any frame to every streaming socket (of a user)."""
        return await self._emu.streaming.send_raw(text, user_id)

    async def set_auto_answer(self, user_id: str, enabled: bool) -> None:
        """Whether the user's inbound calls are proposed with ``inin-autoanswer``."""
        users = self._emu.gateway.auto_answer_users
        user = self._user(user_id)
        if enabled:
            users.add(user.id)
        else:
            users.discard(user.id)

    # ------------------------------------------------------------------ reading

    def audit_log(self, user_id: str | None = None) -> list[AuditRecord]:
        """The API requests (and elsewhere-mutes) made by a user, or by anyone."""
        return [r for r in self._emu.audit if user_id is None or r.user_id == user_id]

    def media_readout(self, conversation_id: str, since: int = 0) -> dict[str, Any]:
        """The call's WebRTC media as Genesys received it, frame by frame (see ``MediaPeer``)."""
        peer = self._emu.media_peer_of(conversation_id)
        if peer is None:
            raise ApiError("not.found")
        return peer.readout(since)

    def state(self) -> dict[str, Any]:
        """A snapshot for people and tools."""
        emu = self._emu
        return {
            "users": [
                {
                    "id": u.id,
                    "name": u.name,
                    "email": u.email,
                    "stationId": u.station_id,
                    "presence": u.presence.system_presence,
                    "presenceId": u.presence.id,
                    "routingStatus": u.routing_status,
                }
                for u in emu.org.users.values()
            ],
            "queues": [_queue(q) for q in emu.org.queues.values()],
            "conversations": [
                wire.call_conversation(c, rest=True) for c in emu.calls.conversations.values()
            ],
            "channels": [
                {"id": c.id, "userId": c.user_id, "topics": c.topics, "connected": c.connected}
                for c in emu.hub.channels.values()
            ],
            "streams": [
                {"userId": s.user.id, "resource": s.resource, "channelId": s.channel_id}
                for s in emu.streaming.sessions.values()
            ],
            "softphoneSessions": [
                {
                    "sessionId": s.session_id,
                    "conversationId": s.conversation_id,
                    "userId": s.user_id,
                    "proposes": s.proposes,
                    "proceeds": s.proceeds,
                    "answers": len(s.answers),
                    "infos": s.infos,
                    "retracted": s.retracted,
                    "terminatedBy": s.terminated_by,
                }
                for s in emu.gateway.sessions.values()
            ],
        }

    # ------------------------------------------------------------------ HTTP

    def add_routes(self, app: web.Application) -> None:
        """Register ``/_emulator/*``."""
        for path, action in _ACTIONS.items():
            app.router.add_post(f"/_emulator/{path}", self._guarded(self._handler(action)))
        app.router.add_get("/_emulator/audit", self._guarded(self._audit))
        app.router.add_get("/_emulator/state", self._guarded(self._state))
        app.router.add_get("/_emulator/calls/{conversation_id}/media", self._guarded(self._media))

    def _guarded(self, handler: Handler) -> Handler:
        """Every control route, reads too, answers only the run's own tools."""

        async def guard(request: web.Request) -> web.Response:
            if (refusal := self._refusal(request)) is not None:
                return refusal
            return await handler(request)

        return guard

    def _refusal(self, request: web.Request) -> web.Response | None:
        """Why this request may not drive the emulator, as a response; None when it may."""
        origin = request.headers.get("Origin")
        if origin is not None and origin != self._emu.base_url:
            return _refuse(403, "forbidden", "requests from another origin are refused")
        if not hmac.compare_digest(
            request.headers.get(TOKEN_HEADER, "").encode(), self.token.encode()
        ):
            return _refuse(
                401, "bad.token", f"the {TOKEN_HEADER} header must carry this run's token"
            )
        if request.method == "POST" and request.content_type != "application/json":
            return _refuse(415, "unsupported.media.type", "the body must be application/json")
        return None

    def _handler(self, action: Action) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            body = await request.json() if request.can_read_body else {}
            if not isinstance(body, dict):
                raise ApiError("bad.request", reason="the body must be a JSON object")
            try:
                result = await action(self, request, body)
            except (KeyError, TypeError) as err:
                raise ApiError("bad.request", reason=f"bad or missing field {err}") from err
            return web.json_response(result if result is not None else {})

        return handle

    async def _audit(self, request: web.Request) -> web.Response:
        records = self.audit_log(request.query.get("userId"))
        entities = [
            {
                "time": wire.iso(r.time),
                "method": r.method,
                "path": r.path,
                "userId": r.user_id,
                "body": r.body,
                "status": r.status,
                "source": r.source,
            }
            for r in records
        ]
        return web.json_response({"entities": entities})

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(self.state())

    async def _media(self, request: web.Request) -> web.Response:
        if (refusal := self._refusal(request)) is not None:
            return refusal
        try:
            since = int(request.query.get("since", "0"))
        except ValueError as err:
            raise ApiError("bad.request", reason="since must be a frame index") from err
        return web.json_response(self.media_readout(_call(request), since))


@contextmanager
def _invalid_is_bad_request() -> Iterator[None]:
    """A value the org refuses (``ValueError``) is answered 400 ``bad.request``."""
    try:
        yield
    except ValueError as err:
        raise ApiError("bad.request", reason=str(err)) from err


def _refuse(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"status": status, "code": code, "message": message}, status=status)


def _call(request: web.Request) -> str:
    return request.match_info["conversation_id"]


def _user_id(request: web.Request) -> str:
    return request.match_info["user_id"]


async def _create_user(c: Control, r: web.Request, b: dict[str, Any]) -> dict[str, Any]:
    user = await c.create_user(b["name"], b["email"])
    return {"id": user.id, "name": user.name, "email": user.email}


async def _create_station(c: Control, r: web.Request, b: dict[str, Any]) -> dict[str, Any]:
    station = await c.create_station(b["userId"])
    return {"id": station.id, "name": station.name, "userId": station.user_id}


async def _inbound(c: Control, r: web.Request, b: dict[str, Any]) -> dict[str, Any]:
    options = {k: b[f] for k, f in (("queue_name", "queueName"), ("ani", "ani")) if f in b}
    return {"conversationId": await c.start_inbound_call(b.get("userId"), **options)}


async def _outbound(c: Control, r: web.Request, b: dict[str, Any]) -> dict[str, Any]:
    options = {"number": b["number"]} if "number" in b else {}
    return {"conversationId": await c.start_outbound_call(b.get("userId"), **options)}


async def _consult(c: Control, r: web.Request, b: dict[str, Any]) -> dict[str, Any]:
    options = {"number": b["number"]} if "number" in b else {}
    return {"participantId": await c.start_consult(_call(r), **options)}


async def _direct(c: Control, r: web.Request, b: dict[str, Any]) -> dict[str, Any]:
    options = {"ani": b["ani"]} if "ani" in b else {}
    return {"conversationId": await c.start_direct_call(b.get("userId"), **options)}


async def _wrapup(c: Control, r: web.Request, b: dict[str, Any]) -> None:
    if b.get("skip"):
        await c.skip_wrapup(_call(r))
    else:
        await c.complete_wrapup(_call(r), code_id=b.get("code"))


def _queue(queue: Queue) -> dict[str, Any]:
    return {
        "id": queue.id,
        "name": queue.name,
        "wrapupPrompt": queue.wrapup_prompt,
        "wrapupCodes": [{"id": code.id, "name": code.name} for code in queue.wrapup_codes],
    }


async def _configure_queue(c: Control, r: web.Request, b: dict[str, Any]) -> dict[str, Any]:
    options = {k: b[f] for k, f in (("wrapup_prompt", "wrapupPrompt"),) if f in b}
    if "wrapupCodes" in b:
        options["wrapup_codes"] = [str(name) for name in b["wrapupCodes"]]
    return _queue(await c.configure_queue(b["name"], **options))


async def _add_presence(c: Control, r: web.Request, b: dict[str, Any]) -> dict[str, Any]:
    definition = await c.add_presence(
        b["label"],
        b["systemPresence"],
        translations=b.get("languageLabels"),
        deactivated=bool(b.get("deactivated", False)),
    )
    return wire.organization_presence(definition)


async def _presence(c: Control, r: web.Request, b: dict[str, Any]) -> None:
    if "presenceId" in b:
        await c.set_presence_definition(_user_id(r), b["presenceId"])
    else:
        await c.set_presence(_user_id(r), b["systemPresence"])


def _external_service(item: dict[str, Any]) -> ExternalService:
    return ExternalService(
        type=str(item["type"]),
        host=str(item["host"]),
        port=int(item["port"]),
        transport=str(item.get("transport", "udp")),
        username=item.get("username"),
        password=item.get("password"),
    )


async def _counted(count: Awaitable[int]) -> dict[str, int]:
    return {"count": await count}


_ACTIONS: dict[str, Action] = {
    "users": _create_user,
    "stations": _create_station,
    "calls/inbound": _inbound,
    "calls/outbound": _outbound,
    "calls/direct": _direct,
    "calls/{conversation_id}/answer": lambda c, r, b: c.answer(_call(r)),
    "calls/{conversation_id}/hold": lambda c, r, b: c.set_hold(_call(r), bool(b["held"])),
    "calls/{conversation_id}/mute": lambda c, r, b: c.set_mute(
        _call(r), bool(b["muted"]), by=b.get("by", "desktop")
    ),
    "calls/{conversation_id}/customer-hangup": lambda c, r, b: c.customer_hangup(_call(r)),
    "calls/{conversation_id}/agent-disconnect": lambda c, r, b: c.agent_disconnect(_call(r)),
    "calls/{conversation_id}/wrapup": _wrapup,
    "calls/{conversation_id}/transfer": lambda c, r, b: c.transfer_away(_call(r)),
    "calls/{conversation_id}/consult": _consult,
    "users/{user_id}/presence": _presence,
    "queues": _configure_queue,
    "presences": _add_presence,
    "users/{user_id}/routing-status": lambda c, r, b: c.set_routing_status(
        _user_id(r), b["status"]
    ),
    "websockets/drop": lambda c, r, b: _counted(c.drop_websockets()),
    "websockets/socket-closing": lambda c, r, b: _counted(c.send_socket_closing()),
    "websockets/raw": lambda c, r, b: _counted(c.send_raw_frame(b["text"], b.get("userId"))),
    "websockets/burst": lambda c, r, b: _counted(
        c.send_raw_burst([str(text) for text in b["texts"]], b.get("userId"))
    ),
    "channels/expire": lambda c, r, b: _counted(c.expire_channels()),
    "tokens/expire": lambda c, r, b: c.expire_access_tokens(),
    "tokens/revoke": lambda c, r, b: _counted(c.revoke_tokens(b.get("userId"))),
    "restart": lambda c, r, b: c.restart(),
    "faults/fail-next": lambda c, r, b: c.fail_next(
        int(b["count"]),
        status=b.get("status", 503),
        path_prefix=b.get("pathPrefix", "/api/v2"),
        retry_after=int(b.get("retryAfter", 1)),
    ),
    "faults/fail-after-applying": lambda c, r, b: c.fail_after_applying(
        int(b["count"]),
        status=b.get("status", 503),
        path_prefix=b.get("pathPrefix", "/api/v2"),
    ),
    "faults/latency": lambda c, r, b: c.set_latency(float(b["seconds"])),
    "faults/heartbeats": lambda c, r, b: (
        c.resume_heartbeats() if b["enabled"] else c.stop_heartbeats()
    ),
    "faults/clear": lambda c, r, b: c.clear_faults(),
    "auto-approve": lambda c, r, b: c.set_auto_approve(bool(b["enabled"])),
    "webrtc-media": lambda c, r, b: c.set_webrtc_media(bool(b["enabled"])),
    "stations/{station_id}/persistent": lambda c, r, b: c.set_station_persistent(
        r.match_info["station_id"], bool(b["enabled"])
    ),
    "streaming/ice-servers": lambda c, r, b: c.set_ice_servers(
        [_external_service(item) for item in b["services"]]
    ),
    "streaming/drop": lambda c, r, b: _counted(c.drop_streaming()),
    "streaming/raw": lambda c, r, b: _counted(c.send_raw_stanza(b["text"], b.get("userId"))),
    "streaming/auto-answer": lambda c, r, b: c.set_auto_answer(b["userId"], bool(b["enabled"])),
    "topics/withhold": lambda c, r, b: c.withhold_topic(
        str(b["topic"]), b.get("missingPermissions", [])
    ),
}
