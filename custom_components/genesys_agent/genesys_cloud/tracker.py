"""Event ordering and state: frames and REST reads in, one immutable snapshot out.

Ordering. Genesys' envelopes carry no sequence number (``version`` is the schema's), and every
conversation event is a whole snapshot. After every (re)connect the session re-reads the agent's
calls, presence and routing status through REST, with the new socket already open; events that
arrive while any REST read is in flight are held back and applied after it, in order. Every change
made before the REST read began produced an event on the open socket, so replaying the held events
ends in the newest state.

The rules on top (each has a test):

* An event may only move the agent's leg forward through its life: ringing or dialing, then
  connected, then disconnected (awaiting wrap-up, then done), then terminated. A snapshot that
  would move it back is stale and ignored; held and muted changes are not moves. States this
  client does not know (``parked``, ``converting``, ...) move the leg neither way.
* A REST read is the truth: it replaces whatever earlier events claimed, even a leg an event had
  marked as ended.
* Only what the agent's state needs is kept: their calls that are not over (at most
  ``CALLS_KEPT``, the least followed dropped first) and the stage of the last ``LEGS_REMEMBERED``
  legs, so the cost of an event does not grow with the day's history.
* A snapshot identical to the one kept changes nothing and is not published.
"""

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
import contextlib
from dataclasses import field, fields
import logging
from operator import attrgetter
from types import MappingProxyType
from typing import cast

from .exceptions import GenesysResponseError
from .models import (
    Agent,
    CallConversation,
    CallState,
    ChannelTopic,
    MuteSource,
    Notification,
    Participant,
    PresenceState,
    RoutingState,
    event_model,
    parse_presence,
    parse_presence_definition_id,
    parse_routing_status,
)
from .state import (
    CONNECTED_STAGE,
    DISCONNECTED_STAGE,
    OVER_STAGE,
    SETTING_UP_STAGE,
    AgentState,
    follow_rank,
    followed_state,
    leg_stage,
)

_LOGGER = logging.getLogger(__package__)

# How many legs' stages are remembered to refuse stale snapshots, and how many calls are kept.
LEGS_REMEMBERED = 256
CALLS_KEPT = 16
SOCKET_CLOSING_TOPIC = "v2.system.socket_closing"
_NO_CONVERSATIONS: Mapping[str, CallConversation] = MappingProxyType({})


@event_model
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
    # Kinds of command ("mute", ...) sent but not confirmed by an event within about a second:
    # Genesys is being asked (read back) or has not answered yet.
    pending_commands: frozenset[str] = frozenset()
    # The agent's topics Genesys refused (ids after ``v2.users.{id}.``); every other is permitted.
    rejected_topics: tuple[ChannelTopic, ...] = ()

    def permits(self, topic: str) -> bool:
        """Whether Genesys sends the agent's ``topic`` (``presence``, ``conversations.calls``…)."""
        # Asked by every entity on every event; nearly always nothing is rejected.
        return not self.rejected_topics or all(r.id != topic for r in self.rejected_topics)

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

    def with_changes(self, changes: Mapping[str, object]) -> SessionSnapshot:
        """A copy with ``changes``; ``dataclasses.replace`` takes twice as long, at every event."""
        values = zip(_SNAPSHOT_FIELDS, _snapshot_values(self), strict=True)
        return SessionSnapshot(*[changes.get(name, value) for name, value in values])  # type: ignore[arg-type]


_SNAPSHOT_FIELDS = tuple(f.name for f in fields(SessionSnapshot))
_snapshot_values = attrgetter(*_SNAPSHOT_FIELDS)


type SnapshotListener = Callable[[SessionSnapshot], None]
type SnapshotPredicate = Callable[[SessionSnapshot], bool]


class StateTracker:
    """Applies frames and REST reads in order; publishes every change to one listener."""

    def __init__(self, listener: SnapshotListener) -> None:
        """Start from an empty snapshot."""
        self._listener = listener
        self._snapshot = SessionSnapshot()
        self._user_id = ""
        # The prefix of every topic about the agent (read at every frame).
        self._topic_prefix = "v2.users.."
        self._rest_reads = 0
        self._held_back: list[Notification] = []
        # How far each leg seen lately got (see state.leg_stage), least recently seen first.
        self._leg_stages: OrderedDict[str, int] = OrderedDict()
        # The calls kept (the snapshot's, copied before a change), and for each: how strongly the
        # entities follow it (lower first), and the agent's leg of it.
        self._conversations: dict[str, CallConversation] = {}
        # (A rank ends with its call's id: the best and the least are found by comparing ranks
        # alone, with no key function, at every event.)
        self._ranks: dict[str, tuple[int, float, str]] = {}
        self._legs: dict[str, Participant] = {}
        # Set at the next change; made only when someone waits for one.
        self._changed: asyncio.Event | None = None
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
    def user_id(self) -> str:
        """The agent's user id ("" before ``set_agent``)."""
        return self._user_id

    @property
    def topic_prefix(self) -> str:
        """The prefix of every topic about this agent."""
        return self._topic_prefix

    def set_agent(self, agent: Agent) -> None:
        """The agent whose legs and topics count."""
        self._user_id, self._topic_prefix = agent.id, f"v2.users.{agent.id}."
        self._snapshot = self._snapshot.with_changes({"agent": agent})

    async def changed(self) -> None:
        """Wait for the next published change."""
        if self._changed is None:
            self._changed = asyncio.Event()
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
        self._ranks.clear()
        self._legs.clear()
        conversations: dict[str, CallConversation] = {}
        for conversation in calls:
            leg = conversation.user_participant(self._user_id)
            if leg is not None and self._admit(conversation.id, leg, truth=True):
                conversations[conversation.id] = conversation
                self._follow(conversation.id, leg)
        self._publish_conversations(
            conversations,
            agent=agent,
            presence=agent.presence,
            presence_definition_id=agent.presence_definition_id,
            routing_status=agent.routing_status,
            connected=True,
            auth_failed=False,
        )

    def apply_conversation(self, conversation: CallConversation) -> None:
        """Apply one conversation read through REST: the truth, whatever events said before."""
        self._store(conversation, truth=True)

    # ------------------------------------------------------------------ frames

    def handle_frame(self, text: str) -> bool:
        """Apply one frame (or hold it back); True when Genesys announces the socket's closing."""
        try:
            notification = Notification.decode(text)
        except (ValueError, GenesysResponseError):
            _LOGGER.debug("Ignored a malformed frame of %d characters", len(text))
            return False
        if notification.topic == SOCKET_CLOSING_TOPIC:
            return True
        if not notification.topic.startswith(self._topic_prefix):
            return False  # heartbeats, pongs, and anything not about this agent
        if self._rest_reads:
            self._held_back.append(notification)
        else:
            self._apply(notification)
        return False

    def _apply(self, notification: Notification) -> None:
        topic = notification.topic.removeprefix(self._topic_prefix)
        snapshot = self._snapshot
        try:
            match topic:
                case "conversations.calls":
                    conversation = CallConversation.from_json(
                        notification.body, own_user_id=self._user_id
                    )
                    self._store(conversation, truth=False)
                case "presence":
                    presence = parse_presence(notification.body)
                    definition_id = parse_presence_definition_id(notification.body)
                    if (presence, definition_id) != (
                        snapshot.presence,
                        snapshot.presence_definition_id,
                    ):
                        self.publish(presence=presence, presence_definition_id=definition_id)
                case "routingStatus":
                    routing_status = parse_routing_status(notification.body)
                    if routing_status != snapshot.routing_status:
                        self.publish(routing_status=routing_status)
        except GenesysResponseError as err:
            _LOGGER.debug("Ignored an unreadable %s event: %s", topic, err)

    # ------------------------------------------------------------------ conversations

    def _admit(self, conversation_id: str, leg: Participant, *, truth: bool) -> bool | None:
        """Whether to keep a snapshot of the agent's ``leg`` (True) or drop it as over (False).

        None: (for an event) a move back of the leg. Remembers how far the leg got; a REST
        read (``truth``) overrides what was remembered.
        """
        stage = leg_stage(leg)
        if not truth:
            known = self._known_stage(conversation_id, leg.id)
            if known is not None:
                if stage is None and known >= DISCONNECTED_STAGE:
                    return None  # an unknown state does not revive an ended leg
                if stage is not None and stage < known:
                    return None
        if stage is None and truth:
            stage = CONNECTED_STAGE if leg.connected_time else SETTING_UP_STAGE
        if stage is not None:
            self._leg_stages[leg.id] = stage
            self._leg_stages.move_to_end(leg.id)
            if len(self._leg_stages) > LEGS_REMEMBERED:
                self._leg_stages.popitem(last=False)
        return stage is None or stage < OVER_STAGE

    def _known_stage(self, conversation_id: str, leg_id: str) -> int | None:
        """How far the leg got: by memory, or by the conversation kept (memory is bounded)."""
        known = self._leg_stages.get(leg_id)
        kept_leg = self._legs.get(conversation_id)
        kept_stage = leg_stage(kept_leg) if kept_leg is not None and kept_leg.id == leg_id else None
        if known is None or kept_stage is None:
            return kept_stage if known is None else known
        return max(known, kept_stage)

    def _store(self, conversation: CallConversation, *, truth: bool) -> None:
        kept = self._conversations
        if not truth and kept.get(conversation.id) == conversation:
            return  # the same snapshot again: nothing changed
        leg = conversation.user_participant(self._user_id)
        if leg is None:
            return  # not the agent's
        keep = self._admit(conversation.id, leg, truth=truth)
        if keep is None or (not keep and conversation.id not in kept):
            return
        conversations = kept.copy()
        if keep:
            conversations[conversation.id] = conversation
            self._follow(conversation.id, leg)
        else:
            del conversations[conversation.id], self._ranks[conversation.id]
            del self._legs[conversation.id]
        self._publish_conversations(conversations)

    def _follow(self, conversation_id: str, leg: Participant) -> None:
        """Remember how strongly the entities would follow a kept call, and the agent's leg."""
        priority, newness = follow_rank(leg) or (len(CallState), 0.0)
        self._ranks[conversation_id] = priority, newness, conversation_id
        self._legs[conversation_id] = leg

    def _publish_conversations(
        self, conversations: dict[str, CallConversation], **changes: object
    ) -> None:
        """Publish the calls kept: at most CALLS_KEPT, the ones followed last dropped first."""
        while len(conversations) > CALLS_KEPT:
            least = max(self._ranks.values())[2]
            del conversations[least], self._ranks[least], self._legs[least]
        self._conversations = conversations
        self.publish(conversations=MappingProxyType(conversations), **changes)

    def _followed_state(self, conversations: Mapping[str, CallConversation]) -> AgentState:
        """The agent's state: the call the entities follow (see state.follow_rank)."""
        if not self._ranks:
            return AgentState()
        best = min(self._ranks.values())[2]
        return followed_state(conversations[best], self._legs[best])

    def publish(self, **changes: object) -> None:
        """Replace the snapshot, derive the agent's state, and tell the listener."""
        old = self._snapshot
        conversations = cast(
            Mapping[str, CallConversation], changes.get("conversations", old.conversations)
        )
        new = (
            self._followed_state(conversations)
            if conversations is not old.conversations
            else old.agent_state
        )
        source = changes.get("last_mute_source", old.last_mute_source)
        if new.participant_id != old.agent_state.participant_id:
            source = None  # another call (or none): no change of its mute seen yet
        elif new.muted != old.agent_state.muted:
            ours = self.expected_mute == (new.participant_id, new.muted)
            source = MuteSource.INTEGRATION if ours else MuteSource.ELSEWHERE
        changes.update(agent_state=new, last_mute_source=source)
        self._snapshot = old.with_changes(changes)
        for predicate, seen in self._watches:
            if predicate(self._snapshot):
                seen.set()
        if self._changed is not None:
            self._changed.set()
            self._changed = None
        try:
            self._listener(self._snapshot)
        except Exception:
            _LOGGER.exception("The session's listener failed")
