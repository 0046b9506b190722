"""The softphone's owner end to end: answering, the mute gate, the call's end, persistent calls.

Set-up and the loopback assertions are in ``phone_calls``.
"""

import pytest

from custom_components.genesys_agent.genesys_cloud import (
    AgentSession,
    CallState,
    GenesysNoActiveCallError,
)
from custom_components.genesys_agent.genesys_cloud.exceptions import GenesysAudioDeviceError
from custom_components.genesys_agent.genesys_cloud.softphone.models import AudioSource
from custom_components.genesys_agent.genesys_cloud.softphone.phone import (
    AnswerMode,
    MediaState,
    Softphone,
    SoftphoneOptions,
)
from genesys_emulator import Emulator

from ...softphone.conftest import live_peer_connections
from ...softphone.helpers import AUDIBLE_DBFS, frames_through
from ..helpers import until
from .phone_calls import (
    SILENT_DBFS,
    MakePhone,
    assert_on_loopback,
    peer_of,
    talking,
)


async def test_an_inbound_call_is_answered_by_the_softphone_and_genesys_hears_the_source(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone()
    conversation_id = await talking(emulator, session, phone)

    peer = await peer_of(emulator, conversation_id)
    frames = list(peer.frames)[-10:]
    assert all(f.dbfs > AUDIBLE_DBFS and not f.exact_zero for f in frames)
    assert_on_loopback(emulator, peer)
    assert emulator.gateway.session_for(conversation_id).infos == ["active"]  # type: ignore[union-attr]
    assert not phone.gate_closed
    diagnostics = await phone.async_diagnostics()
    assert diagnostics["media_state"] == "connected"
    assert diagnostics["codec"] == "opus/48000/2"
    assert diagnostics["ice_path"] == "host"
    assert diagnostics["packets_sent"] > 0
    assert diagnostics["packets_received"] > 0
    assert diagnostics["packets_given_up"] == diagnostics["packets_late"] == 0  # loopback
    assert diagnostics["source"] == "tone 440 Hz"
    assert "127.0.0.1" not in repr(diagnostics)


async def test_mute_is_digital_silence_from_the_next_frame_and_unmute_audible_again(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone()
    conversation_id = await talking(emulator, session, phone)
    peer = await peer_of(emulator, conversation_id)
    assert phone.media is not None

    await phone.async_set_mute(True)

    mute = phone.media.last_transition
    assert mute is not None
    assert mute.muted
    await until(lambda: mute.first_frame_index is not None)
    assert mute.delay_ms is not None
    assert mute.delay_ms < 100  # the next 20 ms frame, generously
    zeroed = mute.first_frame_index
    frames = await frames_through(peer, zeroed + 20)
    assert frames[zeroed - 1].dbfs > AUDIBLE_DBFS
    assert frames[zeroed + 1].dbfs < SILENT_DBFS
    assert all(frames[i].exact_zero for i in range(zeroed + 2, zeroed + 20))
    assert session.snapshot.agent_state.muted  # Genesys shows it too

    await phone.async_set_mute(False)

    assert not session.snapshot.agent_state.muted
    unmute = phone.media.last_transition
    assert unmute is not None
    assert not unmute.muted
    await until(lambda: unmute.first_frame_index is not None)
    heard = unmute.first_frame_index
    assert heard is not None
    frames = await frames_through(peer, heard + 10)
    assert all(frames[i].dbfs > AUDIBLE_DBFS for i in range(heard, heard + 10))
    assert not any(frames[i].dropped for i in range(heard, heard + 10))


async def test_a_supervisor_mute_closes_the_local_gate_and_an_unmute_opens_it(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone()
    conversation_id = await talking(emulator, session, phone)
    peer = await peer_of(emulator, conversation_id)

    await emulator.control.set_mute(conversation_id, True, by="supervisor")

    await until(lambda: phone.gate_closed)
    assert session.snapshot.agent_state.muted
    assert phone.media is not None
    transition = phone.media.last_transition
    assert transition is not None
    await until(lambda: transition.first_frame_index is not None)
    zeroed = transition.first_frame_index
    assert zeroed is not None
    frames = await frames_through(peer, zeroed + 10)
    assert all(frames[i].exact_zero for i in range(zeroed + 2, zeroed + 10))

    await emulator.control.set_mute(conversation_id, False, by="supervisor")
    await until(lambda: not phone.gate_closed)


async def test_a_refused_mute_opens_the_gate_again(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone()
    await talking(emulator, session, phone)
    await emulator.control.fail_next(1, status=503, path_prefix="/api/v2/conversations")

    with pytest.raises(Exception, match=r"."):
        await phone.async_set_mute(True)

    assert not session.snapshot.agent_state.muted
    assert not phone.gate_closed  # what leaves the house matches what Genesys shows


async def test_the_call_ends_cleanly_with_no_peer_connection_left(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone()
    conversation_id = await talking(emulator, session, phone)
    peer = await peer_of(emulator, conversation_id)

    await emulator.control.customer_hangup(conversation_id)

    await until(lambda: phone.media_state is MediaState.IDLE)
    assert phone.media is None
    await until(lambda: peer.peer_connection is None)
    await until(lambda: live_peer_connections() == [])


async def test_a_second_call_on_a_persistent_connection_reuses_the_peer_connection(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    station = await emulator.control.create_station(emulator.demo_agent.id)
    await emulator.control.set_station_persistent(station.id, True)
    phone = await make_phone()
    assert phone.persistent
    first = await talking(emulator, session, phone)
    media = phone.media
    peer = await peer_of(emulator, first)
    connection = peer.peer_connection
    await emulator.control.customer_hangup(first)
    await until(lambda: session.snapshot.agent_state.call_state is not CallState.CONNECTED)
    assert phone.media_state is MediaState.CONNECTED
    await until(lambda: phone.gate_closed)  # no call: nothing leaves the house

    second = await talking(emulator, session, phone)

    assert second != first
    assert phone.media is media
    assert await peer_of(emulator, second) is peer
    assert peer.peer_connection is connection
    assert peer.offers == 2  # a renegotiation, not a new connection
    answered = [r for r in emulator.audit if r.body == {"state": "connected"}]
    assert len(answered) == 1  # the later call was answered by REST, as the SDK does
    assert len(live_peer_connections()) == 2  # one each side, across both calls


async def test_a_retracted_call_never_rings_on(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone(answer_mode=AnswerMode.MANUAL)
    conversation_id = await emulator.control.start_inbound_call()
    await until(lambda: emulator.gateway.session_for(conversation_id) is not None)
    gateway = emulator.gateway.session_for(conversation_id)
    assert gateway is not None
    await until(lambda: gateway.proposes >= 1)

    await emulator.control.customer_hangup(conversation_id)

    await until(lambda: gateway.retracted)
    await until(lambda: session.snapshot.agent_state.call_state is not CallState.RINGING)
    with pytest.raises(GenesysNoActiveCallError):
        await phone.async_answer()
    assert gateway.proceeds == 0
    assert phone.media_state is MediaState.IDLE
    assert phone.media is None


async def test_a_manual_phone_takes_the_call_when_told(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone(answer_mode=AnswerMode.MANUAL)
    conversation_id = await emulator.control.start_inbound_call()
    await until(lambda: session.snapshot.agent_state.call_state is CallState.RINGING)
    gateway = emulator.gateway.session_for(conversation_id)
    assert gateway is not None
    await until(lambda: gateway.proposes >= 2)  # re-proposed: nobody took it yet
    assert gateway.proceeds == 0

    await phone.async_answer()

    await until(lambda: session.snapshot.agent_state.call_state is CallState.CONNECTED, 10)
    await until(lambda: phone.media_state is MediaState.CONNECTED, 10)
    peer = await peer_of(emulator, conversation_id)
    # Heard: DTLS is done too (aiortc starts a sender after a close that beats its handshake).
    await until(lambda: len(peer.frames) > 5, 10)


async def test_a_capture_device_that_cannot_open_fails_the_media_and_names_it(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone(source=AudioSource.alsa("hw:NoSuchHeadset"))
    await emulator.control.start_inbound_call()

    await until(lambda: phone.media_state is MediaState.FAILED, 10)
    assert isinstance(phone.last_error, GenesysAudioDeviceError)
    assert phone.last_error.device == "hw:NoSuchHeadset"


async def test_no_softphone_without_a_webrtc_station(
    emulator: Emulator, session: AgentSession
) -> None:
    emulator.demo_agent.station_id = None
    await session.async_stop()
    await session.async_start()  # reads the agent again: no station now
    phone = Softphone(session, SoftphoneOptions())

    assert not await phone.async_start()
    assert not phone.running
    assert phone.media_state is MediaState.IDLE
    await phone.async_stop()
