"""Softphone signalling end to end: the emulator's gateway offers, the client answers."""

import asyncio
import logging

import pytest

from custom_components.genesys_agent.genesys_cloud import GenesysClient
from custom_components.genesys_agent.genesys_cloud.softphone.models import IceServer
from custom_components.genesys_agent.genesys_cloud.softphone.signalling import (
    PendingSession,
    PendingSessionHandledElsewhere,
    PendingSessionRetracted,
    SessionAnswered,
    SessionFailed,
    SessionOffered,
    SessionTerminated,
    SignallingEvent,
    SoftphoneSignalling,
)
from custom_components.genesys_agent.genesys_cloud.softphone.transport import StreamingTransport
from genesys_emulator import Emulator
from genesys_emulator.streaming.gateway import GatewaySession
from genesys_emulator.streaming.service import ExternalService

from ..conftest import EmulatorAuth
from ..helpers import emulator_agent_leg, until
from .conftest import quick_transport
from .fakes import (
    ANSWER_SDP,
    OFFER_SDP,
    TRICKLED_ANSWER_CANDIDATE,
    FakeMediaFactory,
    FakePeerFactory,
)

OFFERED_CANDIDATES = [
    ("candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host", "audio", None),
    ("candidate:2 1 udp 2122260222 127.0.0.1 40001 typ host", "audio", None),
]


def of_type[E](events: list[SignallingEvent], kind: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


async def ringing(emulator: Emulator, events: list[SignallingEvent]) -> PendingSession:
    """An inbound call rings the agent's softphone."""
    await emulator.control.start_inbound_call()
    await until(lambda: of_type(events, PendingSession))
    return of_type(events, PendingSession)[0]


def gateway_session(emulator: Emulator, pending: PendingSession) -> GatewaySession:
    return emulator.gateway.sessions[pending.session_id]


async def answered_call(
    emulator: Emulator, signalling: SoftphoneSignalling, events: list[SignallingEvent]
) -> PendingSession:
    pending = await ringing(emulator, events)
    await signalling.proceed(pending.session_id)
    await until(lambda: of_type(events, SessionAnswered))
    return pending


async def test_a_call_is_proposed_proceeded_offered_answered_and_terminated(
    transport: StreamingTransport,
    signalling: SoftphoneSignalling,
    events: list[SignallingEvent],
    emulator: Emulator,
    media: FakeMediaFactory,
    peers: FakePeerFactory,
) -> None:
    pending = await ringing(emulator, events)
    assert pending.conversation_id is not None
    assert not pending.auto_answer
    assert "+13175550100" not in repr(pending)  # the caller's number stays out of logs
    leg = emulator_agent_leg(emulator, pending.conversation_id)
    assert leg["state"] == "alerting"

    await signalling.proceed(pending.session_id)
    await until(lambda: of_type(events, SessionAnswered))
    (offered,) = of_type(events, SessionOffered)
    assert offered.conversation_id == pending.conversation_id
    assert not offered.renegotiation
    (phone,) = media.made
    assert phone.offers == [OFFER_SDP.format(ufrag="gw0")]
    assert phone.ice_servers == [[IceServer(["stun:127.0.0.1:3478"])]]
    gateway = gateway_session(emulator, pending)
    await until(lambda: gateway.candidates)
    (peer,) = peers.made
    assert gateway.answers == [ANSWER_SDP]
    assert peer.answers == [ANSWER_SDP]
    # Only the UDP IPv4 candidate is trickled (TCP and IPv6 host ones stay in the SDP).
    assert peer.candidates == [(TRICKLED_ANSWER_CANDIDATE, "audio", None)]
    await until(lambda: len(phone.candidates) == 2)
    assert phone.candidates == OFFERED_CANDIDATES
    # The other clients hear that this device took the call.
    assert any(
        "accept" in text and pending.session_id in text for text in emulator.streaming.received
    )
    assert emulator_agent_leg(emulator, pending.conversation_id)["state"] == "connected"

    await signalling.send_info(pending.session_id)
    await until(lambda: gateway.infos == ["active"])
    (seen,) = emulator.control.state()["softphoneSessions"]
    assert (seen["answers"], seen["infos"]) == (1, ["active"])
    assert seen["proceeds"] >= 1
    (stream,) = emulator.control.state()["streams"]
    assert stream["resource"] == transport.resource

    await emulator.control.customer_hangup(pending.conversation_id)
    await until(lambda: of_type(events, SessionTerminated))
    assert of_type(events, SessionTerminated) == [
        SessionTerminated(pending.session_id, "success", by_remote=True)
    ]
    await until(lambda: phone.closed)
    assert peer.closed
    assert signalling.session_ids == []


async def test_the_gateway_proposes_until_proceeded(
    signalling: SoftphoneSignalling, events: list[SignallingEvent], emulator: Emulator
) -> None:
    pending = await ringing(emulator, events)
    gateway = gateway_session(emulator, pending)
    await until(lambda: gateway.proposes >= 3)
    assert len(of_type(events, PendingSession)) == 1  # a re-sent propose is not a new call
    await signalling.proceed(pending.session_id)
    await until(lambda: of_type(events, SessionAnswered))
    proposes = gateway.proposes
    await asyncio.sleep(0.5)
    assert gateway.proposes == proposes  # (a propose in flight may have been proceeded again)


async def test_a_call_retracted_before_proceed_never_rings_on(
    signalling: SoftphoneSignalling,
    events: list[SignallingEvent],
    emulator: Emulator,
    media: FakeMediaFactory,
) -> None:
    pending = await ringing(emulator, events)
    assert pending.conversation_id is not None
    await emulator.control.customer_hangup(pending.conversation_id)
    await until(lambda: of_type(events, PendingSessionRetracted))
    assert of_type(events, PendingSessionRetracted) == [PendingSessionRetracted(pending.session_id)]
    assert signalling.session_ids == []
    assert media.made == []
    gateway = gateway_session(emulator, pending)
    proposes = gateway.proposes
    await asyncio.sleep(0.5)
    assert gateway.proposes == proposes


async def test_a_jingle_propose_is_logged_and_left_alone(
    signalling: SoftphoneSignalling,
    events: list[SignallingEvent],
    emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.gateway.sdp_over_xmpp = False
    conversation_id = await emulator.control.start_inbound_call()
    await until(
        lambda: emulator.gateway.sessions
        and next(iter(emulator.gateway.sessions.values())).proposes >= 2
    )
    assert events == []
    assert "Jingle signalling" in caplog.text
    assert caplog.text.count("Jingle signalling") == 1  # once per call, not per re-sent propose
    (gateway,) = emulator.gateway.sessions.values()
    assert gateway.proceeds == 0
    assert emulator_agent_leg(emulator, conversation_id)["state"] == "alerting"


async def test_candidates_before_the_offer_are_kept_for_it(
    signalling: SoftphoneSignalling,
    events: list[SignallingEvent],
    emulator: Emulator,
    media: FakeMediaFactory,
) -> None:
    emulator.gateway.early_candidates = True
    await answered_call(emulator, signalling, events)
    (phone,) = media.made
    await until(lambda: len(phone.candidates) == 2)
    assert phone.candidates == OFFERED_CANDIDATES
    assert phone.calls[:3] == ["answer", "candidate", "candidate"]  # added after the offer


async def test_a_re_sent_offer_is_answered_once(
    signalling: SoftphoneSignalling,
    events: list[SignallingEvent],
    emulator: Emulator,
    media: FakeMediaFactory,
) -> None:
    pending = await answered_call(emulator, signalling, events)
    assert pending.conversation_id is not None
    await emulator.gateway.resend_offer(pending.conversation_id)
    await emulator.gateway.resend_offer(pending.conversation_id)
    await asyncio.sleep(0.3)
    assert gateway_session(emulator, pending).answers == [ANSWER_SDP]
    (phone,) = media.made
    assert phone.calls.count("answer") == 1
    assert len(of_type(events, SessionOffered)) == 1


async def test_a_propose_repeated_after_proceed_is_proceeded_again(
    signalling: SoftphoneSignalling, events: list[SignallingEvent], emulator: Emulator
) -> None:
    pending = await answered_call(emulator, signalling, events)
    assert pending.conversation_id is not None
    gateway = gateway_session(emulator, pending)
    proceeds = gateway.proceeds
    await emulator.gateway.propose_again(pending.conversation_id)
    await until(lambda: gateway.proceeds == proceeds + 1)
    assert len(of_type(events, PendingSession)) == 1


async def test_hanging_up_from_the_softphone_ends_the_call(
    signalling: SoftphoneSignalling,
    events: list[SignallingEvent],
    emulator: Emulator,
    media: FakeMediaFactory,
    peers: FakePeerFactory,
) -> None:
    pending = await answered_call(emulator, signalling, events)
    assert pending.conversation_id is not None
    await signalling.terminate(pending.session_id)
    assert emulator_agent_leg(emulator, pending.conversation_id)["state"] in (
        "disconnected",
        "terminated",
    )
    assert media.made[0].closed
    assert peers.made[0].closed
    assert of_type(events, SessionTerminated) == [
        SessionTerminated(pending.session_id, "success", by_remote=False)
    ]


async def test_an_outbound_call_is_proposed_for_auto_answer(
    signalling: SoftphoneSignalling, events: list[SignallingEvent], emulator: Emulator
) -> None:
    await emulator.control.start_outbound_call()
    await until(lambda: of_type(events, PendingSession))
    assert of_type(events, PendingSession)[0].auto_answer


async def test_media_that_cannot_answer_ends_the_session(
    signalling: SoftphoneSignalling,
    events: list[SignallingEvent],
    emulator: Emulator,
    media: FakeMediaFactory,
) -> None:
    media.fail = True
    pending = await ringing(emulator, events)
    assert pending.conversation_id is not None
    await signalling.proceed(pending.session_id)
    await until(lambda: of_type(events, SessionFailed))
    assert media.made[0].closed
    assert of_type(events, SessionTerminated)[0].reason == "failed-application"
    await until(
        lambda: emulator_agent_leg(emulator, pending.conversation_id or "")["state"]
        in ("disconnected", "terminated")
    )


async def test_a_persistent_connection_renegotiates_between_calls(
    signalling: SoftphoneSignalling,
    events: list[SignallingEvent],
    emulator: Emulator,
    media: FakeMediaFactory,
    peers: FakePeerFactory,
) -> None:
    station_id = emulator.demo_agent.station_id
    assert station_id is not None
    emulator.org.stations[station_id].persistent = True
    first = await answered_call(emulator, signalling, events)
    assert first.conversation_id is not None
    await emulator.control.customer_hangup(first.conversation_id)
    await asyncio.sleep(0.3)
    assert of_type(events, SessionTerminated) == []  # the connection outlives the call
    (phone,) = media.made
    assert not phone.closed

    second = await emulator.control.start_inbound_call()
    await until(lambda: len(of_type(events, SessionAnswered)) == 2)
    assert len(of_type(events, PendingSession)) == 1  # later calls are not proposed
    renegotiation = of_type(events, SessionOffered)[-1]
    assert renegotiation.session_id == first.session_id
    assert renegotiation.conversation_id == second
    assert renegotiation.renegotiation
    assert media.made == [phone]  # one peer connection for both calls
    assert phone.calls.count("answer") == 2
    assert len(peers.made) == 1
    # The persistent connection's later call is answered by REST, not by signalling.
    assert emulator_agent_leg(emulator, second)["state"] == "alerting"


async def test_a_re_invite_with_new_ice_credentials_gets_new_media(
    signalling: SoftphoneSignalling,
    events: list[SignallingEvent],
    emulator: Emulator,
    media: FakeMediaFactory,
    peers: FakePeerFactory,
) -> None:
    pending = await answered_call(emulator, signalling, events)
    assert pending.conversation_id is not None
    gateway = gateway_session(emulator, pending)
    peers.made[0].ufrag = "restarted"
    await emulator.gateway.reinvite(pending.conversation_id)
    await until(lambda: len(of_type(events, SessionAnswered)) == 2)
    first, second = media.made
    assert first.closed
    assert not second.closed
    assert second.offers == [OFFER_SDP.format(ufrag="restarted")]
    reinvite = of_type(events, SessionOffered)[-1]
    assert reinvite.reinvite
    assert not reinvite.renegotiation
    await asyncio.sleep(0.2)
    assert len(gateway.answers) == 2  # the re-invite is answered once


async def test_another_client_taking_the_call_ends_the_pending_session(
    signalling: SoftphoneSignalling,
    events: list[SignallingEvent],
    emulator: Emulator,
    client: GenesysClient,
    auth: EmulatorAuth,
) -> None:
    desktop_events: list[SignallingEvent] = []
    desktop_transport: StreamingTransport = quick_transport(client, auth)
    desktop = SoftphoneSignalling(desktop_transport, FakeMediaFactory(), desktop_events.append)
    await desktop_transport.async_start()
    try:
        pending = await ringing(emulator, events)
        await until(lambda: of_type(desktop_events, PendingSession))
        await desktop.proceed(pending.session_id)
        await until(lambda: of_type(desktop_events, SessionAnswered))
        await until(lambda: of_type(events, PendingSessionHandledElsewhere))
        assert signalling.session_ids == []
    finally:
        await desktop.async_close()
        await desktop_transport.async_stop()


async def test_unknown_jids_and_payloads_are_ignored(
    signalling: SoftphoneSignalling,
    events: list[SignallingEvent],
    emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    jid = next(iter(emulator.streaming.sessions))
    frames = [
        # A propose from something that is not the softphone gateway.
        f'<message xmlns="jabber:client" from="room@conference.x" to="{jid}">'
        '<propose xmlns="urn:xmpp:jingle-message:0" id="v1" inin-sdp-over-xmpp="true"/></message>',
        # JSON-RPC that is not JSON, has no session, or a method nobody sends.
        f'<iq xmlns="jabber:client" type="set" id="r1" from="1@gjoll.x/1" to="{jid}">'
        '<genesys-webrtc xmlns="genesys">{not json</genesys-webrtc></iq>',
        f'<iq xmlns="jabber:client" type="set" id="r2" from="1@gjoll.x/1" to="{jid}">'
        '<genesys-webrtc xmlns="genesys">{"method":"offer","params":{}}</genesys-webrtc></iq>',
        f'<iq xmlns="jabber:client" type="set" id="r3" from="1@gjoll.x/1" to="{jid}">'
        '<genesys-webrtc xmlns="genesys">{"method":"mute","params":{"sessionId":"s"}}'
        "</genesys-webrtc></iq>",
        # A terminate and a candidate for sessions nobody knows, a Jingle session-initiate.
        f'<iq xmlns="jabber:client" type="set" id="r4" from="1@gjoll.x/1" to="{jid}">'
        '<genesys-webrtc xmlns="genesys">{"method":"terminate","params":{"sessionId":"s"}}'
        "</genesys-webrtc></iq>",
        f'<iq xmlns="jabber:client" type="set" id="r5" from="1@gjoll.x/1" to="{jid}">'
        '<jingle xmlns="urn:xmpp:jingle:1" action="session-initiate" sid="s"/></iq>',
    ]
    for frame in frames:
        await emulator.streaming.send_raw(frame)
    session = next(iter(emulator.streaming.sessions.values()))
    answer = await emulator.streaming.query(session, '<ping xmlns="urn:xmpp:ping"/>')
    assert answer.get("type") == "result"
    assert events == []
    # None of them got an error answer: handled IQs get no result, as the SDK does.
    assert not any('"r' in text and "error" in text for text in emulator.streaming.received)


async def test_no_secret_or_number_reaches_the_debug_log(
    transport: StreamingTransport,
    signalling: SoftphoneSignalling,
    events: list[SignallingEvent],
    emulator: Emulator,
    auth: EmulatorAuth,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.streaming.services = [
        ExternalService(type="turn", host="127.0.0.1", port=3478, username="u", password="pw-x")
    ]
    await emulator.streaming.drop_connections()
    await until(lambda: transport.connected and transport.ice_servers)
    pending = await answered_call(emulator, signalling, events)
    assert pending.conversation_id is not None
    await emulator.control.customer_hangup(pending.conversation_id)
    await until(lambda: of_type(events, SessionTerminated))
    (stream,) = emulator.streaming.sessions.values()
    assert "turn:127.0.0.1:3478" in caplog.text  # the log speaks, but names no secret
    for secret in (auth.token["access_token"], stream.channel_id, "pw-x", "+13175550100"):
        assert secret not in caplog.text
