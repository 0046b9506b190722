"""Typed models of what Genesys Cloud sends, and strict parsers for them.

Every parser takes whatever JSON came off the wire and returns a model or raises
``GenesysResponseError``; unknown fields are ignored, wrong types are refused.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
import functools
from typing import Any, cast, dataclass_transform

import orjson

from .exceptions import GenesysResponseError

type Json = Any


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def event_model[T](cls: type[T]) -> type[T]:
    """A dataclass built at every event: frozen to the type checker, plain slots at run time.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``: for a
    16-field Participant, 13 000 more instructions than plain slots (callgrind), a fifth of an
    event's whole cost across the objects an event builds. mypy --strict, which checks every
    module, refuses an assignment to a field as it would for ``frozen=True``; the instances
    hash and compare by value as frozen ones do.
    """
    return dataclass(slots=True, unsafe_hash=True)(cls)


class CallState(StrEnum):
    """The agent's call, as the home sees it."""

    IDLE = "idle"
    RINGING = "ringing"
    DIALING = "dialing"
    CONNECTED = "connected"
    ON_HOLD = "on_hold"
    WRAP_UP = "wrap_up"


class CallDirection(StrEnum):
    """Who placed the call."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MuteSource(StrEnum):
    """Who made the last change of the agent's server-side mute."""

    INTEGRATION = "integration"
    ELSEWHERE = "elsewhere"


class PresenceState(StrEnum):
    """Genesys' system presences, snake_cased ("On Queue" is ``on_queue``)."""

    AVAILABLE = "available"
    AWAY = "away"
    BUSY = "busy"
    OFFLINE = "offline"
    IDLE = "idle"
    ON_QUEUE = "on_queue"
    MEAL = "meal"
    TRAINING = "training"
    MEETING = "meeting"
    BREAK = "break"


class RoutingState(StrEnum):
    """Genesys' ACD routing statuses, lower-cased."""

    OFF_QUEUE = "off_queue"
    IDLE = "idle"
    INTERACTING = "interacting"
    NOT_RESPONDING = "not_responding"
    COMMUNICATING = "communicating"


def _object(value: Json, what: str) -> Mapping[str, Json]:
    if type(value) is not dict and not isinstance(value, Mapping):  # dict first: JSON's, fast
        raise GenesysResponseError(f"{what} is not a JSON object")
    return value


def _optional_str(data: Mapping[str, Json], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise GenesysResponseError(f"{key} is not a string")
    return value


def _str(data: Mapping[str, Json], key: str) -> str:
    value = _optional_str(data, key)
    if not value:
        raise GenesysResponseError(f"{key} is missing")
    return value


def _bool(data: Mapping[str, Json], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise GenesysResponseError(f"{key} is not a boolean")
    return value


def _time(data: Mapping[str, Json], key: str) -> datetime | None:
    return _parse_time(_optional_str(data, key), key)


def _parse_time(text: str | None, key: str) -> datetime | None:
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as err:
        raise GenesysResponseError(f"{key} is not an ISO 8601 time") from err
    if parsed.tzinfo is None:
        raise GenesysResponseError(f"{key} has no time zone")
    return parsed


def _ref_id(data: Mapping[str, Json], key: str) -> tuple[str | None, str | None]:
    """The id and name of a ``{id, name}`` reference, if present."""
    value = data.get(key)
    if value is None:
        return None, None
    ref = _object(value, key)
    return _optional_str(ref, "id"), _optional_str(ref, "name")


def _enum[E: StrEnum](enum: type[E], text: str | None) -> E | None:
    """A Genesys enum value, or None for one this client does not know (Genesys adds some)."""
    return None if text is None else cast("E | None", _enum_member(enum, text))


@functools.lru_cache(maxsize=256)  # a handful of spellings, read at every event
def _enum_member(enum: type[StrEnum], text: str) -> StrEnum | None:
    try:
        return enum(text.strip().lower().replace(" ", "_"))
    except ValueError:
        return None


# The fields of a participant, in the order Participant.from_json unpacks them.
_PARTICIPANT_TEXTS = ("id", "purpose", "state", "direction", "address", "ani", "startTime",
                      "connectedTime", "wrapupPrompt")  # fmt: skip
_PARTICIPANT_FLAGS = ("muted", "held", "wrapupRequired", "wrapupSkipped")
_TEXT_TYPES: frozenset[type] = frozenset({str, type(None)})
_FLAG_TYPES: frozenset[type] = frozenset({bool})


def _wrong_type(
    data: Mapping[str, Json], keys: tuple[str, ...], types: frozenset[type], what: str
) -> GenesysResponseError:
    """The error naming the first of ``keys`` present with a value not of ``types``."""
    key = next(key for key in keys if key in data and type(data[key]) not in types)
    return GenesysResponseError(f"{key} is not {what}")


@event_model
class Participant:
    """One leg of a call (``CallMediaParticipant`` or its event-topic twin)."""

    id: str
    purpose: str | None
    state: str | None
    direction: CallDirection | None
    muted: bool
    held: bool
    user_id: str | None
    queue_id: str | None
    queue_name: str | None
    # Phone numbers and names stay out of reprs, and so out of logs.
    address: str | None = field(repr=False)
    ani: str | None = field(repr=False)
    start_time: datetime | None
    connected_time: datetime | None
    wrapup_required: bool
    wrapup_done: bool
    # "mandatory": wrap-up cannot be skipped; "optional", "agentRequested", "timeout"...
    wrapup_prompt: str | None = None

    @classmethod
    def from_json(cls, value: Json) -> Participant:
        """Parse a participant of a REST body or an event body."""
        # Read at every event for every leg: the fields are fetched and type-checked in bulk,
        # and the helpers only name the field when one is wrong.
        data = _object(value, "participant")
        texts = tuple(map(data.get, _PARTICIPANT_TEXTS))
        if not _TEXT_TYPES.issuperset(map(type, texts)):
            raise _wrong_type(data, _PARTICIPANT_TEXTS, _TEXT_TYPES, "a string")
        flags = [data.get(key, False) for key in _PARTICIPANT_FLAGS]
        if not _FLAG_TYPES.issuperset(map(type, flags)):
            raise _wrong_type(data, _PARTICIPANT_FLAGS, _FLAG_TYPES, "a boolean")
        id_, purpose, state, direction, address, ani, started, connected, prompt = texts
        if not id_:
            raise GenesysResponseError("id is missing")
        muted, held, wrapup_required, wrapup_skipped = flags
        user_id, _ = _ref_id(data, "user")
        queue_id, queue_name = _ref_id(data, "queue")
        return cls(
            id_,
            purpose,
            state.lower() if state else None,
            _enum(CallDirection, direction),
            muted,
            held,
            user_id,
            queue_id,
            queue_name,
            address,
            ani,
            _parse_time(started, "startTime"),
            _parse_time(connected, "connectedTime"),
            wrapup_required,
            data.get("wrapup") is not None or wrapup_skipped,
            prompt,
        )

    @property
    def is_terminal(self) -> bool:
        """The leg has ended; it never comes back to life."""
        return self.state in ("disconnected", "terminated")

    @property
    def awaits_wrapup(self) -> bool:
        """Ended, but the agent still owes a wrap-up."""
        return self.state == "disconnected" and self.wrapup_required and not self.wrapup_done


# The purposes of a user's own leg: "agent" on ACD calls, "user" on direct ones.
USER_PURPOSES = frozenset({"agent", "user"})
_REMOTE_PURPOSES = frozenset({"customer", "external"})


@event_model
class CallConversation:
    """A call conversation: a whole snapshot, as Genesys sends it every time."""

    id: str
    participants: tuple[Participant, ...]

    @classmethod
    def from_json(cls, value: Json, *, own_user_id: str | None = None) -> CallConversation:
        """Parse ``CallConversation`` (REST) or ``ConversationCallEventTopicCallConversation``.

        With ``own_user_id``, only that user's legs are parsed strictly: another party's leg
        with an unreadable field is left out, so it cannot discard the user's own change.
        """
        data = _object(value, "conversation")
        participants = data.get("participants", [])
        if not isinstance(participants, list):
            raise GenesysResponseError("participants is not a list")
        legs = [_participant(raw, own_user_id) for raw in participants]
        # (None: an unreadable leg of someone else)
        return cls(id=_str(data, "id"), participants=tuple(filter(None, legs)))

    def user_participant(self, user_id: str) -> Participant | None:
        """The user's own leg; the newest when they joined more than once (consult, rejoin)."""
        legs = [p for p in self.participants if p.user_id == user_id and p.purpose in USER_PURPOSES]
        if len(legs) < 2:
            return legs[0] if legs else None  # nearly always: one leg, nothing to compare
        return max(legs, key=lambda p: (p.start_time is not None, p.start_time or _EPOCH))

    def remote_participant(self) -> Participant | None:
        """The other party: the customer or the external number."""
        for leg in self.participants:
            if leg.purpose in _REMOTE_PURPOSES:
                return leg
        return None


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def _participant(raw: Json, own_user_id: str | None) -> Participant | None:
    """A leg; None for another party's unreadable leg when only ``own_user_id``'s are strict."""
    try:
        return Participant.from_json(raw)
    except GenesysResponseError:
        if own_user_id is None or _raw_user_id(raw) == own_user_id:
            raise
        return None


def _raw_user_id(raw: Json) -> object:
    """Whose leg an unreadable participant claims to be, if that much can be read."""
    user = raw.get("user") if isinstance(raw, Mapping) else None
    return user.get("id") if isinstance(user, Mapping) else None


# The station type of a Genesys Cloud WebRTC phone.
WEBRTC_STATION_TYPE = "inin_webrtc_softphone"


@dataclass(frozen=True, slots=True)
class Station:
    """The agent's associated phone."""

    id: str
    name: str | None
    type: str | None
    # ``webRtcPersistentEnabled``: one peer connection carries every call (``GET /stations/{id}``).
    persistent: bool = False

    @classmethod
    def from_json(cls, value: Json) -> Station:
        """Parse ``Station`` (``GET /api/v2/stations/{id}``)."""
        data = _object(value, "station")
        return cls(
            id=_str(data, "id"),
            name=_optional_str(data, "name"),
            type=_optional_str(data, "type"),
            persistent=_bool(data, "webRtcPersistentEnabled"),
        )

    @property
    def is_webrtc(self) -> bool:
        """A Genesys Cloud WebRTC phone: the station a softphone client can be."""
        return self.type == WEBRTC_STATION_TYPE


@dataclass(frozen=True, slots=True)
class Agent:
    """The logged-in user (``UserMe``) with the expansions the session reads."""

    id: str
    name: str | None = field(repr=False)
    email: str | None = field(repr=False)
    station: Station | None
    presence: PresenceState | None
    routing_status: RoutingState | None
    # The org presence definition the agent is in (a secondary presence has its own).
    presence_definition_id: str | None = None
    # The user's XMPP address on the streaming service (``chat.jabberId``).
    jabber_id: str | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, value: Json) -> Agent:
        """Parse ``GET /api/v2/users/me?expand=station,presence,routingStatus``."""
        data = _object(value, "user")
        station = None
        stations = data.get("station")
        if stations is not None:
            associated = _object(stations, "station").get("associatedStation")
            if associated is not None:
                seen = _object(associated, "associatedStation")
                station = Station(
                    id=_str(seen, "id"),
                    name=_optional_str(seen, "name"),
                    type=_optional_str(seen, "type"),
                )
        presence = data.get("presence")
        routing = data.get("routingStatus")
        chat = _object(data.get("chat", {}), "chat")
        return cls(
            id=_str(data, "id"),
            name=_optional_str(data, "name"),
            email=_optional_str(data, "email"),
            station=station,
            presence=parse_presence(presence) if presence is not None else None,
            routing_status=parse_routing_status(routing) if routing is not None else None,
            presence_definition_id=(
                parse_presence_definition_id(presence) if presence is not None else None
            ),
            jabber_id=_optional_str(chat, "jabberId"),
        )


def parse_presence(value: Json) -> PresenceState | None:
    """``UserPresence`` (REST) or ``PresenceEventUserPresence`` (event) → the system presence."""
    data = _object(value, "presence")
    definition = _object(data.get("presenceDefinition", {}), "presenceDefinition")
    return _enum(PresenceState, _optional_str(definition, "systemPresence"))


def parse_presence_definition_id(value: Json) -> str | None:
    """The id of the presence definition in a ``UserPresence`` or its event twin."""
    data = _object(value, "presence")
    definition = _object(data.get("presenceDefinition", {}), "presenceDefinition")
    return _optional_str(definition, "id")


def parse_routing_status(value: Json) -> RoutingState | None:
    """``RoutingStatus`` (REST: ``status``) or the event body (``routingStatus.status``)."""
    data = _object(value, "routing status")
    nested = data.get("routingStatus")
    if nested is not None:
        data = _object(nested, "routingStatus")
    return _enum(RoutingState, _optional_str(data, "status"))


@dataclass(frozen=True, slots=True)
class Channel:
    """A notifications channel: its websocket URI and when it expires."""

    id: str
    connect_uri: str
    expires: datetime | None

    @classmethod
    def from_json(cls, value: Json) -> Channel:
        """Parse ``POST /api/v2/notifications/channels``."""
        data = _object(value, "channel")
        return cls(
            id=_str(data, "id"),
            connect_uri=_str(data, "connectUri"),
            expires=_time(data, "expires"),
        )


@dataclass(frozen=True, slots=True)
class ChannelTopic:
    """One topic of a channel's subscriptions, as Genesys answered the subscription."""

    id: str
    # Genesys refused it (``state: "Rejected"``): the login lacks a scope or a permission.
    rejected: bool = False
    rejection_reason: str | None = None
    missing_permissions: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, value: Json) -> ChannelTopic:
        """Parse one ``ChannelTopic`` of a subscription listing (no ``state``: permitted)."""
        data = _object(value, "channel topic")
        missing = data.get("missingPermissions", [])
        if not isinstance(missing, list) or not all(isinstance(p, str) for p in missing):
            raise GenesysResponseError("missingPermissions is not a list of strings")
        return cls(
            id=_str(data, "id"),
            rejected=(_optional_str(data, "state") or "Permitted") == "Rejected",
            rejection_reason=_optional_str(data, "rejectionReason"),
            missing_permissions=tuple(missing),
        )


@event_model
class Notification:
    """One websocket message: its topic and body."""

    topic: str
    body: Mapping[str, Json]

    @classmethod
    def decode(cls, text: str | bytes) -> Notification:
        """Parse a websocket frame as it arrives.

        orjson decodes a frame in less than half the time of the json module, and refuses
        nesting deeper than 1 024 levels; either way an unreadable frame raises ``ValueError``.
        """
        return cls.from_json(orjson.loads(text))

    @classmethod
    def from_json(cls, value: Json) -> Notification:
        """Parse the envelope ``{topicName, version, eventBody, metadata}``."""
        data = _object(value, "notification")
        return cls(
            topic=_str(data, "topicName"),
            body=_object(data.get("eventBody", {}), "eventBody"),
        )


def _system_presence(text: str | None) -> PresenceState | None:
    """A system presence however Genesys spells it: "On Queue" (older APIs) or "OnQueue"."""
    if text is None:
        return None
    squashed = text.replace(" ", "").replace("_", "").lower()
    return next((p for p in PresenceState if p.value.replace("_", "") == squashed), None)


@dataclass(frozen=True, slots=True)
class PresenceDefinition:
    """One of the org's presences (``OrganizationPresenceDefinition``).

    A primary (``type: System``) definition stands for a system presence itself; a secondary
    (``type: User``) one is an org-defined presence under a system presence, known by its
    labels (locale -> text).
    """

    id: str
    system_presence: PresenceState | None
    labels: Mapping[str, str]
    secondary: bool
    deactivated: bool

    @classmethod
    def from_json(cls, value: Json) -> PresenceDefinition:
        """Parse an entry of ``GET /api/v2/presence/definitions``."""
        data = _object(value, "presence definition")
        labels = _object(data.get("languageLabels") or {}, "languageLabels")
        return cls(
            id=_str(data, "id"),
            system_presence=_system_presence(_optional_str(data, "systemPresence")),
            labels={
                locale: text
                for locale, text in labels.items()
                if isinstance(locale, str) and isinstance(text, str) and text
            },
            secondary=_optional_str(data, "type") == "User",
            deactivated=_bool(data, "deactivated"),
        )

    def label(self, language: str) -> str | None:
        """The label in ``language`` ("de", "en-GB"...), else in US English, else any."""
        wanted = language.replace("-", "_").lower()
        by_locale = {locale.lower(): text for locale, text in self.labels.items()}
        for locale in (wanted, wanted.split("_")[0], "en_us", "en"):
            if locale in by_locale:
                return by_locale[locale]
        return next(iter(self.labels.values()), None)


@dataclass(frozen=True, slots=True)
class WrapupCode:
    """A wrap-up code an agent may give a call of a queue (``WrapupCode``)."""

    id: str
    name: str

    @classmethod
    def from_json(cls, value: Json) -> WrapupCode:
        """Parse an entry of ``GET /api/v2/routing/queues/{queueId}/wrapupcodes``."""
        data = _object(value, "wrapup code")
        return cls(id=_str(data, "id"), name=_str(data, "name"))


def parse_entities(value: Json, what: str) -> list[Json]:
    """The ``entities`` of a listing."""
    entities = _object(value, what).get("entities", [])
    if not isinstance(entities, list):
        raise GenesysResponseError(f"{what} has no entities list")
    return entities
