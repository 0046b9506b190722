"""A softphone call on an impaired network, run in a namespace by ``run_in_netns``; its figures.

The near end is the softphone's own media session (``AiortcMediaSession``: its mute gate, its
loss-tolerant jitter buffer); the far end is the emulator's media peer, Genesys' side, which
offers. Genesys' media servers have a jitter buffer of their own that plays past a lost packet,
so the far end's receiver gets the softphone's loss-tolerant buffer too: aiortc's stock one would
put its own losses into the figures (``jitter_buffer``'s docstring). Once both ends hear each other
the impairment goes on, the call talks for ``talk_s``, the softphone mutes for ``mute_s``, unmutes,
and talks ``after_s`` more.

The result is JSON for tests and benchmarks: the mute as the far end decoded it frame by frame
(``mute_figures``), frames never played each way beside RTP's own loss count, what each jitter
buffer gave up, and the event loop's longest lag.
"""

import asyncio
from collections.abc import Iterable
from contextlib import AsyncExitStack
from dataclasses import asdict
from typing import Any

import ifaddr

from custom_components.genesys_agent.genesys_cloud.softphone.jitter_buffer import (
    install_loss_tolerant_buffer,
)
from custom_components.genesys_agent.genesys_cloud.softphone.media import (
    AiortcMediaSession,
    GateTransition,
)
from custom_components.genesys_agent.genesys_cloud.softphone.models import AudioSource, IceServer
from genesys_emulator.loopback_ice import pin_ice_to_loopback
from genesys_emulator.media_peer import MediaPeer, ReceivedFrame

from ..loop_lag import LoopLagMonitor
from ..waiting import until
from .helpers import AUDIBLE_DBFS, BELOW_DBFS
from .impairer import ImpairingUdpRelay
from .netns import JsonObject, Network
from .peers import inbound_loss, selected_pairs
from .turn import running_coturn

HEARD_FRAMES = 25
JITTER_BUFFER_DRAIN_S = 0.6
CONNECT_TIMEOUT = 15.0


async def near_and_far_ice_servers(
    network: Network, stack: AsyncExitStack, seed: int
) -> tuple[list[IceServer], list[IceServer]]:
    """Kernel netem impairs ``lo`` itself: host candidates on a direct loopback path. Without it,
    the softphone reaches a coturn through the user-space impairer only (relay-only, as with
    TURN and no STUN) and the far end reaches the same coturn directly."""
    if network.kernel_netem:
        return [], []
    turn = await stack.enter_async_context(running_coturn())
    relay = ImpairingUdpRelay((turn.host, turn.port), network.impairment, seed)
    port = await relay.start()
    stack.callback(relay.close)
    network.on_apply(lambda: setattr(relay.impairer, "active", True))
    direct = IceServer(urls=turn.urls(), username=turn.username, credential=turn.password)
    impaired = IceServer(
        urls=[f"turn:{turn.host}:{port}"], username=turn.username, credential=turn.password
    )
    return [impaired], [direct]


def mute_figures(
    mute: GateTransition, unmute: GateTransition, frames: Iterable[ReceivedFrame]
) -> dict[str, Any]:
    """What the far end decoded of one mute and unmute, frame by frame.

    Offsets count media frames from the first frame the gate zeroed (0 = that frame), so a lost
    frame shifts nothing; milliseconds run from the mute (unmute) command to the frame coming out
    of the far end's jitter buffer and decoder.
    """
    k, u = mute.first_frame_index, unmute.first_frame_index
    assert k is not None
    assert u is not None
    decoded = sorted(frames, key=lambda frame: frame.index)
    muted = [f for f in decoded if k <= f.index < u]
    first_quiet = next(f for f in muted if f.dbfs < BELOW_DBFS)
    first_zero = next(f for f in muted if f.exact_zero)
    first_audible = next(f for f in decoded if f.index >= u and f.dbfs > AUDIBLE_DBFS)
    return {
        "frames_to_below_60_dbfs": first_quiet.index - k,
        "frames_to_exact_zero": first_zero.index - k,
        "ms_to_exact_zero": round((first_zero.arrival - mute.commanded_at) * 1000, 1),
        "non_zero_frames_after_silence": sum(
            not f.exact_zero for f in muted if f.index > first_zero.index
        ),
        # Opus' look-ahead carries the last unmuted samples into frames 0 and 1; from frame 2
        # on, every decoded sample must be exactly zero.
        "non_zero_frames_from_the_third": sum(not f.exact_zero for f in muted if f.index >= k + 2),
        # A lost packet moves that look-ahead on: the decoder, never told of the loss, plays it
        # in the next frame it decodes. So: non-zero only among the first two decoded.
        "non_zero_offsets": [f.index - k for f in muted if not f.exact_zero],
        "first_decoded_offsets": [f.index - k for f in muted[:3]],
        "muted_frames_expected": u - k,
        "muted_frames_received": len(muted),
        "frames_to_audible_after_unmute": first_audible.index - u,
        "first_decoded_offsets_after_unmute": [f.index - u for f in decoded if f.index >= u][:3],
        "ms_to_audible_after_unmute": round(
            (first_audible.arrival - unmute.commanded_at) * 1000, 1
        ),
    }


def frames_missing(frames: Iterable[ReceivedFrame], since: int) -> tuple[int, int]:
    """(frames expected, frames never decoded) from index ``since`` to the last frame heard."""
    seen = {frame.index for frame in frames if frame.index >= since}
    if not seen:
        return 0, 0
    expected = max(seen) - since + 1
    return expected, expected - len(seen)


async def main(payload: JsonObject, network: Network) -> JsonObject:
    talk_s, mute_s, after_s = payload["talk_s"], payload["mute_s"], payload["after_s"]
    # 127.0.0.1 is the only address in the namespace, and aioice would leave it out.
    pin_ice_to_loopback()
    async with AsyncExitStack() as stack:
        near_servers, far_servers = await near_and_far_ice_servers(
            network, stack, payload.get("seed", 1)
        )
        far = MediaPeer()
        stack.push_async_callback(far.close)
        near = AiortcMediaSession(AudioSource.tone(440))
        stack.push_async_callback(near.close)
        offer = await far.offer(far_servers)
        assert far.peer_connection is not None
        far_buffer = install_loss_tolerant_buffer(far.peer_connection.getTransceivers()[0])
        await far.accept_answer(await near.answer(offer, near_servers))
        await until(
            lambda: far.frames_received >= HEARD_FRAMES and near.frames_played >= HEARD_FRAMES,
            within=CONNECT_TIMEOUT,
        )

        network.apply()
        # Frames after the last one the far end heard are the first the impaired network carries.
        far_impaired_from = far.frames[-1].index + 1
        sent_before, played_before = far.frames_sent, near.frames_played
        async with LoopLagMonitor() as lag:
            await asyncio.sleep(talk_s)
            mute = near.set_muted(True)
            await asyncio.sleep(mute_s)
            unmute = near.set_muted(False)
            await asyncio.sleep(after_s)
            # The softphone's frames are counted, not numbered: the far end stops talking and
            # the softphone plays all but the last packets its buffer holds, as many as it held
            # when the counts started.
            far.peer_connection.getSenders()[0].track.stop()
            await asyncio.sleep(JITTER_BUFFER_DRAIN_S)
            sent_to_near = far.frames_sent - sent_before
            played_by_near = near.frames_played - played_before
        assert mute is not None
        assert unmute is not None

        assert near.peer_connection is not None
        assert far.peer_connection is not None
        pcs = (near.peer_connection, far.peer_connection)
        pairs = [asdict(pair) for pc in pcs for pair in selected_pairs(pc)]
        far_received, far_lost = await inbound_loss(far.peer_connection.getReceivers()[0])
        near_received, near_lost = await inbound_loss(near.peer_connection.getReceivers()[0])
        near_stats = await near.stats()
        to_far = frames_missing(far.frames, far_impaired_from)
        return {
            "impairment": {
                "mechanism": network.mechanism,
                "netem": " ".join(network.impairment.netem_arguments()),
            },
            "interfaces": sorted(adapter.nice_name for adapter in ifaddr.get_adapters()),
            "selected_pairs": pairs,
            "call_seconds": talk_s + mute_s + after_s,
            "mute": mute_figures(mute, unmute, far.frames),
            "to_far": {
                "frames_expected": to_far[0],
                "frames_missing": to_far[1],
                "rtp_received": far_received,
                "rtp_lost": far_lost,
                "given_up": far_buffer.counts.skipped,
                "late": far_buffer.counts.late,
            },
            "to_near": {
                "frames_expected": sent_to_near,
                "frames_missing": sent_to_near - played_by_near,
                "rtp_received": near_received,
                "rtp_lost": near_lost,
                "given_up": near_stats.packets_given_up,
                "late": near_stats.packets_late,
            },
            **lag.figures(),
        }
