"""The platform API routes the integration uses, with Genesys' shapes and errors.

* ``GET /api/v2/users/me[?expand=station,presence,routingStatus]`` — user token only;
* ``GET /api/v2/users/{id}/presences/purecloud``, ``GET /api/v2/users/{id}/routingstatus``;
* ``GET /api/v2/stations/{id}``;
* ``GET|POST /api/v2/conversations/calls`` (the user's active calls / place a call),
  ``GET /api/v2/conversations/calls/{id}``;
* ``PATCH /api/v2/conversations/calls/{id}/participants/{pid}`` with a
  ``MediaParticipantRequest`` (``muted``, ``held``, ``state: connected|disconnected``, ``wrapup`` /
  ``wrapupSkipped``) — 202 with no body; the new state arrives as notification events;
* ``GET|HEAD|DELETE /api/v2/tokens/me``.

The participant PATCH checks, in order: a user token (400 ``not.a.user``), the body (400
``bad.request``), the caller's permissions (403 ``missing.permissions``), the conversation (404
``not.found``), the caller's participation (404
``conversation.error.not.conversation.participant``), the target participant (404 ``not.found``),
then the call's state (400 ``conversation.error.call.disconnected`` /
``conversation.error.hold.alerting``). Any participant of a call may change any participant of it,
as in Genesys' own calls tutorial. UNCONFIRMED and chosen: the events are published before the 202
is sent; ``GET`` of a conversation by id is allowed to any token of the org.
"""

from typing import Any

from aiohttp import web

from . import wire
from .auth import Token, TokenStore
from .calls import CallCenter
from .errors import ApiError
from .state import AGENT_PERMISSIONS, Conversation, Org, Participant, User

PARTICIPANT_FLAGS = ("muted", "held", "confined", "recording", "wrapupSkipped")
PAGE_SIZE = 25


def _token(request: web.Request) -> Token:
    token: Token = request["token"]
    return token


class PlatformApi:
    """Handlers of ``/api/v2`` (the notification routes live in `notifications.py`)."""

    def __init__(self, org: Org, tokens: TokenStore, calls: CallCenter) -> None:
        """Serve ``org``'s data."""
        self._org = org
        self._tokens = tokens
        self._calls = calls

    def add_routes(self, app: web.Application) -> None:
        """Register the routes."""
        router = app.router
        router.add_get("/api/v2/users/me", self.users_me)
        router.add_get("/api/v2/users/{user_id}/presences/{source}", self.presence)
        router.add_get("/api/v2/users/{user_id}/routingstatus", self.routing_status)
        router.add_get("/api/v2/stations/{station_id}", self.station)
        router.add_get("/api/v2/conversations/calls", self.list_calls)
        router.add_post("/api/v2/conversations/calls", self.place_call)
        router.add_get("/api/v2/conversations/calls/{conversation_id}", self.get_call)
        router.add_patch(
            "/api/v2/conversations/calls/{conversation_id}/participants/{participant_id}",
            self.patch_participant,
        )
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

    async def routing_status(self, request: web.Request) -> web.Response:
        """``GET /api/v2/users/{id}/routingstatus``."""
        return web.json_response(wire.routing_status(self._user(request)))

    async def station(self, request: web.Request) -> web.Response:
        """``GET /api/v2/stations/{id}``."""
        station = self._org.stations.get(request.match_info["station_id"])
        if station is None:
            raise ApiError("not.found")
        return web.json_response(wire.station_entity(station))

    # ------------------------------------------------------------------ calls

    async def list_calls(self, request: web.Request) -> web.Response:
        """``GET /api/v2/conversations/calls``: the caller's calls that are not over."""
        user = self._caller(request)
        entities = [wire.call_conversation(c, rest=True) for c in self._calls.active_for(user.id)]
        return web.json_response(
            {
                "entities": entities,
                "pageSize": PAGE_SIZE,
                "pageNumber": 1,
                "total": len(entities),
                "pageCount": 1,
            }
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

    async def patch_participant(self, request: web.Request) -> web.Response:
        """``PATCH …/participants/{pid}``: 202, empty; the change arrives as events."""
        caller = self._caller(request)
        body = await _json_object(request)
        _check_participant_request(body)
        if not caller.permissions & AGENT_PERMISSIONS:
            raise ApiError("missing.permissions", permissions=", ".join(sorted(AGENT_PERMISSIONS)))
        conversation = self._calls.get(request.match_info["conversation_id"])
        if conversation.user_participant(caller.id) is None:
            raise ApiError("conversation.error.not.conversation.participant")
        participant = conversation.participant(request.match_info["participant_id"])
        if participant is None:
            raise ApiError("not.found")
        await self._apply(conversation, participant, body)
        return web.Response(status=202)

    async def _apply(
        self, conversation: Conversation, participant: Participant, body: dict[str, Any]
    ) -> None:
        calls = self._calls
        if body.get("state") == "connected":
            calls.require_active(participant)
            await calls.answer(conversation)
        if "held" in body:
            await calls.set_hold(conversation, participant, body["held"])
        if "muted" in body:
            await calls.set_mute(conversation, participant, body["muted"])
        if body.get("state") == "disconnected":
            await calls.hang_up(conversation, participant)
        if body.get("wrapup") is not None or body.get("wrapupSkipped"):
            await calls.complete_wrapup(conversation, participant)

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


def _check_participant_request(body: dict[str, Any]) -> None:
    """Validate a ``MediaParticipantRequest``'s types and the states one may ask for."""
    for flag in PARTICIPANT_FLAGS:
        if flag in body and not isinstance(body[flag], bool):
            raise ApiError("bad.request", reason=f"{flag} must be a boolean")
    if body.get("state", "connected") not in {"connected", "disconnected"}:
        raise ApiError("bad.request", reason="state may only be connected or disconnected")
