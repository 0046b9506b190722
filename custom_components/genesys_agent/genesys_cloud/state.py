"""The agent's call state, derived from conversation snapshots by pure functions."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .models import CallConversation, CallDirection, CallState, Participant

# Which leg wins when the agent has several calls: talking beats holding beats ringing...
_PRIORITY = (
    CallState.CONNECTED,
    CallState.ON_HOLD,
    CallState.RINGING,
    CallState.DIALING,
    CallState.WRAP_UP,
)
# States in which muting the agent's leg means something to the other party.
MUTABLE_STATES = frozenset({CallState.CONNECTED, CallState.ON_HOLD, CallState.DIALING})


@dataclass(frozen=True, slots=True)
class AgentState:
    """What the home needs to know about the agent's call."""

    call_state: CallState = CallState.IDLE
    conversation_id: str | None = None
    participant_id: str | None = None
    muted: bool | None = None
    held: bool = False
    direction: CallDirection | None = None
    queue_name: str | None = None
    remote_address: str | None = field(default=None, repr=False)  # a phone number
    connected_since: datetime | None = None

    @property
    def can_mute(self) -> bool:
        """There is a call whose agent leg can be muted."""
        return self.participant_id is not None and self.call_state in MUTABLE_STATES


def leg_call_state(leg: Participant) -> CallState | None:
    """The call state one of the agent's legs stands for (None: it no longer matters)."""
    match leg.state:
        case "connected":
            return CallState.ON_HOLD if leg.held else CallState.CONNECTED
        case "alerting" | "offering":
            return CallState.RINGING
        case "dialing" | "contacting":
            return CallState.DIALING
        case "disconnected" if leg.awaits_wrapup:
            return CallState.WRAP_UP
    return None


def derive_agent_state(user_id: str, conversations: Iterable[CallConversation]) -> AgentState:
    """The agent's state from the latest snapshots: their most relevant leg, newest first."""
    candidates: list[tuple[int, float, CallConversation, Participant, CallState]] = []
    for conversation in conversations:
        leg = conversation.user_participant(user_id)
        if leg is None or (state := leg_call_state(leg)) is None:
            continue
        started = leg.connected_time or leg.start_time
        newest_first = -started.timestamp() if started else 0.0
        candidates.append((_PRIORITY.index(state), newest_first, conversation, leg, state))
    if not candidates:
        return AgentState()
    # Highest priority first; among equals the newest.
    _, _, conversation, leg, state = min(candidates, key=lambda c: (c[0], c[1]))
    remote = conversation.remote_participant()
    return AgentState(
        call_state=state,
        conversation_id=conversation.id,
        participant_id=leg.id,
        muted=leg.muted,
        held=leg.held,
        direction=leg.direction,
        queue_name=leg.queue_name,
        remote_address=(remote.ani or remote.address) if remote else None,
        connected_since=leg.connected_time if state is not CallState.RINGING else None,
    )


class CallEventType(StrEnum):
    """What an automation can trigger on."""

    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"
    MUTED = "muted"
    UNMUTED = "unmuted"


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One change of the agent's call."""

    type: CallEventType
    conversation_id: str | None


_LIVE = frozenset({CallState.RINGING, CallState.DIALING, CallState.CONNECTED, CallState.ON_HOLD})
_TALKING = frozenset({CallState.CONNECTED, CallState.ON_HOLD})


def diff_call_events(old: AgentState, new: AgentState) -> list[CallEvent]:
    """The events between two successive states, in the order they happened."""
    events: list[CallEvent] = []
    same_call = old.conversation_id == new.conversation_id
    if old.call_state in _LIVE and not (same_call and new.call_state in _LIVE):
        events.append(CallEvent(CallEventType.ENDED, old.conversation_id))
    if new.call_state is CallState.RINGING and not (
        same_call and old.call_state is CallState.RINGING
    ):
        events.append(CallEvent(CallEventType.RINGING, new.conversation_id))
    if new.call_state in _TALKING and not (same_call and old.call_state in _TALKING):
        events.append(CallEvent(CallEventType.ANSWERED, new.conversation_id))
    if same_call and new.call_state in _LIVE and old.muted is not None and new.muted is not None:
        if new.muted and not old.muted:
            events.append(CallEvent(CallEventType.MUTED, new.conversation_id))
        elif old.muted and not new.muted:
            events.append(CallEvent(CallEventType.UNMUTED, new.conversation_id))
    return events
