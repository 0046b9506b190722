"""Event ordering and state: frames and REST reads in, one immutable snapshot out.

Ordering. Genesys' envelopes carry no sequence number (``version`` is the schema's), and every
conversation event is a whole snapshot. After every (re)connect the session re-reads the agent's
calls, presence and routing status through REST, with the new socket already open; events that
arrive while any REST read is in flight are held back and applied after it, in order. Every change
made before the REST read began produced an event on the open socket, so replaying the held events
ends in the newest state. On top of that, an agent's leg only moves forward through its life
(live, then ended awaiting wrap-up, then over): a snapshot that would move it back is refused.
"""

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
import contextlib
from dataclasses import dataclass, field, replace
import json
import logging
from types import MappingProxyType

from .exceptions import GenesysResponseError
from .models import (
    Agent,
    CallConversation,
    ChannelTopic,
    MuteSource,
    Notification,
    Participant,
    PresenceState,
    RoutingState,
    parse_presence,
    parse_presence_definition_id,
    parse_routing_status,
)
from .state import AgentState, derive_agent_state

_LOGGER = logging.getLogger(__package__)

# How many ended legs are remembered to refuse stale snapshots.
ENDED_LEGS_KEPT = 256
SOCKET_CLOSING_TOPIC = "v2.system.socket_closing"
_NO_CONVERSATIONS: Mapping[str, CallConversation] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """Everything the session knows, replaced (never mutated) on every change."""

    agent: Agent | None = None
    conversations: Mapping[str, CallConversation] = _NO_CONVERSATIONS
    agent_state: AgentState = field(default_factory=AgentState)
    presence: PresenceState | None = None
    routing_status: RoutingState | None = None
    # The socket is up and the state was re-read after it came up.
    connected: bool = False
    # Genesys refused the login for good: the session stopped; a new login is needed.
    auth_failed: bool = False
    # Who made the last mute change of the current call (None: no change seen yet).
    last_mute_source: MuteSource | None = None
    # The agent's topics Genesys refused (ids after ``v2.users.{id}.``); every other is permitted.
    rejected_topics: tuple[ChannelTopic, ...] = ()

    def permits(self, topic: str) -> bool:
        """Whether Genesys sends the agent's ``topic`` (``presence``, ``conversations.calls``…)."""
        return all(rejected.id != topic for rejected in self.rejected_topics)

    # The org presence definition the agent is in (``presence`` is its system presence).
    presence_definition_id: str | None = None

    def leg(self, conversation_id: str | None, participant_id: str | None) -> Participant | None:
        """One leg of a known conversation (None once the conversation is over or unknown)."""
        conversation = self.conversations.get(conversation_id or "")
        if conversation is None:
            return None
        return next((p for p in conversation.participants if p.id == participant_id), None)

    @property
    def agent_leg(self) -> Participant | None:
        """The agent's own leg of the followed call."""
        return self.leg(self.agent_state.conversation_id, self.agent_state.participant_id)


type SnapshotListener = Callable[[SessionSnapshot], None]
type SnapshotPredicate = Callable[[SessionSnapshot], bool]


def _leg_stage(leg: Participant) -> int:
    """How far a leg is through its life: live (0), ended awaiting wrap-up (1), over (2)."""
    if not leg.is_terminal:
        return 0
    return 1 if leg.awaits_wrapup else 2


class StateTracker:
    """Applies frames and REST reads in order; publishes every change to one listener."""

    def __init__(self, listener: SnapshotListener) -> None:
        """Start from an empty snapshot."""
        self._listener = listener
        self._snapshot = SessionSnapshot()
        self.user_id = ""
        self._rest_reads = 0
        self._held_back: list[Notification] = []
        # Legs that ended, and how far (see _leg_stage), oldest first.
        self._ended_legs: OrderedDict[str, int] = OrderedDict()
        self._changed = asyncio.Event()
        # Conditions someone waits for, each with the event set once a published state met it,
        # however briefly: someone else may change the state again right after.
        self._watches: list[tuple[SnapshotPredicate, asyncio.Event]] = []
        # The mute change a command of ours is making: (participant id, muted).
        self.expected_mute: tuple[str, bool] | None = None

    @property
    def snapshot(self) -> SessionSnapshot:
        """The latest state."""
        return self._snapshot

    @property
    def topic_prefix(self) -> str:
        """The prefix of every topic about this agent."""
        return f"v2.users.{self.user_id}."

    def set_agent(self, agent: Agent) -> None:
        """The agent whose legs and topics count."""
        self.user_id = agent.id
        self._snapshot = replace(self._snapshot, agent=agent)

    async def changed(self) -> None:
        """Wait for the next published change."""
        await self._changed.wait()

    @contextlib.contextmanager
    def watch(self, predicate: SnapshotPredicate) -> Iterator[asyncio.Event]:
        """An event set once any published snapshot (the current one too) meets ``predicate``."""
        seen = asyncio.Event()
        if predicate(self._snapshot):
            seen.set()
        entry = (predicate, seen)
        self._watches.append(entry)
        try:
            yield seen
        finally:
            self._watches.remove(entry)

    # ------------------------------------------------------------------ REST reads

    @contextlib.asynccontextmanager
    async def rest_read(self) -> AsyncIterator[None]:
        """Hold events back while REST is read; apply them after, in order."""
        self._rest_reads += 1
        try:
            yield
        finally:
            self._rest_reads -= 1
            if not self._rest_reads:
                held_back, self._held_back = self._held_back, []
                for notification in held_back:
                    self._apply(notification)

    def apply_resync(self, calls: list[CallConversation], agent: Agent) -> None:
        """Replace everything known with what REST says now; nothing stale survives."""
        conversations = {
            conversation.id: conversation for conversation in calls if self._admit(conversation)
        }
        self.publish(
            conversations=MappingProxyType(conversations),
            agent=agent,
            presence=agent.presence,
            presence_definition_id=agent.presence_definition_id,
            routing_status=agent.routing_status,
            connected=True,
            auth_failed=False,
        )

    # ------------------------------------------------------------------ frames

    def handle_frame(self, text: str) -> bool:
        """Apply one frame (or hold it back); True when Genesys announces the socket's closing."""
        try:
            notification = Notification.from_json(json.loads(text))
        except (ValueError, GenesysResponseError):
            _LOGGER.debug("Ignored a malformed frame of %d characters", len(text))
            return False
        if notification.topic == SOCKET_CLOSING_TOPIC:
            return True
        if not notification.topic.startswith(self.topic_prefix):
            return False  # heartbeats, pongs, and anything not about this agent
        if self._rest_reads:
            self._held_back.append(notification)
        else:
            self._apply(notification)
        return False

    def _apply(self, notification: Notification) -> None:
        topic = notification.topic.removeprefix(self.topic_prefix)
        try:
            match topic:
                case "conversations.calls":
                    self.apply_conversation(CallConversation.from_json(notification.body))
                case "presence":
                    self.publish(
                        presence=parse_presence(notification.body),
                        presence_definition_id=parse_presence_definition_id(notification.body),
                    )
                case "routingStatus":
                    self.publish(routing_status=parse_routing_status(notification.body))
        except GenesysResponseError as err:
            _LOGGER.debug("Ignored an unreadable %s event: %s", topic, err)

    def _admit(self, conversation: CallConversation) -> bool | None:
        """Whether to keep a snapshot (True) or drop its conversation as over (False).

        None: not the agent's, or older than what is known. Remembers how far ended legs got,
        so that no older snapshot moves them back.
        """
        leg = conversation.user_participant(self.user_id)
        if leg is None:
            return None
        stage = _leg_stage(leg)
        if stage < self._ended_legs.get(leg.id, 0):
            return None
        if stage:
            self._ended_legs[leg.id] = stage
            while len(self._ended_legs) > ENDED_LEGS_KEPT:
                self._ended_legs.popitem(last=False)
        return stage < 2

    def apply_conversation(self, conversation: CallConversation) -> None:
        """Apply one conversation snapshot, from an event or a REST read."""
        keep = self._admit(conversation)
        if keep is None:
            return
        conversations = dict(self._snapshot.conversations)
        if keep:
            conversations[conversation.id] = conversation
        else:
            conversations.pop(conversation.id, None)
        self.publish(conversations=MappingProxyType(conversations))

    def publish(self, **changes: object) -> None:
        """Replace the snapshot, derive the agent's state, and tell the listener."""
        snapshot = replace(self._snapshot, **changes)  # type: ignore[arg-type]
        old = self._snapshot.agent_state
        new = derive_agent_state(self.user_id, snapshot.conversations.values())
        source = snapshot.last_mute_source
        if new.participant_id != old.participant_id:
            source = None  # another call (or none): no change of its mute seen yet
        elif new.muted != old.muted:
            ours = self.expected_mute == (new.participant_id, new.muted)
            source = MuteSource.INTEGRATION if ours else MuteSource.ELSEWHERE
        self._snapshot = replace(snapshot, agent_state=new, last_mute_source=source)
        for predicate, seen in self._watches:
            if predicate(self._snapshot):
                seen.set()
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        try:
            self._listener(self._snapshot)
        except Exception:
            _LOGGER.exception("The session's listener failed")
