"""The agent's call state, derived from conversation snapshots by pure functions."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .models import CallConversation, CallDirection, CallState, Participant, event_model

# Which call the entities follow when the agent has several, first beats later: the call being
# talked on, then one being dialled (a consult placed while the customer waits on hold), then one
# ringing (it must show and fire "ringing" although another call is held), then a held one, then
# the wrap-up of an ended one. Among equals, the newest.
_PRIORITY = (
    CallState.CONNECTED,
    CallState.DIALING,
    CallState.RINGING,
    CallState.ON_HOLD,
    CallState.WRAP_UP,
)
# States in which muting the agent's leg means something to the other party.
MUTABLE_STATES = frozenset({CallState.CONNECTED, CallState.ON_HOLD, CallState.DIALING})
# How far through its life a leg is: a leg only moves forward. States this client does not know
# (Genesys has parked, converting, scheduled, none, ...) have no stage: they move it neither way.
SETTING_UP_STAGE = 0  # alerting, offering, contacting, dialing
CONNECTED_STAGE = 1
DISCONNECTED_STAGE = 2  # awaiting wrap-up
OVER_STAGE = 3  # disconnected with nothing owed: from here on the call is over for the agent
TERMINATED_STAGE = 4
_STAGES = {
    "alerting": SETTING_UP_STAGE,
    "offering": SETTING_UP_STAGE,
    "contacting": SETTING_UP_STAGE,
    "dialing": SETTING_UP_STAGE,
    "connected": CONNECTED_STAGE,
    "disconnected": DISCONNECTED_STAGE,
    "terminated": TERMINATED_STAGE,
}


@event_model
class AgentState:
    """What the home needs to know about the agent's call."""

    call_state: CallState = CallState.IDLE
    conversation_id: str | None = None
    participant_id: str | None = None
    # The followed leg's server-side mute while it is connected, held or dialing; otherwise (no
    # call, ringing, ended, wrap-up) not muted.
    muted: bool = False
    held: bool = False
    direction: CallDirection | None = None
    queue_name: str | None = None
    remote_address: str | None = field(default=None, repr=False)  # a phone number
    connected_since: datetime | None = None

    @property
    def can_mute(self) -> bool:
        """There is a call whose agent leg can be muted."""
        return self.participant_id is not None and self.call_state in MUTABLE_STATES


def leg_stage(leg: Participant) -> int | None:
    """How far the leg is through its life (see _STAGES); None for a state not known here."""
    stage = _STAGES.get(leg.state or "")
    if stage == DISCONNECTED_STAGE and not leg.awaits_wrapup:
        return OVER_STAGE
    return stage


# The call state of a leg in a state that says it alone (connected and disconnected need more).
_CALL_STATES: dict[str, CallState | None] = {
    "alerting": CallState.RINGING,
    "offering": CallState.RINGING,
    "dialing": CallState.DIALING,
    "contacting": CallState.DIALING,
    "parked": CallState.ON_HOLD,
    "terminated": None,
}
_PRIORITY_RANKS = {state: rank for rank, state in enumerate(_PRIORITY)}


def leg_call_state(leg: Participant) -> CallState | None:
    """The call state one of the agent's legs stands for (None: it no longer matters)."""
    state = leg.state
    if state == "connected":
        return CallState.ON_HOLD if leg.held else CallState.CONNECTED
    if state == "disconnected":
        return CallState.WRAP_UP if leg.awaits_wrapup else None
    if state in _CALL_STATES:
        return _CALL_STATES[state]
    # A state this client does not know does not end the call: it goes on as far as it got.
    if leg.connected_time is not None:
        return CallState.ON_HOLD if leg.held else CallState.CONNECTED
    return CallState.DIALING if leg.direction is CallDirection.OUTBOUND else CallState.RINGING


def follow_rank(leg: Participant) -> tuple[int, float] | None:
    """How strongly the entities follow this leg's call (lower first); None: not at all."""
    state = leg_call_state(leg)
    if state is None:
        return None
    started = leg.connected_time or leg.start_time
    return _PRIORITY_RANKS[state], -started.timestamp() if started else 0.0


def derive_agent_state(user_id: str, conversations: Iterable[CallConversation]) -> AgentState:
    """The agent's state from the latest snapshots: their most relevant leg, newest first."""
    best: tuple[tuple[int, float], CallConversation, Participant] | None = None
    for conversation in conversations:
        leg = conversation.user_participant(user_id)
        if leg is None or (rank := follow_rank(leg)) is None:
            continue
        if best is None or rank < best[0]:
            best = rank, conversation, leg
    if best is None:
        return AgentState()
    _, conversation, leg = best
    return followed_state(conversation, leg)


def followed_state(conversation: CallConversation, leg: Participant) -> AgentState:
    """The agent's state when the entities follow ``leg`` of ``conversation``."""
    state = leg_call_state(leg)
    if state is None:
        return AgentState()
    remote = conversation.remote_participant()
    return AgentState(  # positional: built at every event
        state,
        conversation.id,
        leg.id,
        leg.muted and state in MUTABLE_STATES,
        state is CallState.ON_HOLD,
        leg.direction,
        leg.queue_name,
        (remote.ani or remote.address) if remote else None,
        leg.connected_time if state is not CallState.RINGING else None,
    )


class CallEventType(StrEnum):
    """What an automation can trigger on."""

    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"
    HELD = "held"
    RESUMED = "resumed"
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
    if same_call and old.call_state in _TALKING and new.call_state in _TALKING:
        if new.call_state is CallState.ON_HOLD and old.call_state is CallState.CONNECTED:
            events.append(CallEvent(CallEventType.HELD, new.conversation_id))
        elif old.call_state is CallState.ON_HOLD and new.call_state is CallState.CONNECTED:
            events.append(CallEvent(CallEventType.RESUMED, new.conversation_id))
    if same_call and new.call_state in _LIVE:
        if new.muted and not old.muted:
            events.append(CallEvent(CallEventType.MUTED, new.conversation_id))
        elif old.muted and not new.muted:
            events.append(CallEvent(CallEventType.UNMUTED, new.conversation_id))
    return events
