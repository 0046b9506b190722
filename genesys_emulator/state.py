"""The emulated org's data: users, stations, OAuth clients, queues, presences, conversations.

Plain dataclasses; how they look on the wire is `wire.py`'s business.

The org starts with Genesys' ten system presences and a few secondary (org-defined) ones, each
under a system presence; queues are made on first use (or by the control surface) with optional
wrap-up and a few wrap-up codes, the first being Genesys' "Default Wrap-up Code".
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
import uuid

# Ids of configuration objects derive from their names, so a demo set up once (Home Assistant's
# config entry keys on the user id) keeps working across emulator runs.
_ID_NAMESPACE = uuid.UUID("0c6f5d2e-3b8a-4f7e-9a51-2d4c6e8f0a13")

ACTIVE_CALL_STATES = frozenset({"alerting", "dialing", "contacting", "offering", "connected"})
SYSTEM_PRESENCES = (
    "Available",
    "Busy",
    "Away",
    "Break",
    "Meal",
    "Meeting",
    "Training",
    "On Queue",
    "Idle",
    "Offline",
)
ON_QUEUE = "On Queue"
# label -> (system presence, translations besides en_US, deactivated)
SECONDARY_PRESENCES: dict[str, tuple[str, dict[str, str], bool]] = {
    "Focus time": ("Busy", {"de": "Konzentriertes Arbeiten"}, False),
    "Team huddle": ("Meeting", {}, False),
    "Technical issue": ("Away", {}, False),
    "Smoke break": ("Break", {}, True),
}
WRAPUP_PROMPTS = frozenset({"mandatory", "optional"})
DEFAULT_WRAPUP_CODES = ("Default Wrap-up Code", "Resolved", "Escalated", "Callback requested")
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


@dataclass(frozen=True, kw_only=True)
class PresenceDefinition:
    """One of the org's presences: a system one, or a secondary one under a system presence."""

    id: str
    system_presence: str
    labels: dict[str, str]
    primary: bool
    deactivated: bool = False


@dataclass(frozen=True, kw_only=True)
class WrapupCode:
    """A wrap-up code an agent may give a call of a queue."""

    id: str
    name: str


@dataclass(kw_only=True)
class Queue:
    """An ACD queue: its wrap-up prompt (``mandatory`` or ``optional``) and wrap-up codes."""

    id: str
    name: str
    wrapup_prompt: str = "optional"
    wrapup_codes: list[WrapupCode] = field(default_factory=list)

    def wrapup_code(self, code_id: str) -> WrapupCode | None:
        """The queue's code with that id, if any."""
        return next((code for code in self.wrapup_codes if code.id == code_id), None)


@dataclass(kw_only=True)
class User:
    """A Genesys Cloud user of the emulated org."""

    id: str
    name: str
    email: str
    jabber_id: str
    permissions: frozenset[str] = AGENT_PERMISSIONS
    station_id: str | None = None
    presence: PresenceDefinition
    presence_message: str = ""
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
    notes: str | None = None
    tags: list[str] | None = None


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
    wrapup_prompt: str | None = None
    wrapup_skipped: bool = False
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
    queues: dict[str, Queue] = field(default_factory=dict)
    presences: dict[str, PresenceDefinition] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Derive the org's ids from its name; set up its presences."""
        self.id = stable_id("org", self.name)
        self.home_division_id = stable_id("division", self.name)
        for system_presence in SYSTEM_PRESENCES:
            self._add_presence(system_presence, system_presence, {}, primary=True)
        for label, (system_presence, translations, deactivated) in SECONDARY_PRESENCES.items():
            self.add_presence(label, system_presence, translations, deactivated=deactivated)

    def _add_presence(
        self,
        label: str,
        system_presence: str,
        translations: dict[str, str],
        *,
        primary: bool,
        deactivated: bool = False,
    ) -> PresenceDefinition:
        definition = PresenceDefinition(
            # A system presence's id derives from its name alone, as it always has here.
            id=stable_id("presence", label if primary else f"{system_presence}/{label}"),
            system_presence=system_presence,
            labels={"en_US": label, **translations},
            primary=primary,
            deactivated=deactivated,
        )
        self.presences[definition.id] = definition
        return definition

    def add_presence(
        self,
        label: str,
        system_presence: str,
        translations: dict[str, str] | None = None,
        *,
        deactivated: bool = False,
    ) -> PresenceDefinition:
        """Add (or replace) a secondary presence under a system presence."""
        if system_presence not in SYSTEM_PRESENCES:
            raise ValueError(f"unknown system presence {system_presence}")
        return self._add_presence(
            label, system_presence, translations or {}, primary=False, deactivated=deactivated
        )

    def system_presence(self, name: str) -> PresenceDefinition:
        """The definition of a system presence (``KeyError`` for an unknown name)."""
        return self.presences[stable_id("presence", name)]

    def queue(self, name: str) -> Queue:
        """The queue of that name, made with optional wrap-up and the default codes if new."""
        queue_id = stable_id("queue", name)
        if queue_id not in self.queues:
            self.set_queue(name, "optional", DEFAULT_WRAPUP_CODES)
        return self.queues[queue_id]

    def set_queue(self, name: str, wrapup_prompt: str, code_names: Sequence[str]) -> Queue:
        """Create or reconfigure a queue (its codes' ids derive from their names)."""
        if wrapup_prompt not in WRAPUP_PROMPTS:
            raise ValueError(f"wrap-up prompt must be one of {sorted(WRAPUP_PROMPTS)}")
        if not code_names:
            raise ValueError("a queue needs at least one wrap-up code")
        codes = [WrapupCode(id=stable_id("wrapupcode", n), name=n) for n in code_names]
        queue = Queue(
            id=stable_id("queue", name), name=name, wrapup_prompt=wrapup_prompt, wrapup_codes=codes
        )
        self.queues[queue.id] = queue
        return queue

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
                presence=self.system_presence("Available"),
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
