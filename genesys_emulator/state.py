"""The emulated org's data: users, stations, OAuth clients, conversations, audit records.

Plain dataclasses; how they look on the wire is `wire.py`'s business.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
import uuid

# Ids of configuration objects derive from their names, so a demo set up once (Home Assistant's
# config entry keys on the user id) keeps working across emulator runs.
_ID_NAMESPACE = uuid.UUID("0c6f5d2e-3b8a-4f7e-9a51-2d4c6e8f0a13")

ACTIVE_CALL_STATES = frozenset({"alerting", "dialing", "contacting", "offering", "connected"})
# The permissions an ordinary agent role grants; the participant PATCH needs any one of them.
AGENT_PERMISSIONS = frozenset(
    {
        "conversation:participant:wrapup",
        "conversation:call:record",
        "conversation:communication:disconnect",
    }
)


def utcnow() -> datetime:
    """The emulator's clock."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh random id, shaped like Genesys' UUIDs."""
    return str(uuid.uuid4())


def stable_id(kind: str, key: str) -> str:
    """An id that is the same on every run for the same kind and key."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{kind}:{key}"))


@dataclass(kw_only=True)
class User:
    """A Genesys Cloud user of the emulated org."""

    id: str
    name: str
    email: str
    jabber_id: str
    permissions: frozenset[str] = AGENT_PERMISSIONS
    station_id: str | None = None
    presence: str = "Available"
    presence_modified: datetime = field(default_factory=utcnow)
    routing_status: str = "OFF_QUEUE"
    routing_status_since: datetime = field(default_factory=utcnow)


@dataclass(kw_only=True)
class Station:
    """A WebRTC softphone station associated with one user."""

    id: str
    name: str
    user_id: str
    edge_group_id: str
    line_appearance_id: str
    associated_date: datetime = field(default_factory=utcnow)
    # webRtcPersistentEnabled: one peer connection carries every call.
    persistent: bool = False


@dataclass(frozen=True, kw_only=True)
class OAuthClient:
    """An OAuth client of the org."""

    id: str
    secret: str
    name: str
    grant_types: frozenset[str]


@dataclass(kw_only=True)
class Wrapup:
    """The wrap-up an agent gave a finished call."""

    code: str
    name: str
    end_time: datetime
    duration_seconds: int


@dataclass(kw_only=True)
class Participant:
    """One party of a call conversation, with its single call communication."""

    id: str = field(default_factory=new_id)
    purpose: str
    name: str
    address: str
    direction: str
    state: str
    initial_state: str = ""
    start_time: datetime = field(default_factory=utcnow)
    call_id: str = field(default_factory=new_id)
    user_id: str | None = None
    user_name: str | None = None
    queue_id: str | None = None
    queue_name: str | None = None
    connected_time: datetime | None = None
    end_time: datetime | None = None
    start_hold_time: datetime | None = None
    held: bool = False
    muted: bool = False
    confined: bool = False
    disconnect_type: str | None = None
    wrapup_required: bool = False
    start_acw_time: datetime | None = None
    end_acw_time: datetime | None = None
    wrapup: Wrapup | None = None
    ani: str | None = None
    dnis: str | None = None
    peer: str | None = None
    consult_participant_id: str | None = None
    alerting_timeout_ms: int | None = None

    def __post_init__(self) -> None:
        """A participant starts in its initial state."""
        self.initial_state = self.initial_state or self.state

    @property
    def active(self) -> bool:
        """Whether the call leg is still up (not disconnected or terminated)."""
        return self.state in ACTIVE_CALL_STATES


@dataclass(kw_only=True)
class Conversation:
    """A call conversation; every change is published as a whole snapshot."""

    id: str = field(default_factory=new_id)
    participants: list[Participant] = field(default_factory=list)

    def participant(self, participant_id: str) -> Participant | None:
        """The participant with that id, if any."""
        return next((p for p in self.participants if p.id == participant_id), None)

    def user_participant(self, user_id: str) -> Participant | None:
        """The user's latest participant (a user may join the same call again)."""
        return next((p for p in reversed(self.participants) if p.user_id == user_id), None)

    def user_ids(self) -> list[str]:
        """The users taking part, each once, in order of joining."""
        return list(dict.fromkeys(p.user_id for p in self.participants if p.user_id))


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One /api/v2 request, or one mute made elsewhere ("desktop", "supervisor")."""

    time: datetime
    method: str
    path: str
    user_id: str | None
    body: Any
    status: int
    source: str = "api"


@dataclass(kw_only=True)
class Org:
    """The org's configuration: what survives an emulator restart."""

    name: str
    id: str = field(init=False)
    home_division_id: str = field(init=False)
    users: dict[str, User] = field(default_factory=dict)
    stations: dict[str, Station] = field(default_factory=dict)
    clients: dict[str, OAuthClient] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Derive the org's ids from its name."""
        self.id = stable_id("org", self.name)
        self.home_division_id = stable_id("division", self.name)

    @property
    def jabber_domain(self) -> str:
        """The XMPP domain of the org's chat ids."""
        return f"{self.name.lower().replace(' ', '')}.orgspan.com"

    def add_user(self, name: str, email: str, permissions: frozenset[str]) -> User:
        """Create (or return, when the email is taken) a user."""
        user_id = stable_id("user", email)
        if user_id not in self.users:
            jabber = uuid.UUID(user_id).hex[:24]
            self.users[user_id] = User(
                id=user_id,
                name=name,
                email=email,
                jabber_id=f"{jabber}@{self.jabber_domain}",
                permissions=permissions,
            )
        return self.users[user_id]

    def add_station(self, user: User) -> Station:
        """Give the user a WebRTC station (the one it has, if any)."""
        if user.station_id is None:
            station = Station(
                id=stable_id("station", user.id),
                name=f"WebRTC - {user.name}",
                user_id=user.id,
                edge_group_id=stable_id("edgegroup", self.name),
                line_appearance_id=stable_id("lineappearance", user.id),
            )
            self.stations[station.id] = station
            user.station_id = station.id
        return self.stations[user.station_id]
