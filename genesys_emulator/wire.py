"""How the emulator's objects look in Genesys Cloud's JSON.

Field names and types follow the official Python SDK's models (``attribute_map`` and
``swagger_types`` of purecloudplatformclientv2 269.0.0); unset fields are left out rather than sent
as null. Choices where the reference is UNCONFIRMED:

* timestamps are ISO-8601 UTC with milliseconds and ``Z`` (``2025-04-10T13:31:49.570Z``);
* every participant has ``provider: "Edge"``, ``mediaRoles: ["full"]``, ``attributes: {}``,
  ``recording: false`` and ``recordingState: "none"``; agents that must wrap up carry
  ``wrapupPrompt: "optional"``;
* REST references (``user``, ``queue``) are ``{id, name, selfUri}``; event references are
  ``{id, name}`` (the events' ``UriReference`` has no selfUri);
* presence definition ids are derived from the presence's name (stable across runs); a system
  presence's ``languageLabels`` has only ``en_US``; ``?localeCode`` is ignored (every label is
  sent);
* wrap-up codes are ``{id, name, selfUri}``; listings page with ``pageSize``/``pageNumber`` and
  carry ``firstUri``/``lastUri``/``selfUri`` (``nextUri``/``previousUri`` when there is such a
  page), URIs as Genesys writes them: path and query, no host;
* ``wrapupSkipped`` is sent only once the agent has skipped wrap-up.
"""

from datetime import datetime
from typing import Any

from .state import (
    Conversation,
    Org,
    Participant,
    PresenceDefinition,
    Station,
    User,
    WrapupCode,
)

ACD_DNIS = "tel:+13175550199"


def iso(moment: datetime) -> str:
    """Genesys' timestamp format."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _compact(fields: dict[str, Any]) -> dict[str, Any]:
    """Drop unset fields, and render timestamps."""
    return {
        name: iso(value) if isinstance(value, datetime) else value
        for name, value in fields.items()
        if value is not None
    }


def _ref(
    kind: str, entity_id: str | None, name: str | None, *, rest: bool
) -> dict[str, Any] | None:
    if entity_id is None:
        return None
    return _compact(
        {"id": entity_id, "name": name, "selfUri": f"/api/v2/{kind}/{entity_id}" if rest else None}
    )


def user_ref(user: User) -> dict[str, Any]:
    """A ``User`` reference as nested in stations."""
    return {"id": user.id, "name": user.name, "selfUri": f"/api/v2/users/{user.id}"}


# ---------------------------------------------------------------- users, stations, presence


def presence_reference(definition: PresenceDefinition, *, rest: bool) -> dict[str, str]:
    """``PresenceDefinition`` (REST, with selfUri) or ``PresenceEventOrganizationPresence``."""
    reference = {"id": definition.id, "systemPresence": definition.system_presence}
    if rest:
        reference["selfUri"] = f"/api/v2/presencedefinitions/{definition.id}"
    return reference


def organization_presence(definition: PresenceDefinition) -> dict[str, Any]:
    """``OrganizationPresence``: an entry of ``GET /api/v2/presencedefinitions``."""
    return {
        "id": definition.id,
        "languageLabels": definition.labels,
        "systemPresence": definition.system_presence,
        "deactivated": definition.deactivated,
        "primary": definition.primary,
        "selfUri": f"/api/v2/presencedefinitions/{definition.id}",
    }


def presence_definition(definition: PresenceDefinition) -> dict[str, Any]:
    """``OrganizationPresenceDefinition``: an entry of ``GET /api/v2/presence/definitions``.

    This newer API's ``systemPresence`` enum spells On Queue ``OnQueue`` (SDK 269).
    """
    return {
        "id": definition.id,
        "type": "System" if definition.primary else "User",
        "languageLabels": definition.labels,
        "systemPresence": definition.system_presence.replace(" ", ""),
        "deactivated": definition.deactivated,
        "selfUri": f"/api/v2/presence/definitions/{definition.id}",
    }


def user_presence(user: User) -> dict[str, Any]:
    """``UserPresence`` (REST)."""
    return {
        "source": "PURECLOUD",
        "primary": True,
        "presenceDefinition": presence_reference(user.presence, rest=True),
        "message": user.presence_message,
        "modifiedDate": iso(user.presence_modified),
        "selfUri": f"/api/v2/users/{user.id}/presences/purecloud",
    }


def presence_event(user: User) -> dict[str, Any]:
    """``PresenceEventUserPresence`` (the ``v2.users.{id}.presence`` event body)."""
    return {
        "source": "PURECLOUD",
        "presenceDefinition": presence_reference(user.presence, rest=False),
        "primary": True,
        "message": user.presence_message,
        "modifiedDate": iso(user.presence_modified),
    }


def routing_status(user: User) -> dict[str, Any]:
    """``RoutingStatus`` (REST)."""
    return {
        "userId": user.id,
        "status": user.routing_status,
        "startTime": iso(user.routing_status_since),
    }


def routing_status_event(user: User) -> dict[str, Any]:
    """``UserRoutingStatusUserRoutingStatus`` (the ``v2.users.{id}.routingStatus`` event body)."""
    return {
        "id": user.id,
        "routingStatus": {
            "status": user.routing_status,
            "startTime": iso(user.routing_status_since),
        },
    }


def user_station(station: Station, user: User) -> dict[str, Any]:
    """``UserStation``: a station as seen from ``users/me?expand=station``."""
    return {
        "id": station.id,
        "name": station.name,
        "type": "inin_webrtc_softphone",
        "associatedUser": user_ref(user),
        "associatedDate": iso(station.associated_date),
        "providerInfo": {"edgeGroupId": station.edge_group_id},
        "webRtcCallAppearances": 1,
    }


def station_entity(station: Station) -> dict[str, Any]:
    """``Station`` (``GET /api/v2/stations/{id}``)."""
    return {
        "id": station.id,
        "name": station.name,
        "status": "ASSOCIATED",
        "userId": station.user_id,
        "webRtcUserId": station.user_id,
        "type": "inin_webrtc_softphone",
        "lineAppearanceId": station.line_appearance_id,
        "webRtcMediaDscp": 46,
        "webRtcPersistentEnabled": station.persistent,
        "webRtcForceTurn": False,
        "webRtcCallAppearances": 1,
        "selfUri": f"/api/v2/stations/{station.id}",
    }


def user_me(org: Org, user: User, expand: set[str]) -> dict[str, Any]:
    """``UserMe``; expand-only fields appear only when expanded."""
    body: dict[str, Any] = {
        "id": user.id,
        "name": user.name,
        "division": {
            "id": org.home_division_id,
            "name": "Home",
            "selfUri": f"/api/v2/authorization/divisions/{org.home_division_id}",
        },
        "chat": {"jabberId": user.jabber_id},
        "email": user.email,
        "state": "active",
        "username": user.email,
        "version": 1,
        "acdAutoAnswer": False,
        "selfUri": f"/api/v2/users/{user.id}",
    }
    if "station" in expand:
        stations: dict[str, Any] = {}
        if user.station_id is not None:
            seen = user_station(org.stations[user.station_id], user)
            stations = {
                "associatedStation": seen,
                "effectiveStation": seen,
                "lastAssociatedStation": seen,
            }
        body["station"] = stations
    if "presence" in expand:
        body["presence"] = user_presence(user)
    if "routingstatus" in expand:
        body["routingStatus"] = routing_status(user)
    return body


# ---------------------------------------------------------------- listings and wrap-up codes


def listing(
    entities: list[dict[str, Any]], *, path: str, page_size: int, page_number: int
) -> dict[str, Any]:
    """One page of a paged entity listing (``…EntityListing``)."""
    page_count = max(1, -(-len(entities) // page_size))

    def uri(number: int) -> str:
        return f"{path}?pageSize={page_size}&pageNumber={number}"

    start = (page_number - 1) * page_size
    return _compact(
        {
            "entities": entities[start : start + page_size],
            "pageSize": page_size,
            "pageNumber": page_number,
            "total": len(entities),
            "firstUri": uri(1),
            "selfUri": uri(page_number),
            "lastUri": uri(page_count),
            "nextUri": uri(page_number + 1) if page_number < page_count else None,
            "previousUri": uri(page_number - 1) if 1 < page_number <= page_count else None,
            "pageCount": page_count,
        }
    )


def wrapup_code(code: WrapupCode) -> dict[str, str]:
    """``WrapupCode``."""
    return {"id": code.id, "name": code.name, "selfUri": f"/api/v2/routing/wrapupcodes/{code.id}"}


# ---------------------------------------------------------------- call conversations


def _wrapup(participant: Participant, *, rest: bool) -> dict[str, Any] | None:
    wrapup = participant.wrapup
    if wrapup is None:
        return None
    return _compact(
        {
            "code": wrapup.code,
            "name": wrapup.name if rest else None,
            "notes": wrapup.notes,
            "tags": wrapup.tags,
            "durationSeconds": wrapup.duration_seconds,
            "endTime": wrapup.end_time,
        }
    )


def call_participant(participant: Participant, *, rest: bool) -> dict[str, Any]:
    """``CallMediaParticipant`` (REST) or ``ConversationCallEventTopicCallMediaParticipant``."""
    p = participant
    return _compact(
        {
            "id": p.id,
            "name": p.name,
            "address": p.address,
            "startTime": p.start_time,
            "startAlertingTime": p.start_time if rest and p.initial_state == "alerting" else None,
            "connectedTime": p.connected_time,
            "endTime": p.end_time,
            "startHoldTime": p.start_hold_time,
            "purpose": p.purpose,
            "state": p.state,
            "initialState": None if rest else p.initial_state,
            "direction": p.direction,
            "disconnectType": p.disconnect_type,
            "held": p.held,
            "wrapupRequired": p.wrapup_required,
            "wrapupPrompt": p.wrapup_prompt if p.wrapup_required else None,
            "wrapupSkipped": p.wrapup_skipped or None,
            "user": _ref("users", p.user_id, p.user_name, rest=rest),
            "queue": _ref("routing/queues", p.queue_id, p.queue_name, rest=rest),
            "attributes": {},
            "alertingTimeoutMs": p.alerting_timeout_ms,
            "provider": "Edge",
            "wrapup": _wrapup(p, rest=rest),
            "peer": p.peer,
            "startAcwTime": p.start_acw_time,
            "endAcwTime": p.end_acw_time,
            "mediaRoles": ["full"],
            "muted": p.muted,
            "confined": p.confined,
            "recording": False,
            "recordingState": "none",
            "ani": p.ani,
            "dnis": p.dnis,
            "consultParticipantId": p.consult_participant_id,
        }
    )


def call_conversation(conversation: Conversation, *, rest: bool) -> dict[str, Any]:
    """``CallConversation`` (REST) or ``ConversationCallEventTopicCallConversation`` (event)."""
    body: dict[str, Any] = {
        "id": conversation.id,
        "participants": [call_participant(p, rest=rest) for p in conversation.participants],
        "otherMediaUris": [],
        "recordingState": "none",
        "securePause": False,
    }
    if rest:
        body["selfUri"] = f"/api/v2/conversations/calls/{conversation.id}"
    return body


def _remote_address(conversation: Conversation) -> str | None:
    remote = next(
        (p for p in conversation.participants if p.purpose in {"customer", "external"}), None
    )
    return None if remote is None else remote.address


def _call(conversation: Conversation, participant: Participant) -> dict[str, Any]:
    """``ConversationEventTopicCall``: the participant's call communication."""
    p = participant
    other = _remote_address(conversation) if p.user_id else None
    return _compact(
        {
            "id": p.call_id,
            "state": p.state,
            "initialState": p.initial_state,
            "recording": False,
            "recordingState": "none",
            "muted": p.muted,
            "confined": p.confined,
            "held": p.held,
            "disconnectType": p.disconnect_type,
            "startHoldTime": p.start_hold_time,
            "direction": p.direction,
            "self": {"addressNormalized": p.address},
            "other": None if other is None else {"addressNormalized": other},
            "provider": "Edge",
            "peerId": p.peer,
            "connectedTime": p.connected_time,
            "disconnectedTime": p.end_time,
            "wrapup": _wrapup(p, rest=False),
            "afterCallWorkRequired": p.wrapup_required,
        }
    )


def conversation_event(conversation: Conversation) -> dict[str, Any]:
    """``ConversationEventTopicConversation`` (the ``v2.users.{id}.conversations`` event body)."""
    participants = [
        _compact(
            {
                "id": p.id,
                "connectedTime": p.connected_time,
                "endTime": p.end_time,
                "userId": p.user_id,
                "name": p.name,
                "queueId": p.queue_id,
                "purpose": p.purpose,
                "consultParticipantId": p.consult_participant_id,
                "address": p.address,
                "wrapupRequired": p.wrapup_required,
                "wrapupPrompt": p.wrapup_prompt if p.wrapup_required else None,
                "wrapup": _wrapup(p, rest=False),
                "startAcwTime": p.start_acw_time,
                "endAcwTime": p.end_acw_time,
                "alertingTimeoutMs": p.alerting_timeout_ms,
                "mediaRoles": ["full"],
                "attributes": {},
                "calls": [_call(conversation, p)],
            }
        )
        for p in conversation.participants
    ]
    return {
        "id": conversation.id,
        "participants": participants,
        "recordingState": "none",
        "securePause": False,
    }
