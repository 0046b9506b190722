"""Whatever comes off the wire: a typed result or a typed error, never a crash."""

import contextlib
import json
import logging
from typing import Any, cast

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.genesys_agent.genesys_cloud import (
    Agent,
    AgentSession,
    CallConversation,
    Channel,
    GenesysClient,
    GenesysResponseError,
)
from custom_components.genesys_agent.genesys_cloud.models import (
    Notification,
    PresenceDefinition,
    WrapupCode,
    parse_entities,
    parse_presence,
    parse_presence_definition_id,
    parse_routing_status,
)

# JSON as RFC 8259 has it: finite numbers only (json.dumps would write "Infinity", which is
# not JSON, and the frame parser refuses it: see the test of any frame text).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
# Objects shaped like Genesys' (the right keys), with values of any type.
PARTICIPANT_KEYS = ["id", "purpose", "state", "direction", "muted", "held", "user", "queue",
                    "address", "ani", "dnis", "startTime", "connectedTime", "endTime",
                    "wrapupRequired", "wrapup", "wrapupSkipped", "wrapupPrompt"]  # fmt: skip
participants = st.fixed_dictionaries({}, optional=dict.fromkeys(PARTICIPANT_KEYS, json_values))
conversations = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values | st.uuids().map(str),
        "participants": st.lists(participants, max_size=4),
    },
)
PARSERS = [
    CallConversation.from_json,
    Agent.from_json,
    Channel.from_json,
    Notification.from_json,
    parse_presence,
    parse_presence_definition_id,
    parse_routing_status,
    PresenceDefinition.from_json,
    WrapupCode.from_json,
    lambda value: parse_entities(value, "listing"),
]
PRESENCE_KEYS = ["id", "type", "languageLabels", "systemPresence", "deactivated"]
presence_definitions = st.fixed_dictionaries(
    {},
    optional={
        **dict.fromkeys(PRESENCE_KEYS, json_values),
        "languageLabels": st.dictionaries(st.text(max_size=6), json_values, max_size=3),
        "systemPresence": st.sampled_from(["On Queue", "OnQueue", "Available", "Busy"])
        | st.text(max_size=10),
    },
)


def parses_or_refuses(parser: Any, value: Any) -> None:
    with contextlib.suppress(GenesysResponseError):
        parser(value)


@settings(max_examples=300)
@given(value=json_values)
def test_any_json_is_parsed_or_refused(value: Any) -> None:
    for parser in PARSERS:
        parses_or_refuses(parser, value)


@settings(max_examples=300)
@given(value=conversations)
def test_conversation_shaped_json_is_parsed_or_refused(value: Any) -> None:
    try:
        conversation = CallConversation.from_json(value)
    except GenesysResponseError:
        return
    for leg in conversation.participants:
        assert isinstance(leg.muted, bool)
        assert isinstance(leg.id, str)


@settings(max_examples=300)
@given(value=presence_definitions, language=st.sampled_from(["en", "de", "fr-CA", ""]))
def test_presence_definition_shaped_json_is_parsed_or_refused(value: Any, language: str) -> None:
    """Either spelling of On Queue is On Queue; a label, when there is one, is one of its own."""
    try:
        definition = PresenceDefinition.from_json(value)
    except GenesysResponseError:
        return
    if value.get("systemPresence") in ("On Queue", "OnQueue"):
        assert definition.system_presence == "on_queue"
    label = definition.label(language)
    assert label is None or label in definition.labels.values()


# What a careless encoder writes and RFC 8259 does not allow, and nesting deeper than any
# Genesys body: never a frame.
NOT_JSON = ["NaN", "Infinity", "-Infinity", "[" * 2000 + "]" * 2000]


@settings(max_examples=200)
@given(
    text=st.text(max_size=200)
    | json_values.map(json.dumps)
    | st.sampled_from(NOT_JSON).map(lambda v: f'{{"topicName": "t", "eventBody": {{"v": {v}}}}}')
)
def test_any_frame_text_is_parsed_or_refused(text: str) -> None:
    """A frame decodes to a notification, or is refused as JSON (ValueError) or as a model."""
    with contextlib.suppress(ValueError):
        parses_or_refuses(Notification.decode, text)


@pytest.mark.parametrize("value", NOT_JSON)
def test_a_frame_that_is_not_json_is_ignored_as_malformed(
    value: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Even on the maintenance topic: what is not JSON is no notification at all."""
    session = AgentSession(cast(GenesysClient, None), listener=lambda snapshot: None)
    caplog.set_level(logging.DEBUG)
    frame = f'{{"topicName": "v2.system.socket_closing", "eventBody": {{"v": {value}}}}}'
    assert session.tracker.handle_frame(frame) is False
    assert [r.getMessage() for r in caplog.records] == [
        f"Ignored a malformed frame of {len(frame)} characters"
    ]


AGENT = "agent-user"
USER_TOPICS = ("conversations.calls", "presence", "routingStatus", "station")
TOPICS = [f"v2.users.{AGENT}.{topic}" for topic in USER_TOPICS]
TOPICS += ["v2.system.socket_closing", "channel.metadata"]


@settings(max_examples=300)
@given(
    topic=st.sampled_from(TOPICS) | st.text(max_size=30),
    body=json_values | conversations,
)
def test_no_frame_stops_the_session(topic: str, body: Any) -> None:
    """Whatever a frame holds, handling it returns: only socket_closing asks for a new socket."""
    session = AgentSession(cast(GenesysClient, None), listener=lambda snapshot: None)
    session.tracker.set_agent(
        Agent(id=AGENT, name=None, email=None, station=None, presence=None, routing_status=None)
    )
    handover = session.tracker.handle_frame(json.dumps({"topicName": topic, "eventBody": body}))
    assert handover is (topic == "v2.system.socket_closing" and isinstance(body, dict))
