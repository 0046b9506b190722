"""The state rules, fed with snapshots built as Genesys sends them (the emulator's wire format).

The wire carries no sequence number: a leg only moves forward, a REST read is the truth, the
followed call is chosen by a fixed order, muted means muted only on a live leg, unknown states do
not end a call, and another party's bad field does not cost the agent's own change.
"""

from dataclasses import replace
from datetime import timedelta
from itertools import pairwise
import json
import logging
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.genesys_agent.genesys_cloud import (
    Agent,
    AgentSession,
    AgentState,
    CallConversation,
    CallEventType,
    CallState,
    SessionSnapshot,
    diff_call_events,
)
from custom_components.genesys_agent.genesys_cloud.tracker import StateTracker
from genesys_emulator import Emulator
from genesys_emulator.state import Conversation, Participant, utcnow
from genesys_emulator.wire import call_conversation

from .helpers import connected_call, until

AGENT = "4f1d1e36-0000-4000-8000-00000000a9e7"


def agent_leg(state: str, *, direction: str = "inbound", **fields: Any) -> Participant:
    """The agent's own leg, as the emulator (and Genesys) shapes it."""
    return Participant(
        purpose="agent", name="Jane Agent", address="sip:jane@localhost", direction=direction,
        state=state, user_id=AGENT, user_name="Jane Agent", queue_id="q1", queue_name="Support",
        wrapup_required=direction == "inbound", **fields,
    )  # fmt: skip


def customer_leg() -> Participant:
    return Participant(
        purpose="customer", name="Customer", address="tel:+13175550100", direction="inbound",
        state="connected", connected_time=utcnow(), ani="tel:+13175550100",
    )  # fmt: skip


def call(leg: Participant) -> Conversation:
    return Conversation(participants=[customer_leg(), leg])


def frame(conversation: Conversation) -> str:
    """The conversation's event on the agent's topic, in Genesys' envelope."""
    return json.dumps(
        {
            "topicName": f"v2.users.{AGENT}.conversations.calls",
            "version": "2",
            "eventBody": call_conversation(conversation, rest=False),
            "metadata": {"CorrelationId": "c0ffee00-0000-4000-8000-000000000000"},
        }
    )


def rest(conversation: Conversation) -> CallConversation:
    return CallConversation.from_json(call_conversation(conversation, rest=True))


class Recorder:
    """A tracker for the agent, with every published snapshot and the events between them."""

    def __init__(self) -> None:
        self.snapshots: list[SessionSnapshot] = []
        self.tracker = StateTracker(self.snapshots.append)
        self.agent = Agent(
            id=AGENT, name=None, email=None, station=None, presence=None, routing_status=None
        )
        self.tracker.set_agent(self.agent)

    def feed(self, *frames: str) -> None:
        for text in frames:
            assert not self.tracker.handle_frame(text)

    @property
    def state(self) -> CallState:
        return self.tracker.snapshot.agent_state.call_state

    def events(self) -> list[CallEventType]:
        states = [AgentState(), *(snapshot.agent_state for snapshot in self.snapshots)]
        return [e.type for old, new in pairwise(states) for e in diff_call_events(old, new)]


def lifecycle() -> tuple[Conversation, dict[str, str]]:
    """One inbound call's frames, recorded as it rings, connects, holds, mutes and ends."""
    leg = agent_leg("alerting")
    conversation = call(leg)
    frames = {"alerting": frame(conversation)}
    leg.state, leg.connected_time = "connected", utcnow()
    frames["connected"] = frame(conversation)
    leg.held = True
    frames["held"] = frame(conversation)
    leg.held, leg.muted = False, True
    frames["muted"] = frame(conversation)
    leg.muted = False
    frames["unmuted"] = frame(conversation)
    leg.state, leg.end_time = "disconnected", utcnow()
    frames["disconnected"] = frame(conversation)
    leg.wrapup_required = False
    frames["wrapped_up"] = frame(conversation)
    return conversation, frames


def test_a_leg_only_moves_forward_and_hold_or_mute_are_not_moves() -> None:
    _, frames = lifecycle()
    recorder = Recorder()
    recorder.feed(frames["alerting"], frames["connected"])
    recorder.feed(frames["alerting"])  # a late copy of the ringing snapshot
    assert recorder.state is CallState.CONNECTED
    recorder.feed(frames["held"], frames["connected"], frames["muted"], frames["unmuted"])
    assert recorder.state is CallState.CONNECTED
    assert recorder.events() == [CallEventType.RINGING, CallEventType.ANSWERED,
                                 CallEventType.HELD, CallEventType.RESUMED,
                                 CallEventType.MUTED, CallEventType.UNMUTED]  # fmt: skip
    held_states = [s.agent_state.call_state for s in recorder.snapshots[2:]]
    assert held_states == [CallState.ON_HOLD, CallState.CONNECTED, CallState.CONNECTED,
                           CallState.CONNECTED]  # fmt: skip
    recorder.feed(frames["disconnected"], frames["connected"], frames["held"])
    assert recorder.state is CallState.WRAP_UP
    recorder.feed(frames["wrapped_up"], frames["disconnected"], frames["alerting"])
    assert recorder.state is CallState.IDLE
    assert recorder.tracker.snapshot.conversations == {}


@settings(max_examples=200)
@given(order=st.permutations(range(7)), data=st.data())
def test_in_any_order_the_leg_never_moves_back(order: list[int], data: st.DataObject) -> None:
    """However Genesys' snapshots are reordered (or repeated), the leg's stage never falls."""
    _, frames = lifecycle()
    texts = list(frames.values())
    sequence = [texts[i] for i in order] + data.draw(st.lists(st.sampled_from(texts), max_size=5))
    recorder = Recorder()
    recorder.feed(*sequence)
    order_of_life = {"alerting": 0, "connected": 1, "disconnected": 2}
    stages = []
    for snapshot in recorder.snapshots:
        kept = next(iter(snapshot.conversations.values()), None)
        stages.append(3 if kept is None else order_of_life[kept.participants[1].state or ""])
    assert stages == sorted(stages)


def test_a_rest_read_replaces_what_a_forged_frame_claimed() -> None:
    """A frame marking the live leg ended does not poison it: the next REST read revives it."""
    leg = agent_leg("connected", connected_time=utcnow())
    conversation = call(leg)
    live = frame(conversation)
    forged = replace(leg, state="terminated", end_time=utcnow())
    recorder = Recorder()
    recorder.feed(live)
    recorder.feed(frame(Conversation(id=conversation.id, participants=[customer_leg(), forged])))
    assert recorder.state is CallState.IDLE
    recorder.tracker.apply_resync([rest(conversation)], recorder.agent)  # a reconnect's resync
    assert recorder.state is CallState.CONNECTED
    leg.muted = True
    recorder.feed(frame(conversation))  # and events of the call apply again
    assert recorder.tracker.snapshot.agent_state.muted is True
    # A single read (a command's read-back) is the truth as well.
    recorder.feed(frame(Conversation(id=conversation.id, participants=[customer_leg(), forged])))
    recorder.tracker.apply_conversation(rest(conversation))
    assert recorder.state is CallState.CONNECTED


def test_which_call_the_entities_follow() -> None:
    """Connected, then dialing, then ringing, then on hold, then wrap-up; the newest of equals."""
    now = utcnow()
    held = call(agent_leg("connected", held=True, connected_time=now, start_time=now))
    consult = Conversation(participants=[agent_leg("dialing", direction="outbound")])
    ringing = call(agent_leg("alerting"))
    wrapping = call(agent_leg("disconnected", connected_time=now, end_time=now))
    recorder = Recorder()
    recorder.feed(frame(wrapping), frame(held))
    assert recorder.state is CallState.ON_HOLD
    recorder.feed(frame(ringing))  # a call ringing while another is held shows and fires
    assert recorder.state is CallState.RINGING
    assert recorder.events()[-1] is CallEventType.RINGING
    recorder.feed(frame(consult))  # a consult being dialled is the call the mute acts on
    state = recorder.tracker.snapshot.agent_state
    assert (state.call_state, state.conversation_id) == (CallState.DIALING, consult.id)
    assert state.can_mute
    older = call(agent_leg("connected", connected_time=now - timedelta(minutes=5)))
    newer = call(agent_leg("connected", connected_time=now))
    recorder.feed(frame(newer), frame(older))
    assert recorder.tracker.snapshot.agent_state.conversation_id == newer.id


@pytest.mark.parametrize(
    ("state", "held", "muted_shown"),
    [
        ("alerting", False, False),
        ("connected", False, True),
        ("connected", True, True),
        ("dialing", False, True),
        ("disconnected", False, False),
    ],
)
def test_muted_only_while_connected_held_or_dialing(
    state: str, held: bool, muted_shown: bool
) -> None:
    recorder = Recorder()
    assert recorder.tracker.snapshot.agent_state.muted is False  # no call: not muted, not unknown
    leg = agent_leg(state, held=held, muted=True, connected_time=utcnow())
    recorder.feed(frame(call(leg)))
    assert recorder.tracker.snapshot.agent_state.muted is muted_shown


def test_a_call_that_ended_muted_is_not_muted_in_wrap_up() -> None:
    leg = agent_leg("connected", muted=True, connected_time=utcnow())
    conversation = call(leg)
    recorder = Recorder()
    recorder.feed(frame(conversation))
    assert recorder.tracker.snapshot.agent_state.muted is True
    leg.state, leg.end_time = "disconnected", utcnow()  # Genesys leaves the flag set
    recorder.feed(frame(conversation))
    assert recorder.state is CallState.WRAP_UP
    assert recorder.tracker.snapshot.agent_state.muted is False
    assert recorder.events()[-1] is CallEventType.ENDED


@pytest.mark.parametrize("unknown", ["parked", "converting", "scheduled", "none", "transmitting"])
def test_unknown_states_do_not_end_the_call(unknown: str) -> None:
    leg = agent_leg("connected", connected_time=utcnow())
    conversation = call(leg)
    recorder = Recorder()
    recorder.feed(frame(conversation))
    leg.state = unknown
    recorder.feed(frame(conversation))
    state = recorder.tracker.snapshot.agent_state
    expected = CallState.ON_HOLD if unknown == "parked" else CallState.CONNECTED
    assert state.call_state is expected
    assert state.can_mute  # mute keeps working on the live leg
    leg.state = "connected"
    recorder.feed(frame(conversation))
    assert recorder.state is CallState.CONNECTED
    # No spurious ended / answered; a parked call is on hold, and comes back from it.
    parked = [CallEventType.HELD, CallEventType.RESUMED] if unknown == "parked" else []
    assert recorder.events() == [CallEventType.ANSWERED, *parked]


def test_a_ringing_leg_in_an_unknown_state_still_rings() -> None:
    leg = agent_leg("alerting")
    conversation = call(leg)
    recorder = Recorder()
    recorder.feed(frame(conversation))
    leg.state = "scheduled"
    recorder.feed(frame(conversation))
    assert recorder.state is CallState.RINGING
    assert recorder.events() == [CallEventType.RINGING]


def test_an_unknown_state_does_not_revive_an_ended_leg() -> None:
    leg = agent_leg("connected", connected_time=utcnow())
    conversation = call(leg)
    recorder = Recorder()
    recorder.feed(frame(conversation))
    leg.state = "disconnected"
    recorder.feed(frame(conversation))
    leg.state = "parked"
    recorder.feed(frame(conversation))
    assert recorder.state is CallState.WRAP_UP


BAD_VALUES = st.one_of(
    st.integers(),
    st.text(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(), st.integers(), max_size=2),
)
FIELDS = ["id", "muted", "held", "state", "startTime", "connectedTime", "queue", "address",
          "wrapupRequired", "purpose", "direction"]  # fmt: skip


@settings(max_examples=200)
@given(field=st.sampled_from(FIELDS), value=BAD_VALUES)
def test_a_bad_field_on_another_leg_does_not_cost_the_agents_change(
    field: str, value: object
) -> None:
    leg = agent_leg("connected", connected_time=utcnow())
    conversation = call(leg)
    recorder = Recorder()
    recorder.feed(frame(conversation))
    leg.muted = True
    envelope = json.loads(frame(conversation))
    envelope["eventBody"]["participants"][0][field] = value  # the customer's leg
    recorder.feed(json.dumps(envelope))
    assert recorder.tracker.snapshot.agent_state.muted is True


def test_a_bad_field_on_the_agents_own_leg_drops_the_snapshot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    leg = agent_leg("connected", connected_time=utcnow())
    conversation = call(leg)
    recorder = Recorder()
    recorder.feed(frame(conversation))
    envelope = json.loads(frame(conversation))
    envelope["eventBody"]["participants"][1].update(muted="yes", state="disconnected")
    with caplog.at_level(logging.DEBUG):
        recorder.feed(json.dumps(envelope))
    assert recorder.state is CallState.CONNECTED
    assert "Ignored an unreadable conversations.calls event" in caplog.text


@pytest.mark.parametrize(
    "nested",
    ["[" * 100_000, '{"a":' * 100_000, '{"topicName": ' + "[" * 50_000],
    ids=["array", "object", "envelope"],
)
def test_deeply_nested_json_is_a_malformed_frame(
    nested: str, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    with caplog.at_level(logging.DEBUG):
        recorder.feed(nested)
    assert "Ignored a malformed frame" in caplog.text
    assert all(record.levelno == logging.DEBUG for record in caplog.records)


async def test_a_forged_end_is_healed_by_the_next_resync(
    session: AgentSession, emulator: Emulator
) -> None:
    """Over real sockets: a frame marking the live leg ended, then a reconnect's REST resync."""
    conversation_id = await connected_call(emulator, session)
    [body] = [c for c in emulator.control.state()["conversations"] if c["id"] == conversation_id]
    agent = next(p for p in body["participants"] if p["purpose"] == "agent")
    agent.update(state="terminated")
    await emulator.control.send_raw_frame(
        json.dumps(
            {
                "topicName": f"v2.users.{emulator.demo_agent.id}.conversations.calls",
                "eventBody": body,
            }
        )
    )
    await until(lambda: session.snapshot.agent_state.call_state is CallState.IDLE)
    await emulator.control.drop_websockets()
    await until(lambda: session.snapshot.agent_state.call_state is CallState.CONNECTED)
    await emulator.control.set_mute(conversation_id, True, by="desktop")
    await until(lambda: session.snapshot.agent_state.muted)
