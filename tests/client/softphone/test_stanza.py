"""The frame parser and writer, and the signalling's wire parsing, under Hypothesis."""

import asyncio
import contextlib
import json
from typing import Any, ClassVar, cast
from xml.etree.ElementTree import Element

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.genesys_agent.genesys_cloud import GenesysConnectionError
from custom_components.genesys_agent.genesys_cloud.softphone.signalling import (
    SignallingEvent,
    SoftphoneSignalling,
    ice_credentials,
    parse_candidate_fragment,
    trickled_candidates,
)
from custom_components.genesys_agent.genesys_cloud.softphone.stanza import (
    StanzaError,
    build,
    parse_frame,
    serialize,
)
from custom_components.genesys_agent.genesys_cloud.softphone.transport import StreamingTransport

from .fakes import ANSWER_SDP, OFFER_SDP, FakeMediaFactory

names = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
namespaces = st.sampled_from(["jabber:client", "genesys", "urn:xmpp:jingle-message:0", "urn:x"])
texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=40)
elements = st.recursive(
    st.builds(
        lambda ns, name, attrs, text: build(ns, name, attrs, text=text or None),
        namespaces,
        names,
        st.dictionaries(names, texts.filter(bool), max_size=3),
        texts,
    ),
    lambda children: st.builds(
        lambda ns, name, kids: build(ns, name, {}, *kids),
        namespaces,
        names,
        st.lists(children, max_size=3),
    ),
    max_leaves=8,
)


def shape(element: Element) -> Any:
    return (element.tag, dict(element.attrib), element.text or "", [shape(c) for c in element])


@settings(max_examples=300)
@given(element=elements)
def test_what_is_written_reads_back_the_same(element: Element) -> None:
    assert shape(parse_frame(serialize(element))) == shape(element)


@settings(max_examples=500)
@given(text=st.text(max_size=300) | elements.map(serialize).map(lambda x: x[: len(x) // 2]))
def test_any_frame_is_parsed_or_refused(text: str) -> None:
    with contextlib.suppress(StanzaError):
        parse_frame(text)


@pytest.mark.parametrize(
    "frame",
    [
        '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
        '<!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/hostname">]><x>&a;</x>',
        '<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd"><x/>',
        '<!DOCTYPE x [<!ENTITY % p "a">]><x/>',
        "<x><!--c--></x>",
        "<?php x?><x/>",
        "<x>&nbsp;</x>",
        "<a>" * 40 + "</a>" * 40,
        "x" * (1 << 20) + "<x/>",
    ],
)
def test_what_xmpp_forbids_is_refused(frame: str) -> None:
    with pytest.raises(StanzaError):
        parse_frame(frame)


def test_the_predefined_entities_and_character_references_are_read() -> None:
    element = parse_frame("<x a='&quot;&#65;'>&lt;&amp;&gt;&apos;&#x42;</x>")
    assert element.get("a") == '"A'
    assert element.text == "<&>'B"


@settings(max_examples=300)
@given(fragment=st.text(max_size=200))
def test_any_candidate_fragment_is_read_or_refused(fragment: str) -> None:
    parsed = parse_candidate_fragment(fragment)
    if parsed is not None:
        mid, candidate = parsed
        assert mid
        assert candidate.startswith("candidate:")


def test_a_gateway_fragment_is_read_as_the_sdk_reads_it() -> None:
    fragment = (
        "m=audio 9 UDP/TLS/RTP/SAVPF 96 101\r\n"
        "a=candidate:O8hE 1 UDP 1694498815 127.0.0.1 17258 typ srflx raddr 10.0.0.1 rport 17258"
    )
    assert parse_candidate_fragment(fragment) == (
        "audio",
        "candidate:O8hE 1 UDP 1694498815 127.0.0.1 17258 typ srflx raddr 10.0.0.1 rport 17258",
    )
    assert parse_candidate_fragment("a=end-of-candidates\r\n") is None


def test_the_answer_is_trickled_as_the_sdk_trickles_it() -> None:
    assert trickled_candidates(ANSWER_SDP) == [
        "m=audio 9 RTP/AVP 0\r\na=candidate:7 1 udp 2122260223 127.0.0.1 50000 typ host\r\n",
        "a=end-of-candidates\r\n",
    ]
    assert ice_credentials(ANSWER_SDP) == ("phone", "phonepassword0123456789")


class OfflineTransport:
    """Enough of a transport for the signalling to read stanzas; sending always fails."""

    bare_jid = "agent@org.orgspan.com"
    jid = "agent@org.orgspan.com/phone"
    resource = "phone"
    ice_servers: ClassVar[list[Any]] = []
    listener: Any = None

    async def async_send(self, element: Element) -> None:
        raise GenesysConnectionError("offline")

    async def async_request(self, element: Element, *, wait: float | None = None) -> Element:
        raise GenesysConnectionError("offline")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10,
)
sdps = st.sampled_from(
    [
        OFFER_SDP.format(ufrag="a"),
        OFFER_SDP.format(ufrag="b"),
        "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host",
        "a=end-of-candidates\r\n",
    ]
) | st.text(max_size=80)
rpc_bodies = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["offer", "offer", "iceCandidate", "terminate", "info", "x"]),
        "params": st.fixed_dictionaries(
            {"sessionId": st.sampled_from(["s1", "s1", "s2", ""])},
            optional={"sdp": sdps, "reinvite": st.booleans(), "conversationId": json_values},
        ),
    },
    optional={"id": st.sampled_from(["r1", "r2"]) | json_values},
) | st.dictionaries(st.sampled_from(["method", "params", "id"]), json_values)
jingle_messages = st.builds(
    lambda name, attrs: build(
        "jabber:client",
        "message",
        {"from": attrs.pop("from", "")},
        build("urn:xmpp:jingle-message:0", name, attrs),
    ),
    st.sampled_from(["propose", "retract", "accept", "reject", "proceed"]),
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.sampled_from(["s1", "s2"]),
            "from": st.sampled_from(["1@gjoll.x/1", "agent@org.orgspan.com/other", "x@y"]),
            "inin-sdp-over-xmpp": st.sampled_from(["true", "1", "false", "yes"]),
            "inin-autoanswer": st.sampled_from(["true", "0", ""]),
        },
    ),
)
rpc_iqs = st.builds(
    lambda body, sender: build(
        "jabber:client",
        "iq",
        {"type": "set", "id": "i", "from": sender},
        build("genesys", "genesys-webrtc", text=json.dumps(body)),
    ),
    rpc_bodies,
    st.sampled_from(["1@gjoll.x/1", "1@gjoll.x/1", "someone@else"]),
)


@settings(max_examples=200, deadline=None)
@given(stanzas=st.lists(jingle_messages | rpc_iqs | elements, max_size=6))
def test_no_stanza_sequence_breaks_the_signalling(stanzas: list[Element]) -> None:
    """Whatever arrives, handling returns, and the work it starts ends without escaping errors."""

    started: list[asyncio.Task[Any]] = []

    def recording_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        started.append(task)
        return task

    async def run() -> None:
        asyncio.get_running_loop().set_task_factory(recording_factory)
        events: list[SignallingEvent] = []
        signalling = SoftphoneSignalling(
            cast(StreamingTransport, OfflineTransport()), FakeMediaFactory(), events.append
        )
        for stanza in stanzas:
            assert isinstance(signalling.handle_stanza(stanza), bool)
        await asyncio.sleep(0.01)
        failed = [t for t in started if t.done() and not t.cancelled() and t.exception()]
        assert not failed, [t.exception() for t in failed]
        await signalling.async_close()

    asyncio.run(run())
