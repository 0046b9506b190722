"""The softphone's call on an impaired network (5 % loss, 20 ± 30 ms delay, reordering).

The call runs in a namespace of its own (``impaired_call``): the softphone's media session at the
near end, the emulator's media peer (Genesys) at the far end. Apart, offline, the mute's frames
go through the same encoder, jitter buffer and decoder with chosen packets lost around the mute:
the random network rarely loses exactly those.
"""

import asyncio
import ipaddress
import json

from aiortc.codecs.opus import OpusDecoder, OpusEncoder
from aiortc.rtp import RtpPacket
import av
import pytest

from custom_components.genesys_agent.genesys_cloud.softphone.jitter_buffer import (
    LossTolerantJitterBuffer,
)
from custom_components.genesys_agent.genesys_cloud.softphone.media import GeneratedTrack, MuteGate
from genesys_emulator.media_peer import ReceivedFrame, measure

from .figures import FEW_FRAMES, HOME_WIFI_ON_A_BAD_DAY, mute_met, mute_on, unmute_met
from .impaired_call import AUDIBLE_DBFS
from .netns import namespace_command

MUTED_AT = 10
UNMUTED_AT = 20
FRAMES = 30


@pytest.mark.usefixtures("iproute2", "turnserver")
async def test_the_call_keeps_flowing_and_a_mute_stays_exact_silence() -> None:
    result = await mute_on(HOME_WIFI_ON_A_BAD_DAY, talk_s=1.0, mute_s=2.0, after_s=1.0)
    print(json.dumps(result))

    # Nothing but loopback exists in the namespace, and every pair ICE chose is on it.
    assert result["interfaces"] == ["lo"]
    assert result["selected_pairs"]
    for pair in result["selected_pairs"]:
        assert ipaddress.ip_address(pair["local_host"]).is_loopback
        assert ipaddress.ip_address(pair["remote_host"]).is_loopback

    mute = result["mute"]
    # Exact digital zero from the third frame on, through loss and reordering; where one of the
    # first two was lost, from the third frame decoded (test_a_packet_lost_at_the_mute_...).
    assert mute_met(mute)
    if mute["first_decoded_offsets"][:2] == [0, 1]:
        assert mute["non_zero_frames_from_the_third"] == 0
    assert mute["muted_frames_received"] >= mute["muted_frames_expected"] * 3 // 4
    # The first unmuted frame is audible; if the network lost it, the third frame decoded.
    assert unmute_met(mute)
    # The call keeps flowing both ways: about one frame unplayed for each packet lost.
    for direction in (result["to_far"], result["to_near"]):
        assert direction["rtp_lost"] > 0
        assert direction["frames_missing"] <= 2 * direction["rtp_lost"] + FEW_FRAMES
        # What the softphone's diagnostics report as given up is what RTP counts as lost.
        assert abs(direction["given_up"] - direction["rtp_lost"]) <= FEW_FRAMES


async def through_a_lossy_network(lost: set[int]) -> dict[int, ReceivedFrame]:
    """The softphone's gate muted for frames ``MUTED_AT`` to ``UNMUTED_AT``, through aiortc's Opus,
    a network that loses frames ``lost``, the loss-tolerant buffer and aiortc's Opus decoder;
    each frame decoded, measured as the emulator's media peer measures it, by index."""
    gate = MuteGate(GeneratedTrack.tone(440))
    encoder, decoder = OpusEncoder(), OpusDecoder()
    buffer = LossTolerantJitterBuffer()
    indices: dict[int, int] = {}  # RTP timestamp: frame index
    decoded: dict[int, ReceivedFrame] = {}
    for index in range(FRAMES + buffer.capacity):
        gate.set_muted(MUTED_AT <= index < UNMUTED_AT)
        frame = await gate.recv()
        assert isinstance(frame, av.AudioFrame)
        payloads, timestamp = encoder.encode(frame)
        indices[timestamp] = index
        if index in lost:
            continue
        packet = RtpPacket(sequence_number=index, timestamp=timestamp)
        packet._data = payloads[0]  # type: ignore[attr-defined]
        _, encoded = buffer.add(packet)
        if encoded is not None:
            (out,) = decoder.decode(encoded)
            dbfs, exact_zero = measure(out)
            played = indices[encoded.timestamp]
            decoded[played] = ReceivedFrame(played, encoded.timestamp, 0.0, dbfs, exact_zero, False)
    gate.stop()
    return decoded


@pytest.mark.parametrize(
    ("lost", "non_zero"),
    [
        (set(), [0, 1]),
        ({-1}, [0, 1]),
        ({0}, [1]),
        ({1}, [0, 2]),  # the look-ahead frame 1 carried is played in frame 2
        ({0, 1}, [2]),
        ({2}, [0, 1]),
        ({1, 2}, [0, 3]),
    ],
)
async def test_a_packet_lost_at_the_mute_moves_the_look_ahead_to_the_next_frame_decoded(
    lost: set[int], non_zero: list[int]
) -> None:
    """Opus' decoder keeps the overlap of the last frame it decoded and is never told of a loss
    (aiortc has no concealment): the pre-mute samples frame 1 would have carried come out in the
    next frame it decodes. Never more than two frames, and none after the first exact zero."""
    decoded = await through_a_lossy_network({MUTED_AT + offset for offset in lost})
    muted = [frame for index, frame in sorted(decoded.items()) if MUTED_AT <= index < UNMUTED_AT]
    assert [frame.index - MUTED_AT for frame in muted if not frame.exact_zero] == non_zero
    first_zero = next(frame.index for frame in muted if frame.exact_zero)
    assert all(frame.exact_zero for frame in muted if frame.index > first_zero)


@pytest.mark.parametrize(
    ("lost", "audible"),
    [(set(), 0), ({-1}, 0), ({1}, 0), ({0}, 3), ({0, 1}, 4)],
)
async def test_a_packet_lost_at_the_unmute_ramps_the_next_frames_up_from_silence(
    lost: set[int], audible: int
) -> None:
    """Opus codes each frame's band energies as a change from the previous frame's: a decoder that
    missed the first unmuted frame applies the next ones' changes to the silence it last decoded,
    and the tone rises over three frames decoded (about -59, -40, -28 dBFS) instead of at once."""
    decoded = await through_a_lossy_network({UNMUTED_AT + offset for offset in lost})
    after = [frame for index, frame in sorted(decoded.items()) if index >= UNMUTED_AT]
    first_audible = next(frame.index for frame in after if frame.dbfs > AUDIBLE_DBFS)
    assert first_audible - UNMUTED_AT == audible
    assert first_audible <= after[2].index  # by the third frame decoded


@pytest.mark.usefixtures("iproute2")
async def test_tc_reads_the_impairment_as_netem_arguments() -> None:
    """Kernels without netem refuse the qdisc itself; the arguments must still parse."""
    process = await asyncio.create_subprocess_exec(
        *namespace_command(),
        "tc",
        "qdisc",
        "add",
        "dev",
        "lo",
        "root",
        "netem",
        *HOME_WIFI_ON_A_BAD_DAY.netem_arguments(),
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode == 0 or "qdisc kind is unknown" in stderr.decode(), stderr
