"""The client's media against the emulator's media peer: real aiortc both ends, on loopback."""

from array import array
import asyncio
import math
from pathlib import Path
import threading
from unittest.mock import patch
import wave

import aioice.ice
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.genesys_agent.genesys_cloud.exceptions import (
    GenesysAudioDeviceError,
    GenesysMediaError,
)
from custom_components.genesys_agent.genesys_cloud.softphone.media import (
    AiortcMediaSession,
    offer_restarts_ice,
    rtc_configuration,
)
from custom_components.genesys_agent.genesys_cloud.softphone.models import AudioSource, IceServer
from genesys_emulator.loopback_ice import candidate_addresses, is_loopback
from genesys_emulator.media_peer import MediaPeer

from .conftest import Call, MakeCall, connect, live_peer_connections
from .helpers import AUDIBLE_DBFS, frames_through, wait_for


async def test_the_far_end_hears_the_tone_and_every_packet_stays_on_loopback(
    make_call: MakeCall,
) -> None:
    call = await make_call(AudioSource.tone(440))
    frames = list((await frames_through(call.peer, 30)).values())[5:]

    assert all(f.dbfs > AUDIBLE_DBFS and not f.exact_zero for f in frames)
    addresses = candidate_addresses(call.offer) + candidate_addresses(call.answer)
    assert addresses
    assert all(is_loopback(a) for a in addresses), addresses
    pair = call.peer.selected_addresses()
    assert pair is not None
    assert all(is_loopback(a) for a in pair), pair
    stats = await call.client.stats()
    assert stats.ice_state in {"connected", "completed"}
    assert stats.codec == "opus/48000/2"
    assert stats.packets_sent > 0
    assert stats.packets_received > 0
    assert stats.source == "tone 440 Hz"
    assert "127.0.0.1" not in repr(stats)


async def test_mute_is_exact_zero_by_the_third_frame_and_unmute_audible_at_once(
    make_call: MakeCall,
) -> None:
    call = await make_call()
    await frames_through(call.peer, 20)

    mute = call.client.set_muted(True)
    assert mute is not None
    await wait_for(lambda: mute.first_frame_index is not None)
    zeroed = mute.first_frame_index
    assert zeroed is not None
    assert mute.delay_ms is not None
    assert mute.delay_ms < 100  # the next 20 ms frame; generous for a loaded machine
    frames = await frames_through(call.peer, zeroed + 20)
    assert frames[zeroed - 1].dbfs > AUDIBLE_DBFS  # the gate never reaches back in time
    # Opus' look-ahead carries the last audio into frame k; k+1 fades; k+2 on is exact zero.
    assert all(frames[i].exact_zero for i in range(zeroed + 2, zeroed + 20))
    assert (await call.client.stats()).muted

    unmute = call.client.set_muted(False)
    assert unmute is not None
    await wait_for(lambda: unmute.first_frame_index is not None)
    heard = unmute.first_frame_index
    assert heard is not None
    assert call.client.last_transition is unmute
    frames = await frames_through(call.peer, heard + 10)
    assert frames[heard - 1].exact_zero
    assert all(frames[i].dbfs > AUDIBLE_DBFS for i in range(heard, heard + 10))
    # Timestamps ran on: no gap, no renegotiation, one RTP stream throughout.
    indices = sorted(frames)
    assert indices == list(range(indices[0], indices[-1] + 1))
    assert call.peer.offers == 1


@pytest.mark.parametrize("early", [True, False], ids=["before the offer", "after the answer"])
async def test_trickled_remote_candidates_connect_the_call(early: bool) -> None:
    peer = MediaPeer()
    states: list[str] = []
    client = AiortcMediaSession(AudioSource.tone(440), on_ice_state=states.append)
    try:
        offer = await peer.offer([])
        lines = offer.splitlines(keepends=True)
        candidates = [line.strip() for line in lines if line.startswith("a=candidate:")]
        mid = next(
            line.strip().removeprefix("a=mid:") for line in lines if line.startswith("a=mid:")
        )
        bare = "".join(line for line in lines if not line.startswith(("a=candidate:", "a=end-of")))
        trickle = [(c, mid, 0) for c in candidates] + [("a=end-of-candidates", mid, 0)]
        if early:
            for candidate in trickle:
                await client.add_remote_candidate(*candidate)
        answer = await client.answer(bare, [])
        if not early:
            for candidate in trickle:
                await client.add_remote_candidate(*candidate)
        await peer.accept_answer(answer)
        await wait_for(lambda: peer.frames_received >= 10)
        assert states[-1] in {"connected", "completed"}
        assert "checking" in states
    finally:
        await client.close()
        await peer.close()


async def test_mute_before_the_call_starts_sends_silence_from_the_first_frame() -> None:
    peer = MediaPeer()
    client = AiortcMediaSession(AudioSource.tone(440))
    client.set_muted(True)
    try:
        await connect(client, peer)
        frames = list((await frames_through(peer, 20)).values())
        assert all(f.exact_zero for f in frames[2:])
    finally:
        await client.close()
        await peer.close()


async def test_server_side_mute_drops_the_agents_audio(make_call: MakeCall) -> None:
    call = await make_call()
    await frames_through(call.peer, 10)

    call.server_muted = True
    start = call.peer.frames_received
    await wait_for(lambda: call.peer.frames_received >= start + 15)
    call.server_muted = False
    end = call.peer.frames_received
    await wait_for(lambda: call.peer.frames_received >= end + 10)

    frames = list(call.peer.frames)
    during = frames[start + 1 : end - 1]
    after = frames[end + 1 :]
    assert during
    assert all(f.dropped for f in during)
    # Only the server muted: the agent's audio still arrived, the customer just did not hear it.
    assert all(f.dbfs > AUDIBLE_DBFS for f in during)
    assert not any(f.dropped for f in after)
    readout = call.peer.readout()
    assert readout["framesDropped"] >= len(during)


async def test_a_second_offer_on_the_established_connection_is_re_answered(
    make_call: MakeCall,
) -> None:
    call = await make_call()
    before = len(live_peer_connections())

    offer = await call.peer.offer([])
    assert not call.client.restarts_ice(offer)
    answer = await call.client.answer(offer, [])
    await call.peer.accept_answer(answer)
    received = call.peer.frames_received
    await wait_for(lambda: call.peer.frames_received >= received + 20)

    assert len(live_peer_connections()) == before == 2
    assert call.peer.offers == 2
    stats = await call.client.stats()
    assert stats.ice_state in {"connected", "completed"}
    frames = list(call.peer.frames)[-20:]
    assert all(f.dbfs > AUDIBLE_DBFS for f in frames)


async def test_an_offer_with_new_ice_credentials_needs_a_new_session(
    make_call: MakeCall,
) -> None:
    call = await make_call()
    other = MediaPeer()
    try:
        reinvite = await other.offer([])
        assert offer_restarts_ice(call.offer, reinvite)
        assert not offer_restarts_ice(call.offer, call.offer)
        assert call.client.restarts_ice(reinvite)
        with pytest.raises(GenesysMediaError, match="new media session"):
            await call.client.answer(reinvite, [])
        # The call is untouched, and a new session answers the re-invite beside it.
        received = call.peer.frames_received
        await wait_for(lambda: call.peer.frames_received >= received + 10)
        successor = AiortcMediaSession(AudioSource.tone(440))
        try:
            await other.accept_answer(await successor.answer(reinvite, []))
            await wait_for(lambda: other.frames_received >= 10)
        finally:
            await successor.close()
    finally:
        await other.close()


async def test_close_leaves_no_task_no_thread_and_no_peer_connection(tmp_path: Path) -> None:
    tasks_before = asyncio.all_tasks()
    peer = MediaPeer()
    client = AiortcMediaSession(AudioSource.file(str(_tone_wav(tmp_path / "greeting.wav"))))
    await connect(client, peer)
    assert len(live_peer_connections()) == 2

    await client.close()
    await peer.close()
    await client.close()  # twice is harmless

    await wait_for(lambda: asyncio.all_tasks() <= tasks_before, seconds=5)
    assert not [t for t in threading.enumerate() if t.name == "media-player"]  # the file reader
    assert live_peer_connections() == []
    assert (await client.stats()).ice_state == "closed"


async def test_a_file_source_is_heard(make_call: MakeCall, tmp_path: Path) -> None:
    call = await make_call(AudioSource.file(str(_tone_wav(tmp_path / "hold-music.wav"))))
    frames = list((await frames_through(call.peer, 30)).values())[5:]

    assert all(f.dbfs > AUDIBLE_DBFS for f in frames)
    assert (await call.client.stats()).source == "file hold-music.wav"


async def test_incoming_audio_is_read_as_fast_as_it_arrives(call: Call) -> None:
    await asyncio.sleep(3)

    # An unread track would hold every frame the customer sent (150 after 3 s); drained, only
    # the frames in flight (encoder, jitter buffer, decoder) are not played yet.
    assert call.client.frames_played >= 100
    assert call.peer.frames_sent - call.client.frames_played < 40
    assert (await call.client.stats()).frames_played == call.client.frames_played


async def test_a_capture_device_that_cannot_open_is_one_typed_error_naming_it() -> None:
    peer = MediaPeer()
    client = AiortcMediaSession(AudioSource.alsa("plughw:CARD=NoSuchHeadset"))
    try:
        offer = await peer.offer([])
        with pytest.raises(GenesysAudioDeviceError, match="NoSuchHeadset") as raised:
            await client.answer(offer, [])
        assert raised.value.device == "plughw:CARD=NoSuchHeadset"
    finally:
        await client.close()
        await peer.close()
    assert live_peer_connections() == []


async def test_a_playback_device_that_cannot_open_is_one_typed_error_naming_it() -> None:
    peer = MediaPeer()
    client = AiortcMediaSession(AudioSource.tone(), output_device="hw:CARD=NoSuchSpeaker")
    try:
        offer = await peer.offer([])
        with pytest.raises(GenesysAudioDeviceError, match="NoSuchSpeaker") as raised:
            await client.answer(offer, [])
        assert raised.value.device == "hw:CARD=NoSuchSpeaker"
    finally:
        await client.close()
        await peer.close()


async def test_incoming_audio_plays_to_an_alsa_device(make_call: MakeCall) -> None:
    # ALSA's "null" device exists wherever alsa-lib's configuration is found.
    call = await make_call(output_device="null")
    played = call.client.frames_played
    await wait_for(lambda: call.client.frames_played >= played + 25)


def test_ice_servers_are_explicit_and_relay_only_without_stun() -> None:
    turn = IceServer(["turn:127.0.0.1:3478"], "user", "secret")
    stun = IceServer(["stun:127.0.0.1:3478"], None, None)

    none = rtc_configuration([])
    assert none.iceServers == []  # never aiortc's public STUN default
    assert none.iceTransportPolicy.value == "all"
    assert rtc_configuration([turn]).iceTransportPolicy.value == "relay"
    assert rtc_configuration([turn, stun]).iceTransportPolicy.value == "all"
    garbage = rtc_configuration([IceServer(["http://example.invalid", "turn:"], None, None)])
    assert garbage.iceServers == []


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    candidate=st.one_of(
        st.text(max_size=120),
        st.builds(
            lambda parts: "candidate:" + " ".join(parts),
            st.lists(
                st.text(min_size=1, max_size=12).filter(lambda t: not t.isspace()), max_size=12
            ),
        ),
    ),
    sdp_mid=st.one_of(st.none(), st.text(max_size=8)),
    index=st.one_of(st.none(), st.integers(-3, 3)),
)
async def test_no_remote_candidate_text_breaks_the_session(
    call: Call, candidate: str, sdp_mid: str | None, index: int | None
) -> None:
    await call.client.add_remote_candidate(candidate, sdp_mid, index)
    assert (await call.client.stats()).ice_state in {"connected", "completed"}


# The shape of the gateway's offer (reference §5.2): Opus as 96, telephone-event as 101, mid audio.
GENESYS_OFFER = [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE audio",
    "m=audio 9 UDP/TLS/RTP/SAVPF 96 101",
    "c=IN IP4 127.0.0.1",
    "a=rtcp:9 IN IP4 0.0.0.0",
    "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host",
    "a=ice-ufrag:Gjol",
    "a=ice-pwd:gatewaygatewaygateway0",
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
    "a=setup:actpass",
    "a=mid:audio",
    "a=sendrecv",
    "a=rtcp-mux",
    "a=rtpmap:96 opus/48000/2",
    "a=fmtp:96 minptime=10;useinbandfec=1",
    "a=rtpmap:101 telephone-event/8000",
    "a=ssrc:1 cname:gateway",
]


async def test_host_name_candidates_are_dropped_not_resolved() -> None:
    # aioice would resolve an mDNS name by multicast on the user's network.
    peer = MediaPeer()
    client = AiortcMediaSession(AudioSource.tone(440))
    resolving: list[object] = []
    mdns = "a=candidate:2 1 udp 1 2b3c4d5e.local 9 typ host"
    try:
        with patch.object(aioice.ice, "get_or_create_mdns_protocol", side_effect=resolving.append):
            offer = (await peer.offer([])).replace("a=end-of-candidates", mdns)
            answer = await client.answer(offer, [])
            await client.add_remote_candidate(mdns.removeprefix("a="), "0", 0)
            await peer.accept_answer(answer)
            await wait_for(lambda: peer.frames_received >= 5)
        assert resolving == []
    finally:
        await client.close()
        await peer.close()


async def test_an_offer_shaped_like_the_gateways_is_answered_with_opus() -> None:
    client = AiortcMediaSession(AudioSource.silence())
    try:
        answer = await client.answer("\r\n".join(GENESYS_OFFER) + "\r\n", [])
    finally:
        await client.close()
    assert "a=mid:audio" in answer
    assert "opus/48000/2" in answer
    assert all(map(is_loopback, candidate_addresses(answer)))


@settings(max_examples=60, deadline=None)
@given(
    offer=st.one_of(
        st.text(max_size=300),
        st.lists(st.sampled_from(GENESYS_OFFER), max_size=len(GENESYS_OFFER)).map(
            lambda lines: "\r\n".join(lines) + "\r\n"
        ),
        st.tuples(st.integers(0, len(GENESYS_OFFER) - 1), st.text(max_size=40)).map(
            lambda change: "\r\n".join(
                [*GENESYS_OFFER[: change[0]], change[1], *GENESYS_OFFER[change[0] + 1 :]]
            )
        ),
    )
)
async def test_an_offer_off_the_wire_is_answered_or_one_typed_error(offer: str) -> None:
    client = AiortcMediaSession(AudioSource.silence())
    try:
        await client.answer(offer, [])
    except GenesysMediaError:
        pass
    finally:
        await client.close()


def _tone_wav(path: Path, seconds: float = 1.0, rate: int = 48000) -> Path:
    """A mono 16-bit wav of a 500 Hz tone."""
    count = int(seconds * rate)
    samples = array(
        "h", (round(8000 * math.sin(2 * math.pi * 500 * n / rate)) for n in range(count))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path
