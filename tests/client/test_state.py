"""Deriving the agent's state from snapshots, and the events between two states."""

from datetime import UTC, datetime

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.genesys_agent.genesys_cloud import (
    Agent,
    AgentState,
    CallConversation,
    CallEventType,
    CallState,
    GenesysResponseError,
    derive_agent_state,
    diff_call_events,
)
from custom_components.genesys_agent.genesys_cloud.state import MUTABLE_STATES

AGENT = "agent-user"


def call(
    conversation_id: str, state: str, *, held: bool = False, muted: bool = False, **extra: object
) -> CallConversation:
    agent_leg = {
        "id": f"{conversation_id}-agent",
        "purpose": "agent",
        "state": state,
        "held": held,
        "muted": muted,
        "user": {"id": AGENT},
        "queue": {"id": "q", "name": "Support"},
        "direction": "inbound",
        "startTime": extra.pop("start", "2026-11-24T10:00:00.000Z"),
        **extra,
    }
    customer = {"id": f"{conversation_id}-customer", "purpose": "customer", "state": "connected",
                "ani": "tel:+15550100"}  # fmt: skip
    return CallConversation.from_json(
        {"id": conversation_id, "participants": [customer, agent_leg]}
    )


def test_no_calls_is_idle() -> None:
    assert derive_agent_state(AGENT, []) == AgentState()


def test_each_leg_state_maps_to_a_call_state() -> None:
    cases = {
        ("alerting", False): CallState.RINGING,
        ("dialing", False): CallState.DIALING,
        ("contacting", False): CallState.DIALING,
        ("connected", False): CallState.CONNECTED,
        ("connected", True): CallState.ON_HOLD,
    }
    for (state, held), expected in cases.items():
        assert derive_agent_state(AGENT, [call("c", state, held=held)]).call_state is expected
    wrapping = call("c", "disconnected", wrapupRequired=True)
    assert derive_agent_state(AGENT, [wrapping]).call_state is CallState.WRAP_UP
    done = call("c", "disconnected", wrapupRequired=True, wrapup={"code": "x"})
    assert derive_agent_state(AGENT, [done]).call_state is CallState.IDLE


def test_the_connected_call_wins_then_the_newest() -> None:
    held = call("held", "connected", held=True, start="2026-11-24T10:05:00Z")
    talking = call("talking", "connected", start="2026-11-24T10:00:00Z")
    ringing = call("ringing", "alerting", start="2026-11-24T10:06:00Z")
    state = derive_agent_state(AGENT, [held, ringing, talking])
    assert state.conversation_id == "talking"
    assert state.remote_address == "tel:+15550100"
    newer = call("newer", "connected", start="2026-11-24T10:09:00Z")
    assert derive_agent_state(AGENT, [talking, newer]).conversation_id == "newer"


def test_another_users_leg_is_not_ours() -> None:
    leg = {"id": "p", "purpose": "agent", "state": "connected", "user": {"id": "someone-else"}}
    theirs = CallConversation.from_json({"id": "c", "participants": [leg]})
    assert derive_agent_state(AGENT, [theirs]).call_state is CallState.IDLE


def events(old: AgentState, new: AgentState) -> list[CallEventType]:
    return [event.type for event in diff_call_events(old, new)]


def test_a_call_lifecycle_fires_ringing_answered_muted_unmuted_ended() -> None:
    idle = AgentState()
    ringing = derive_agent_state(AGENT, [call("c", "alerting")])
    talking = derive_agent_state(AGENT, [call("c", "connected")])
    muted = derive_agent_state(AGENT, [call("c", "connected", muted=True)])
    assert events(idle, ringing) == [CallEventType.RINGING]
    assert events(ringing, talking) == [CallEventType.ANSWERED]
    assert events(talking, muted) == [CallEventType.MUTED]
    assert events(muted, talking) == [CallEventType.UNMUTED]
    assert events(talking, idle) == [CallEventType.ENDED]
    assert events(talking, talking) == []


def test_hold_and_resume_fire_held_and_resumed_of_the_same_call_only() -> None:
    talking = derive_agent_state(AGENT, [call("c", "connected")])
    held = derive_agent_state(AGENT, [call("c", "connected", held=True)])
    held_muted = derive_agent_state(AGENT, [call("c", "connected", held=True, muted=True)])
    other_held = derive_agent_state(AGENT, [call("other", "connected", held=True)])
    assert events(talking, held) == [CallEventType.HELD]
    assert events(held, talking) == [CallEventType.RESUMED]
    assert events(held, held_muted) == [CallEventType.MUTED]
    # Another call on hold is answered (it is talking), not held; hanging up while held ends it.
    assert events(talking, other_held) == [CallEventType.ENDED, CallEventType.ANSWERED]
    assert events(held, AgentState()) == [CallEventType.ENDED]


def test_a_missed_ring_still_answers_and_a_new_call_ends_the_old() -> None:
    first = derive_agent_state(AGENT, [call("first", "connected")])
    second = derive_agent_state(AGENT, [call("second", "connected")])
    assert events(AgentState(), first) == [CallEventType.ANSWERED]
    assert events(first, second) == [CallEventType.ENDED, CallEventType.ANSWERED]


def test_odd_field_values_are_refused_or_tolerated() -> None:
    """Wrong types are refused; enum values Genesys may add later read as unknown."""
    for odd in ({"muted": "yes"}, {"startTime": "yesterday"}, {"startTime": "2026-11-24T10:00"}):
        with pytest.raises(GenesysResponseError):
            call("c", "connected", **odd)
    future = call("c", "connected", direction="sideways")
    assert future.participants[1].direction is None
    lonely = CallConversation.from_json({"id": "c", "participants": []})
    assert lonely.remote_participant() is None


LEG_STATES = ["alerting", "offering", "dialing", "contacting", "connected", "disconnected",
              "terminated", "parked", "scheduled", "none"]  # fmt: skip
legs = st.fixed_dictionaries(
    {
        "id": st.uuids().map(str),
        "purpose": st.sampled_from(["agent", "user", "customer", "external", "acd"]),
        "state": st.sampled_from(LEG_STATES),
        "held": st.booleans(),
        "muted": st.booleans(),
        "wrapupRequired": st.booleans(),
        "startTime": st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
    },
    optional={"user": st.sampled_from([{"id": AGENT}, {"id": "someone-else"}])},
)
snapshots = st.lists(
    st.builds(
        lambda conversation_id, participants: CallConversation.from_json(
            {"id": conversation_id, "participants": participants}
        ),
        st.uuids().map(str),
        st.lists(legs, max_size=4),
    ),
    max_size=4,
)


@settings(max_examples=300)
@given(conversations=snapshots, data=st.data())
def test_the_derived_state_is_the_agents_own_leg_in_any_order(
    conversations: list[CallConversation], data: st.DataObject
) -> None:
    state = derive_agent_state(AGENT, conversations)
    # A conversation's own leg is the agent's newest (an agent may rejoin a call).
    own_legs = {
        leg.id: leg
        for conversation in conversations
        if (leg := conversation.user_participant(AGENT)) is not None
    }
    if state.call_state is CallState.IDLE:
        assert state.participant_id is None
        assert state.muted is False
    else:
        leg = own_legs[state.participant_id]  # type: ignore[index]
        assert state.muted == (leg.muted and state.call_state in MUTABLE_STATES)
        assert state.held == (state.call_state is CallState.ON_HOLD)
    talking = any(leg.state == "connected" and not leg.held for leg in own_legs.values())
    assert (state.call_state is CallState.CONNECTED) == talking
    shuffled = data.draw(st.permutations(conversations))
    assert derive_agent_state(AGENT, shuffled).call_state is state.call_state
    assert diff_call_events(state, state) == []


def test_phone_numbers_and_names_stay_out_of_reprs() -> None:
    """Reprs end up in logs; the data is still there for whoever reads the fields."""
    conversation = call("c", "connected", name="Jane Agent", address="tel:+15550100")
    state = derive_agent_state(AGENT, [conversation])
    agent = Agent.from_json({"id": AGENT, "name": "Jane Agent", "email": "jane@example.com"})
    for value in (conversation, state, agent):
        assert "5550100" not in repr(value)
        assert "Jane" not in repr(value)
        assert "example.com" not in repr(value)
    assert state.remote_address == "tel:+15550100"
    assert agent.email == "jane@example.com"
