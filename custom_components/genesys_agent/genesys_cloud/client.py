"""The Genesys Cloud REST API, as the agent's own session uses it."""

import asyncio
from collections.abc import Mapping
import logging
import math
from typing import Any, cast

from aiohttp import ClientError, ClientResponse, ClientResponseError, ClientSession, InvalidURL
import orjson

from .auth import AbstractAuth
from .environments import Environment
from .exceptions import (
    CommandRefusal,
    GenesysAuthError,
    GenesysCallNotConnectedError,
    GenesysCommandNotAllowedError,
    GenesysConnectionError,
    GenesysError,
    GenesysForbiddenError,
    GenesysNotFoundError,
    GenesysRateLimitError,
    GenesysResponseError,
    GenesysServerError,
    GenesysSubscriptionError,
)
from .models import (
    Agent,
    CallConversation,
    Channel,
    ChannelTopic,
    Json,
    PresenceDefinition,
    PresenceState,
    RoutingState,
    Station,
    WrapupCode,
    parse_entities,
    parse_presence,
    parse_presence_definition_id,
    parse_routing_status,
)

_LOGGER = logging.getLogger(__package__)

# Genesys' own bodies are small; anything bigger is refused before it is parsed.
MAX_BODY_BYTES = 1 << 20
# Listings are read in pages this big, and no further than this many pages.
PAGE_SIZE = 100
MAX_PAGES = 10
# The official SDKs' wait when a 429 names none.
DEFAULT_RETRY_AFTER = 3.0
# Genesys' refusals of a call-control request in the call's current state.
_REFUSALS: Mapping[str, CommandRefusal] = {
    "conversation.error.hold.alerting": CommandRefusal.NOT_CONNECTED,
    "conversation.error.wrapup.code.required": CommandRefusal.WRAP_UP_CODE_REQUIRED,
    "conversation.error.wrapup.cannot.skip": CommandRefusal.WRAP_UP_CANNOT_BE_SKIPPED,
}
_STATUS_ERRORS: Mapping[int, type[GenesysError]] = {
    401: GenesysAuthError,
    403: GenesysForbiddenError,
    404: GenesysNotFoundError,
}


class GenesysClient:
    """Typed calls on one environment's API, with a token from ``auth``.

    A 401 refreshes the token once and retries once; requests refused together share one
    refresh (a refresh token may be single-use). Every request has a timeout.
    """

    def __init__(
        self,
        session: ClientSession,
        environment: Environment,
        auth: AbstractAuth,
        *,
        request_timeout: float = 10.0,
    ) -> None:
        """Use the caller's aiohttp session (Home Assistant's shared one)."""
        self.session = session
        self.environment = environment
        self._auth = auth
        self.request_timeout = request_timeout
        self._refresh: asyncio.Task[str] | None = None

    @property
    def auth(self) -> AbstractAuth:
        """Where the tokens come from (the softphone's streaming login uses them too)."""
        return self._auth

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Json = None,
        shown_path: str | None = None,
    ) -> Json:
        """Send a request; return its parsed JSON body (None when empty).

        A 401 means Genesys refused the token before its time: refresh once, retry once.
        ``shown_path`` stands for ``path`` in error messages when the path holds a credential.
        """
        url = f"{self.environment.api_url}{path}"
        request = (method, url, shown_path or path, params, body)
        token = await self._auth.async_get_access_token()
        try:
            return await self._send(token, *request)
        except GenesysAuthError:
            token = await self.async_refresh_token(refused=token)
            return await self._send(token, *request)

    async def async_refresh_token(self, *, refused: str | None = None) -> str:
        """Refresh the access token once for everyone asking at the same time; the new token.

        ``refused``: the token Genesys refused; if another request has replaced it meanwhile,
        that replacement is used and nothing is refreshed.
        """
        if refused is not None and self._refresh is None:
            current = await self._auth.async_get_access_token()
            if current != refused:
                return current
        if self._refresh is None:
            self._refresh = asyncio.create_task(self._auth.async_refresh_access_token())
        refresh = self._refresh
        try:
            # Shielded: one caller given up (cancelled) does not cancel the others' refresh.
            return await asyncio.shield(refresh)
        finally:
            if self._refresh is refresh and refresh.done():
                self._refresh = None

    def access_token_expires_at(self) -> float | None:
        """When the current access token expires (Unix time), if the auth knows."""
        return self._auth.access_token_expires_at()

    async def _send(
        self,
        token: str,
        method: str,
        url: str,
        shown_path: str,
        params: Mapping[str, str] | None,
        body: Json,
    ) -> Json:
        try:
            async with (
                asyncio.timeout(self.request_timeout),
                self.session.request(
                    method,
                    url,
                    params=params,
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                ) as response,
            ):
                return await _read(response)
        except TimeoutError as err:
            raise GenesysConnectionError(f"{method} {shown_path} timed out") from err
        except ClientError as err:
            # These name the URL, which may hold a credential; the others name only the host.
            named = isinstance(err, ClientResponseError | InvalidURL)
            detail = type(err).__name__ if named else str(err) or type(err).__name__
            error = GenesysConnectionError(f"{method} {shown_path} failed: {detail}")
            raise error from None if named else err

    async def async_get_me(self) -> Agent:
        """The logged-in user with their station, presence and routing status."""
        body = await self._request(
            "GET", "/api/v2/users/me", params={"expand": "station,presence,routingStatus"}
        )
        return Agent.from_json(body)

    async def async_get_active_calls(self) -> list[CallConversation]:
        """The logged-in user's calls that are not over yet."""
        body = await self._request("GET", "/api/v2/conversations/calls")
        entities = body.get("entities", []) if isinstance(body, dict) else None
        if not isinstance(entities, list):
            raise GenesysResponseError("the call listing has no entities")
        return [CallConversation.from_json(entity) for entity in entities]

    async def async_get_call(self, conversation_id: str) -> CallConversation:
        """One call conversation."""
        body = await self._request("GET", f"/api/v2/conversations/calls/{conversation_id}")
        return CallConversation.from_json(body)

    async def async_set_mute(self, conversation_id: str, participant_id: str, muted: bool) -> None:
        """Set a participant's server-side mute; Genesys answers 202 and confirms by event."""
        await self._patch_participant(conversation_id, participant_id, {"muted": muted})

    async def async_get_presence(self, user_id: str) -> PresenceState | None:
        """A user's Genesys Cloud presence."""
        body = await self._request("GET", f"/api/v2/users/{user_id}/presences/purecloud")
        return parse_presence(body)

    async def async_get_routing_status(self, user_id: str) -> RoutingState | None:
        """A user's ACD routing status."""
        body = await self._request("GET", f"/api/v2/users/{user_id}/routingstatus")
        return parse_routing_status(body)

    async def async_get_station(self, station_id: str) -> Station:
        """A station with its WebRTC settings (``webRtcPersistentEnabled``)."""
        return Station.from_json(await self._request("GET", f"/api/v2/stations/{station_id}"))

    async def async_answer(self, conversation_id: str, participant_id: str) -> None:
        """Answer a ringing leg."""
        await self._request(
            "PATCH",
            f"/api/v2/conversations/calls/{conversation_id}/participants/{participant_id}",
            body={"state": "connected"},
        )

    async def async_create_channel(self, *, streaming: bool = False) -> Channel:
        """A new notifications channel (its websocket URI is the credential).

        ``streaming``: a channel for the streaming (XMPP) service, as the WebRTC softphone uses.
        """
        params = {"connectionType": "streaming"} if streaming else None
        return Channel.from_json(
            await self._request("POST", "/api/v2/notifications/channels", params=params)
        )

    async def async_subscribe(self, channel_id: str, topics: list[str]) -> list[ChannelTopic]:
        """Replace the channel's topics; Genesys' answer, with each refused topic marked.

        ``ignoreErrors``: a topic the login may not see is marked rejected rather than failing
        the whole request; a 400 then means the request itself is refused.
        """
        try:
            body = await self._request(
                "PUT",
                f"/api/v2/notifications/channels/{channel_id}/subscriptions",
                params={"ignoreErrors": "true"},
                body=[{"id": topic} for topic in topics],
                # The channel id opens its websocket: a credential, kept out of messages.
                shown_path="/api/v2/notifications/channels/{id}/subscriptions",
            )
        except GenesysError as err:
            if err.status != 400:
                raise
            raise GenesysSubscriptionError(
                str(err), code=err.code, status=err.status, correlation_id=err.correlation_id
            ) from err
        entities = body.get("entities", []) if isinstance(body, dict) else None
        if not isinstance(entities, list):
            raise GenesysResponseError("the subscription listing has no entities")
        return [ChannelTopic.from_json(entity) for entity in entities]

    # ------------------------------------------------------------------ call control

    async def _patch_participant(
        self, conversation_id: str, participant_id: str, body: Mapping[str, Json]
    ) -> None:
        """A ``MediaParticipantRequest``: 202, no body; the change arrives as an event."""
        await self._request(
            "PATCH",
            f"/api/v2/conversations/calls/{conversation_id}/participants/{participant_id}",
            body=dict(body),
        )

    async def async_disconnect(self, conversation_id: str, participant_id: str) -> None:
        """Hang up a leg, or decline it while it rings."""
        await self._patch_participant(conversation_id, participant_id, {"state": "disconnected"})

    async def async_send_to_voicemail(self, conversation_id: str, participant_id: str) -> None:
        """Decline a direct call as Genesys' WebRTC SDK does: the caller reaches voicemail."""
        await self._request(
            "POST",
            f"/api/v2/conversations/calls/{conversation_id}/participants/{participant_id}/replace",
            body={"voicemail": True},
        )

    async def async_set_held(self, conversation_id: str, participant_id: str, held: bool) -> None:
        """Hold or resume a connected leg."""
        await self._patch_participant(conversation_id, participant_id, {"held": held})

    async def async_submit_wrapup(
        self, conversation_id: str, participant_id: str, code_id: str, notes: str | None = None
    ) -> None:
        """Finish wrap-up with a code of the queue (``WrapupInput.code``: its id) and notes."""
        wrapup = {"code": code_id} | ({"notes": notes} if notes else {})
        await self._patch_participant(conversation_id, participant_id, {"wrapup": wrapup})

    async def async_skip_wrapup(self, conversation_id: str, participant_id: str) -> None:
        """Skip an optional wrap-up."""
        await self._patch_participant(conversation_id, participant_id, {"wrapupSkipped": True})

    async def async_get_queue_wrapup_codes(self, queue_id: str) -> list[WrapupCode]:
        """Every wrap-up code of a queue, page by page (at most ``MAX_PAGES`` pages)."""
        codes: list[WrapupCode] = []
        for page in range(1, MAX_PAGES + 1):
            body = await self._request(
                "GET",
                f"/api/v2/routing/queues/{queue_id}/wrapupcodes",
                params={"pageSize": str(PAGE_SIZE), "pageNumber": str(page)},
            )
            codes += [WrapupCode.from_json(e) for e in parse_entities(body, "wrap-up codes")]
            if page >= _page_count(body):
                break
        return codes

    async def async_get_participant_wrapup_codes(
        self, conversation_id: str, participant_id: str
    ) -> list[WrapupCode]:
        """The wrap-up codes Genesys offers one leg (a list, as the agent desktop reads it)."""
        body = await self._request(
            "GET",
            f"/api/v2/conversations/calls/{conversation_id}/participants/{participant_id}"
            "/wrapupcodes",
        )
        if not isinstance(body, list):
            raise GenesysResponseError("the wrap-up codes are not a list")
        return [WrapupCode.from_json(code) for code in body]

    # ------------------------------------------------------------------ presence

    async def async_get_presence_definitions(self) -> list[PresenceDefinition]:
        """The org's active presence definitions, system and secondary, with every label."""
        body = await self._request(
            "GET",
            "/api/v2/presence/definitions",
            params={"deactivated": "FALSE", "localeCode": "ALL"},
        )
        return [PresenceDefinition.from_json(e) for e in parse_entities(body, "presences")]

    async def async_set_presence(self, user_id: str, definition_id: str) -> None:
        """Set a user's Genesys Cloud presence; the presence event confirms it."""
        await self._request(
            "PATCH",
            f"/api/v2/users/{user_id}/presences/purecloud",
            body={"presenceDefinition": {"id": definition_id}},
        )

    async def async_get_presence_and_definition(
        self, user_id: str
    ) -> tuple[PresenceState | None, str | None]:
        """A user's system presence and the id of the presence definition they are in."""
        body = await self._request("GET", f"/api/v2/users/{user_id}/presences/purecloud")
        return parse_presence(body), parse_presence_definition_id(body)


def _page_count(body: Json) -> int:
    count = body.get("pageCount") if isinstance(body, dict) else None
    return count if isinstance(count, int) else 1


async def _read(response: ClientResponse) -> Json:
    """The body as JSON, or the typed error Genesys' status and error body stand for."""
    raw = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise GenesysResponseError("the response is larger than 1 MiB")
    if response.status < 400:
        if not raw:
            return None
        try:
            return orjson.loads(raw)
        except ValueError as err:
            raise GenesysResponseError("the response is not JSON") from err
    raise _error(response, raw)


def _retry_after(response: ClientResponse) -> float:
    """Seconds Genesys asks to wait; a missing or unreadable ``Retry-After`` means the default."""
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return DEFAULT_RETRY_AFTER
    return seconds if math.isfinite(seconds) and seconds >= 0 else DEFAULT_RETRY_AFTER


def _error(response: ClientResponse, raw: bytearray) -> GenesysError:
    """Map an error response, keeping Genesys' message, code and correlation id."""
    try:
        body = cast(dict[str, Any], orjson.loads(raw))
        message = str(body.get("message") or response.reason or "error")
        code = body.get("code") if isinstance(body.get("code"), str) else None
    except (ValueError, AttributeError):
        message, code = response.reason or "error", None
    details: dict[str, Any] = {
        "code": code,
        "status": response.status,
        "correlation_id": response.headers.get("ININ-Correlation-Id"),
    }
    status = response.status
    _LOGGER.debug(
        "Genesys answered %s %s (correlation %s)", status, code, details["correlation_id"]
    )
    if status == 429:
        return GenesysRateLimitError(message, retry_after=_retry_after(response), **details)
    if code == "conversation.error.call.disconnected":
        return GenesysCallNotConnectedError(message, **details)
    if (refusal := _REFUSALS.get(code or "")) is not None:
        return GenesysCommandNotAllowedError(refusal, message, **details)
    if status >= 500:
        return GenesysServerError(message, **details)
    return _STATUS_ERRORS.get(status, GenesysError)(message, **details)
