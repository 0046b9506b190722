"""The platform API routes the integration uses, with Genesys' shapes and errors.

* ``GET /api/v2/users/me[?expand=station,presence,routingStatus]`` — user token only;
* ``GET|PATCH /api/v2/users/{id}/presences/purecloud``, ``GET /api/v2/users/{id}/routingstatus``;
* ``GET /api/v2/presencedefinitions[/{id}]`` (``OrganizationPresence``, paged listing,
  ``?deleted=TRUE|FALSE|ALL``) and ``GET /api/v2/presence/definitions[/{id}]``
  (``OrganizationPresenceDefinition``, ``{entities, total, selfUri}``, ``?deactivated=TRUE|FALSE``);
* ``GET /api/v2/stations/{id}``;
* ``GET /api/v2/routing/queues/{id}/wrapupcodes[?pageSize&pageNumber&name]``
  (``WrapupCodeEntityListing``; ``name`` may end in ``*``);
* ``GET|POST /api/v2/conversations/calls`` (the user's active calls / place a call),
  ``GET /api/v2/conversations/calls/{id}``;
* ``PATCH /api/v2/conversations/calls/{id}/participants/{pid}`` with a
  ``MediaParticipantRequest`` (``muted``, ``held``, ``state: connected|disconnected``, ``wrapup`` /
  ``wrapupSkipped``) — 202 with no body; the new state arrives as notification events (see
  `calls.py` for what each state allows);
* ``POST …/participants/{pid}/replace`` with a ``TransferRequest`` ``{"voicemail": true}``: a
  direct call goes to the user's voicemail — 202, no body;
* ``GET …/participants/{pid}/wrapupcodes``: the codes of the participant's queue (a list);
* ``GET|HEAD|DELETE /api/v2/tokens/me``.

The participant PATCH and replace check, in order: a user token (400 ``not.a.user``), the body
(400 ``bad.request``), the caller's permissions (403 ``missing.permissions``), the conversation
(404 ``not.found``), the caller's participation (404
``conversation.error.not.conversation.participant``), the target participant (404 ``not.found``),
then the call's state (400 ``conversation.error.call.disconnected``,
``conversation.error.hold.alerting``, ``conversation.error.wrapup.code.required``,
``conversation.error.wrapup.cannot.skip``, ``bad.request``). Any participant of a call may change
any participant of it, as in Genesys' own calls tutorial.

The presence PATCH takes ``presenceDefinition.id`` and/or ``message`` (and ``primary``) and
answers 200 with the new ``UserPresence``: an unknown or deactivated definition is 400
``bad.request``; a user token may change only its own user's presence (403 ``not.authorized``),
a client-credentials token anyone's.

UNCONFIRMED and chosen: the events are published before the answer is sent; ``GET`` of a
conversation by id is allowed to any token of the org; replace answers 202 (the SDK expects no
body) and emulates only ``voicemail``; without ``deleted`` / ``deactivated`` the definitions
listings hold every definition, deactivated ones included; the listings and wrap-up codes need no
permission.
"""

from collections.abc import Callable
from typing import Any

from aiohttp import web

from . import wire
from .auth import Token, TokenStore
from .calls import CallCenter
from .errors import ApiError
from .presence import Presences
from .state import AGENT_PERMISSIONS, Conversation, Org, Participant, PresenceDefinition, User

PARTICIPANT_FLAGS = ("muted", "held", "confined", "recording", "wrapupSkipped")
PAGE_SIZE = 25
MAX_PAGE_SIZE = 500
TRANSFER_TARGETS = ("userId", "address", "queueId")


def _token(request: web.Request) -> Token:
    token: Token = request["token"]
    return token


class PlatformApi:
    """Handlers of ``/api/v2`` (the notification routes live in `notifications.py`)."""

    def __init__(
        self, org: Org, tokens: TokenStore, calls: CallCenter, presences: Presences
    ) -> None:
        """Serve ``org``'s data."""
        self._org = org
        self._tokens = tokens
        self._calls = calls
        self._presences = presences

    def add_routes(self, app: web.Application) -> None:
        """Register the routes."""
        router = app.router
        router.add_get("/api/v2/users/me", self.users_me)
        router.add_get("/api/v2/users/{user_id}/presences/{source}", self.presence)
        router.add_patch("/api/v2/users/{user_id}/presences/{source}", self.patch_presence)
        router.add_get("/api/v2/users/{user_id}/routingstatus", self.routing_status)
        router.add_get("/api/v2/presencedefinitions", self.organization_presences)
        router.add_get("/api/v2/presencedefinitions/{definition_id}", self.organization_presence)
        router.add_get("/api/v2/presence/definitions", self.presence_definitions)
        router.add_get("/api/v2/presence/definitions/{definition_id}", self.presence_definition)
        router.add_get("/api/v2/stations/{station_id}", self.station)
        router.add_get("/api/v2/routing/queues/{queue_id}/wrapupcodes", self.queue_wrapup_codes)
        router.add_get("/api/v2/conversations/calls", self.list_calls)
        router.add_post("/api/v2/conversations/calls", self.place_call)
        router.add_get("/api/v2/conversations/calls/{conversation_id}", self.get_call)
        participant = "/api/v2/conversations/calls/{conversation_id}/participants/{participant_id}"
        router.add_patch(participant, self.patch_participant)
        router.add_post(participant + "/replace", self.replace_participant)
        router.add_get(participant + "/wrapupcodes", self.participant_wrapup_codes)
        # aiohttp answers HEAD from the GET handler: 200 while the token is good, else 401.
        router.add_get("/api/v2/tokens/me", self.token_info)
        router.add_delete("/api/v2/tokens/me", self.revoke_token)

    def _caller(self, request: web.Request) -> User:
        """The token's user; client credentials have none (400 ``not.a.user``)."""
        user_id = _token(request).user_id
        if user_id is None:
            raise ApiError("not.a.user")
        return self._org.users[user_id]

    def _user(self, request: web.Request) -> User:
        user = self._org.users.get(request.match_info["user_id"])
        if user is None:
            raise ApiError("not.found")
        return user

    # ------------------------------------------------------------------ users and stations

    async def users_me(self, request: web.Request) -> web.Response:
        """``GET /api/v2/users/me``."""
        user = self._caller(request)
        expand = {
            value.strip().lower()
            for values in request.query.getall("expand", [])
            for value in values.split(",")
        }
        return web.json_response(wire.user_me(self._org, user, expand))

    async def presence(self, request: web.Request) -> web.Response:
        """``GET /api/v2/users/{id}/presences/purecloud``."""
        user = self._user(request)
        if request.match_info["source"].lower() != "purecloud":
            raise ApiError("not.found")
        return web.json_response(wire.user_presence(user))

    async def patch_presence(self, request: web.Request) -> web.Response:
        """``PATCH /api/v2/users/{id}/presences/purecloud``: 200 with the new ``UserPresence``."""
        user = self._user(request)
        if request.match_info["source"].lower() != "purecloud":
            raise ApiError("not.found")
        body = await _json_object(request)
        definition, message = self._presence_request(body, user)
        caller = _token(request).user_id
        if caller is not None and caller != user.id:
            raise ApiError("not.authorized")
        await self._presences.set_presence(user, definition, message)
        return web.json_response(wire.user_presence(user))

    def _presence_request(
        self, body: dict[str, Any], user: User
    ) -> tuple[PresenceDefinition, str | None]:
        """A ``UserPresence`` body's definition (the current one if absent) and message."""
        reference, message = body.get("presenceDefinition"), body.get("message")
        if message is not None and not isinstance(message, str):
            raise ApiError("bad.request", reason="message must be a string")
        if not isinstance(body.get("primary", True), bool):
            raise ApiError("bad.request", reason="primary must be a boolean")
        if reference is None:
            if message is None and "primary" not in body:
                raise ApiError("bad.request", reason="presenceDefinition, message or primary")
            return user.presence, message
        if not isinstance(reference, dict) or not isinstance(reference.get("id"), str):
            raise ApiError("bad.request", reason="presenceDefinition.id is required")
        definition = self._org.presences.get(reference["id"])
        if definition is None:
            raise ApiError("bad.request", reason=f"unknown presence definition {reference['id']}")
        if definition.deactivated:
            raise ApiError(
                "bad.request", reason=f"presence definition {definition.id} is deactivated"
            )
        return definition, message

    def _definitions(self, request: web.Request, flag: str) -> list[PresenceDefinition]:
        """The org's definitions, filtered by the ``flag`` query (TRUE, FALSE, ALL)."""
        wanted = request.query.get(flag, "ALL").upper()
        if wanted not in {"TRUE", "FALSE", "ALL"}:
            raise ApiError("bad.request", reason=f"{flag} must be TRUE, FALSE or ALL")
        return [
            d
            for d in self._org.presences.values()
            if wanted == "ALL" or d.deactivated == (wanted == "TRUE")
        ]

    def _definition(self, request: web.Request) -> PresenceDefinition:
        definition = self._org.presences.get(request.match_info["definition_id"])
        if definition is None:
            raise ApiError("not.found")
        return definition

    async def organization_presences(self, request: web.Request) -> web.Response:
        """``GET /api/v2/presencedefinitions`` (``OrganizationPresenceEntityListing``)."""
        entities = [wire.organization_presence(d) for d in self._definitions(request, "deleted")]
        return web.json_response(_page(request, entities))

    async def organization_presence(self, request: web.Request) -> web.Response:
        """``GET /api/v2/presencedefinitions/{id}`` (``OrganizationPresence``)."""
        return web.json_response(wire.organization_presence(self._definition(request)))

    async def presence_definitions(self, request: web.Request) -> web.Response:
        """``GET /api/v2/presence/definitions``."""
        entities = [wire.presence_definition(d) for d in self._definitions(request, "deactivated")]
        return web.json_response(
            {"total": len(entities), "entities": entities, "selfUri": request.path}
        )

    async def presence_definition(self, request: web.Request) -> web.Response:
        """``GET /api/v2/presence/definitions/{id}`` (``OrganizationPresenceDefinition``)."""
        return web.json_response(wire.presence_definition(self._definition(request)))

    async def routing_status(self, request: web.Request) -> web.Response:
        """``GET /api/v2/users/{id}/routingstatus``."""
        return web.json_response(wire.routing_status(self._user(request)))

    async def station(self, request: web.Request) -> web.Response:
        """``GET /api/v2/stations/{id}``."""
        station = self._org.stations.get(request.match_info["station_id"])
        if station is None:
            raise ApiError("not.found")
        return web.json_response(wire.station_entity(station))

    async def queue_wrapup_codes(self, request: web.Request) -> web.Response:
        """``GET /api/v2/routing/queues/{id}/wrapupcodes`` (``WrapupCodeEntityListing``)."""
        queue = self._org.queues.get(request.match_info["queue_id"])
        if queue is None:
            raise ApiError("not.found")
        pattern = request.query.get("name", "*").lower()
        entities = [
            wire.wrapup_code(code) for code in queue.wrapup_codes if _matches(code.name, pattern)
        ]
        return web.json_response(_page(request, entities))

    # ------------------------------------------------------------------ calls

    async def list_calls(self, request: web.Request) -> web.Response:
        """``GET /api/v2/conversations/calls``: the caller's calls that are not over."""
        user = self._caller(request)
        entities = [wire.call_conversation(c, rest=True) for c in self._calls.active_for(user.id)]
        return web.json_response(
            wire.listing(entities, path=request.path, page_size=PAGE_SIZE, page_number=1)
        )

    async def get_call(self, request: web.Request) -> web.Response:
        """``GET /api/v2/conversations/calls/{id}``."""
        conversation = self._calls.get(request.match_info["conversation_id"])
        return web.json_response(wire.call_conversation(conversation, rest=True))

    async def place_call(self, request: web.Request) -> web.Response:
        """``POST /api/v2/conversations/calls`` with ``{"phoneNumber": …}``."""
        user = self._caller(request)
        body = await _json_object(request)
        number = body.get("phoneNumber")
        if not isinstance(number, str) or not number:
            raise ApiError("bad.request", reason="phoneNumber is required")
        if user.station_id is None:
            raise ApiError("conversation.error.no.user.station")
        address = number if number.startswith(("tel:", "sip:")) else f"tel:{number}"
        conversation = await self._calls.start_outbound(user, address)
        return web.json_response(
            {"id": conversation.id, "selfUri": f"/api/v2/conversations/calls/{conversation.id}"}
        )

    async def _target(
        self, request: web.Request, check: Callable[[dict[str, Any]], None]
    ) -> tuple[Conversation, Participant, dict[str, Any]]:
        """The participant a call-control request acts on, after Genesys' checks in order."""
        caller = self._caller(request)
        body = await _json_object(request)
        check(body)
        if not caller.permissions & AGENT_PERMISSIONS:
            raise ApiError("missing.permissions", permissions=", ".join(sorted(AGENT_PERMISSIONS)))
        conversation = self._calls.get(request.match_info["conversation_id"])
        if conversation.user_participant(caller.id) is None:
            raise ApiError("conversation.error.not.conversation.participant")
        participant = conversation.participant(request.match_info["participant_id"])
        if participant is None:
            raise ApiError("not.found")
        return conversation, participant, body

    async def patch_participant(self, request: web.Request) -> web.Response:
        """``PATCH …/participants/{pid}``: 202, empty; the change arrives as events."""
        conversation, participant, body = await self._target(request, _check_participant_request)
        await self._apply(conversation, participant, body)
        return web.Response(status=202)

    async def _apply(
        self, conversation: Conversation, participant: Participant, body: dict[str, Any]
    ) -> None:
        calls = self._calls
        if body.get("state") == "connected":
            await calls.answer(conversation, participant)
        if "held" in body:
            await calls.set_hold(conversation, participant, body["held"])
        if "muted" in body:
            await calls.set_mute(conversation, participant, body["muted"])
        if body.get("state") == "disconnected":
            await calls.hang_up(conversation, participant)
        wrapup = body.get("wrapup")
        if wrapup is not None:
            await calls.submit_wrapup(
                conversation,
                participant,
                wrapup.get("code"),
                notes=wrapup.get("notes"),
                tags=wrapup.get("tags"),
            )
        elif body.get("wrapupSkipped"):
            await calls.skip_wrapup(conversation, participant)

    async def replace_participant(self, request: web.Request) -> web.Response:
        """``POST …/participants/{pid}/replace`` ``{"voicemail": true}``: 202, empty."""
        conversation, participant, _ = await self._target(request, _check_transfer_request)
        await self._calls.to_voicemail(conversation, participant)
        return web.Response(status=202)

    async def participant_wrapup_codes(self, request: web.Request) -> web.Response:
        """``GET …/participants/{pid}/wrapupcodes``: the participant's queue's codes."""
        conversation = self._calls.get(request.match_info["conversation_id"])
        participant = conversation.participant(request.match_info["participant_id"])
        if participant is None:
            raise ApiError("not.found")
        queue = self._org.queues.get(participant.queue_id or "")
        codes = [] if queue is None else queue.wrapup_codes
        return web.json_response([wire.wrapup_code(code) for code in codes])

    # ------------------------------------------------------------------ tokens

    async def token_info(self, request: web.Request) -> web.Response:
        """``GET /api/v2/tokens/me`` (``TokenInfo``)."""
        token = _token(request)
        client = self._org.clients[token.client_id]
        organization = {"id": self._org.id, "name": self._org.name}
        grant = "CODE" if token.user_id else "CLIENT-CREDENTIALS"
        return web.json_response(
            {
                "organization": organization,
                "homeOrganization": organization,
                "authorizedScope": [],
                "OAuthClient": {
                    "id": client.id,
                    "name": client.name,
                    "authorizedGrantType": grant,
                    "state": "active",
                    "organization": organization,
                },
            }
        )

    async def revoke_token(self, request: web.Request) -> web.Response:
        """``DELETE /api/v2/tokens/me``: sign out this grant (access and refresh tokens)."""
        self._tokens.revoke(grant_id=_token(request).grant_id)
        return web.Response()


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as err:
        raise ApiError("bad.request", reason="the body is not JSON") from err
    if not isinstance(body, dict):
        raise ApiError("bad.request", reason="the body must be a JSON object")
    return body


def _page(request: web.Request, entities: list[dict[str, Any]]) -> dict[str, Any]:
    """The page of ``entities`` that ``?pageSize`` and ``?pageNumber`` ask for."""
    try:
        size = int(request.query.get("pageSize", PAGE_SIZE))
        number = int(request.query.get("pageNumber", 1))
    except ValueError as err:
        raise ApiError("bad.request", reason="pageSize and pageNumber are integers") from err
    if not (1 <= size <= MAX_PAGE_SIZE and number >= 1):
        raise ApiError("bad.request", reason=f"pageSize is 1 to {MAX_PAGE_SIZE}, pageNumber 1 on")
    return wire.listing(entities, path=request.path, page_size=size, page_number=number)


def _matches(name: str, pattern: str) -> bool:
    """Genesys' name filter: exact, or a prefix when it ends in ``*`` (case-insensitive)."""
    name = name.lower()
    return name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern


def _check_participant_request(body: dict[str, Any]) -> None:
    """Validate a ``MediaParticipantRequest``'s types and the states one may ask for."""
    for flag in PARTICIPANT_FLAGS:
        if flag in body and not isinstance(body[flag], bool):
            raise ApiError("bad.request", reason=f"{flag} must be a boolean")
    if body.get("state", "connected") not in {"connected", "disconnected"}:
        raise ApiError("bad.request", reason="state may only be connected or disconnected")
    wrapup = body.get("wrapup")
    if wrapup is None:
        return
    if not isinstance(wrapup, dict):
        raise ApiError("bad.request", reason="wrapup must be an object")
    for field in ("code", "name", "notes"):
        if not isinstance(wrapup.get(field, ""), str):
            raise ApiError("bad.request", reason=f"wrapup.{field} must be a string")
    tags = wrapup.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ApiError("bad.request", reason="wrapup.tags must be a list of strings")


def _check_transfer_request(body: dict[str, Any]) -> None:
    """A ``TransferRequest``: only the replacement by voicemail is emulated."""
    if not isinstance(body.get("voicemail", False), bool):
        raise ApiError("bad.request", reason="voicemail must be a boolean")
    if not body.get("voicemail"):
        targets = " or ".join(TRANSFER_TARGETS)
        if any(target in body for target in TRANSFER_TARGETS):
            raise ApiError("bad.request", reason=f"replacing by {targets} is not emulated")
        raise ApiError("bad.request", reason=f"voicemail, {targets} is required")
