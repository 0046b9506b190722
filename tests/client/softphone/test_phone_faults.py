"""Signalling faults in the middle of a real softphone call (phone.py, aiortc at both ends).

Each test asserts what the far end hears before and after the fault, and how many peer
connections are alive in the process (the softphone's and the emulator's gateway's).
"""

import asyncio

from custom_components.genesys_agent.genesys_cloud import AgentSession, CallState
from custom_components.genesys_agent.genesys_cloud.softphone.phone import (
    AnswerMode,
    MediaState,
    Softphone,
)
from genesys_emulator import Emulator
from genesys_emulator.media_peer import MediaPeer

from ...softphone.conftest import live_peer_connections
from ...softphone.helpers import AUDIBLE_DBFS
from ..helpers import until
from .phone_calls import MakePhone, peer_of, talking


async def hears_the_agent(peer: MediaPeer, frames: int = 10) -> None:
    """The far end receives ``frames`` more frames, and then hears the agent's tone."""
    start = peer.frames_received
    await until(lambda: peer.frames_received >= start + frames, 10)
    await until(lambda: all(f.dbfs > AUDIBLE_DBFS for f in list(peer.frames)[-frames:]), 5)


def streams(emulator: Emulator) -> list[str]:
    return [s.full_jid for s in emulator.streaming.sessions.values()]


async def test_a_dropped_streaming_socket_keeps_the_audio_and_a_reinvite_after_it_is_answered(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone()
    conversation_id = await talking(emulator, session, phone)
    peer = await peer_of(emulator, conversation_id)
    (jid,) = streams(emulator)
    gateway = emulator.gateway.session_for(conversation_id)
    assert gateway is not None
    media = phone.media

    await emulator.streaming.drop_connections()
    await hears_the_agent(peer)  # RTP does not ride on the signalling socket
    await until(lambda: streams(emulator) == [jid], 10)  # the same resource again
    await emulator.gateway.reinvite(conversation_id)

    assert len(gateway.answers) == 2
    await hears_the_agent(peer)
    assert phone.media is media  # the same ICE credentials: renegotiated on the same connection
    assert phone.media_state is MediaState.CONNECTED
    await until(lambda: len(live_peer_connections()) == 2)


async def test_socket_closing_on_the_notifications_keeps_the_call_and_its_mute(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone()
    conversation_id = await talking(emulator, session, phone)
    peer = await peer_of(emulator, conversation_id)

    def sockets() -> set[int]:
        return {id(c.socket) for c in emulator.hub.channels.values() if c.connected}

    before = sockets()

    assert await emulator.control.send_socket_closing() >= 1
    await until(lambda: session.snapshot.connected and not sockets() & before, 10)

    await hears_the_agent(peer)
    await emulator.control.set_mute(conversation_id, True)  # heard on the new socket
    await until(lambda: phone.gate_closed)
    await emulator.control.set_mute(conversation_id, False)
    await until(lambda: not phone.gate_closed)
    await hears_the_agent(peer)
    assert len(live_peer_connections()) == 2


async def test_a_connection_transfer_reconnects_the_signalling_and_keeps_the_audio(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone()
    conversation_id = await talking(emulator, session, phone)
    peer = await peer_of(emulator, conversation_id)
    (stream,) = emulator.streaming.sessions.values()
    transfer = '<query xmlns="urn:xmpp:cxfr"><domain>x</domain><server>y</server></query>'

    await stream.send(
        f'<iq xmlns="jabber:client" type="set" id="t1" to="{stream.full_jid}">{transfer}</iq>'
    )
    await until(lambda: [*emulator.streaming.sessions.values()] not in ([], [stream]), 10)

    assert streams(emulator) == [stream.full_jid]
    await hears_the_agent(peer)
    await emulator.gateway.reinvite(conversation_id)  # the gateway still reaches the phone
    await hears_the_agent(peer)
    await until(lambda: len(live_peer_connections()) == 2)


async def test_a_reinvite_with_new_ice_credentials_moves_the_audio_without_a_gap(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone()
    conversation_id = await talking(emulator, session, phone)
    old_peer = await peer_of(emulator, conversation_id)
    old_media = phone.media
    assert old_media is not None
    closed_while_old_was_needed: list[bool] = []
    close = old_media.close

    async def recording_close() -> None:
        new_media = phone.media
        assert new_media is not None
        closed_while_old_was_needed.append((await new_media.stats()).packets_received == 0)
        await close()

    old_media.close = recording_close  # type: ignore[method-assign]

    await emulator.gateway.reinvite(conversation_id, new_peer=True)

    new_peer = await peer_of(emulator, conversation_id)
    assert new_peer is not old_peer
    await hears_the_agent(new_peer)
    await until(lambda: old_peer.peer_connection is None)
    assert closed_while_old_was_needed == [False]  # closed once the new one carried audio
    gap = new_peer.frames[0].arrival - old_peer.frames[-1].arrival
    print(f"re-invite: the new connection's first frame {gap * 1000:.0f} ms after the old's last")
    assert gap < 0.1  # the old connection carried the call until the new one did
    assert phone.media_state is MediaState.CONNECTED
    await until(lambda: len(live_peer_connections()) == 2)


async def test_a_mute_during_a_reinvite_silences_the_old_connection_too(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone()
    conversation_id = await talking(emulator, session, phone)
    old_media = phone.media
    assert old_media is not None
    emulator.gateway.propose_interval = 5.0

    reinvite = asyncio.create_task(emulator.gateway.reinvite(conversation_id, new_peer=True))
    await until(lambda: phone.media is not old_media)
    await phone.async_set_mute(True)

    assert old_media.muted
    await reinvite
    await until(lambda: len(live_peer_connections()) == 2)
    new_peer = await peer_of(emulator, conversation_id)
    await until(lambda: new_peer.frames_received > 10)
    assert list(new_peer.frames)[-1].exact_zero


async def test_a_re_sent_reinvite_is_answered_once_and_the_audio_goes_on(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone()
    conversation_id = await talking(emulator, session, phone)
    gateway = emulator.gateway.session_for(conversation_id)
    assert gateway is not None
    await emulator.gateway.reinvite(conversation_id, new_peer=True)
    assert len(gateway.answers) == 2
    new_peer = await peer_of(emulator, conversation_id)
    await hears_the_agent(new_peer)

    for _ in range(3):  # the gateway missed the answer: the same offer, the same JSON-RPC id
        await emulator.gateway.resend_offer(conversation_id, reinvite=True)
    await asyncio.sleep(0.5)

    assert len(gateway.answers) == 2
    await hears_the_agent(new_peer)
    assert len(live_peer_connections()) == 2


async def test_candidates_before_the_offer_are_kept_until_it_is_answered(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    emulator.gateway.early_candidates = True
    phone = await make_phone()

    conversation_id = await talking(emulator, session, phone)

    await hears_the_agent(await peer_of(emulator, conversation_id))
    assert len(live_peer_connections()) == 2


async def test_a_propose_again_after_proceed_is_proceeded_again_and_changes_nothing(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone()
    conversation_id = await talking(emulator, session, phone)
    peer = await peer_of(emulator, conversation_id)
    gateway = emulator.gateway.session_for(conversation_id)
    assert gateway is not None
    media = phone.media

    await emulator.gateway.propose_again(conversation_id)

    await until(lambda: gateway.proceeds == 2)
    await hears_the_agent(peer)
    assert phone.media is media
    assert len(gateway.answers) == 1
    assert len(live_peer_connections()) == 2


async def test_a_jingle_session_initiate_for_the_same_session_is_ignored(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone()
    conversation_id = await talking(emulator, session, phone)
    peer = await peer_of(emulator, conversation_id)
    media = phone.media

    answered = await emulator.gateway.send_jingle_initiate(conversation_id)

    assert answered is None  # neither a result nor an error: the SDK ignores it too
    await hears_the_agent(peer)
    assert phone.media is media
    assert len(live_peer_connections()) == 2


async def test_a_call_that_ends_before_ice_completes_leaves_nothing_behind(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone = await make_phone()
    conversation_id = await emulator.control.start_inbound_call()
    await until(lambda: phone.media_state is MediaState.CONNECTING, 10)

    await emulator.control.customer_hangup(conversation_id)

    await until(lambda: phone.media_state is MediaState.IDLE, 10)
    assert phone.media is None
    await until(lambda: live_peer_connections() == [], 10)
    assert phone.signalling_sessions == 0  # no zombie session
    second = await talking(emulator, session, phone)  # and the next call works
    await hears_the_agent(await peer_of(emulator, second))
    assert len(live_peer_connections()) == 2


async def test_a_retract_while_proceeding_leaves_no_call_and_the_next_one_rings(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    phone: Softphone = await make_phone(answer_mode=AnswerMode.MANUAL)
    conversation_id = await emulator.control.start_inbound_call()
    await until(lambda: session.snapshot.agent_state.call_state is CallState.RINGING, 10)
    gateway = emulator.gateway.session_for(conversation_id)
    assert gateway is not None
    await until(lambda: gateway.proposes >= 1 and phone.ringing)

    await asyncio.gather(phone.async_answer(), emulator.control.customer_hangup(conversation_id))

    await until(lambda: gateway.retracted or gateway.terminated_by is not None, 10)
    await until(lambda: phone.media_state is MediaState.IDLE and phone.media is None, 10)
    await until(lambda: live_peer_connections() == [], 10)
    assert not phone.ringing
    second = await emulator.control.start_inbound_call()
    await until(lambda: session.snapshot.agent_state.call_state is CallState.RINGING, 10)
    await until(lambda: phone.ringing)
    await phone.async_answer()
    await until(lambda: phone.media_state is MediaState.CONNECTED, 10)
    await hears_the_agent(await peer_of(emulator, second))
    assert len(live_peer_connections()) == 2
