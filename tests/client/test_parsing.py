"""Whatever comes off the wire: a typed result or a typed error, never a crash."""

import contextlib
import json
from typing import Any, cast

from hypothesis import given, settings, strategies as st

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

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
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


@settings(max_examples=200)
@given(text=st.text(max_size=200) | json_values.map(json.dumps))
def test_any_frame_text_is_parsed_or_refused(text: str) -> None:
    with contextlib.suppress(ValueError):
        parses_or_refuses(Notification.from_json, json.loads(text))


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
    session.tracker.user_id = AGENT
    handover = session.tracker.handle_frame(json.dumps({"topicName": topic, "eventBody": body}))
    assert handover is (topic == "v2.system.socket_closing" and isinstance(body, dict))
