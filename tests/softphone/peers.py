"""Two aiortc peers for the network tests: a gated tone on each side and a meter of what arrives.

These stand in for the softphone (the near end, ``GatedTone`` muted by zeroing every sample it
sends) and the emulator's media peer (the far end, ``FrameMeter`` measuring each decoded frame)
until those plug in: the network harness only needs ``RTCPeerConnection``s, so the real ones
drop into ``connect`` and ``selected_pairs`` unchanged.
"""

import asyncio
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
import fractions
import math
import time
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCRtpReceiver,
)
import av
import numpy as np

from ..waiting import until

SAMPLE_RATE = 48_000
SAMPLES_PER_FRAME = 960  # 20 ms, what Opus carries per packet
FRAME_SECONDS = SAMPLES_PER_FRAME / SAMPLE_RATE
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
RTP_TIMESTAMP_MODULO = 2**32
SILENT_DBFS = -60.0
AUDIBLE_DBFS = -40.0
CONNECT_TIMEOUT = 15.0
AUDIO_TIMEOUT = 10.0


def configuration(
    ice_servers: list[dict[str, Any]], *, relay_only: bool = False
) -> RTCConfiguration:
    """An explicit configuration: never aiortc's default (public) STUN server."""
    return RTCConfiguration(
        iceServers=[RTCIceServer(**server) for server in ice_servers],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL,
    )


class GatedTone(MediaStreamTrack):
    """A 440 Hz tone paced in real time; ``mute`` zeroes every sample from the next frame."""

    kind = "audio"

    def __init__(self, amplitude: float = 0.3) -> None:
        super().__init__()
        self._amplitude = amplitude
        self._pts = 0
        self._started: float | None = None
        self.muted = False
        self.gate_changes: list[tuple[bool, int, float]] = []  # (muted, first pts, monotonic)

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        self.gate_changes.append((muted, self._pts, time.monotonic()))

    async def recv(self) -> av.AudioFrame:
        if self._started is None:
            self._started = time.monotonic()
        wait = self._started + self._pts / SAMPLE_RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = av.AudioFrame(format="s16", layout="mono", samples=SAMPLES_PER_FRAME)
        if self.muted:
            samples = np.zeros(SAMPLES_PER_FRAME, dtype=np.int16)
        else:
            n = np.arange(self._pts, self._pts + SAMPLES_PER_FRAME)
            wave = self._amplitude * np.sin(2 * math.pi * 440 * n / SAMPLE_RATE)
            samples = (wave * 32767).astype(np.int16)
        # A fresh AudioFrame holds uninitialised memory: every sample is written.
        frame.planes[0].update(samples.tobytes())
        frame.pts, frame.sample_rate, frame.time_base = self._pts, SAMPLE_RATE, TIME_BASE
        self._pts += SAMPLES_PER_FRAME
        return frame


@dataclass(slots=True)
class ReceivedFrame:
    pts: int  # sender's media time in samples (0 = the first frame it sent)
    arrived: float  # monotonic
    dbfs: float
    exact_zero: bool


@dataclass
class FrameMeter:
    """Drains a remote audio track (an undrained track grows memory) and measures each frame."""

    frames: list[ReceivedFrame] = field(default_factory=list)
    _first_rtp_timestamp: int | None = None
    _task: asyncio.Task[None] | None = None

    def start(self, track: MediaStreamTrack) -> None:
        self._task = asyncio.create_task(self._drain(track))

    async def _drain(self, track: MediaStreamTrack) -> None:
        with suppress(Exception):  # MediaStreamError when the track ends
            while True:
                frame = await track.recv()
                self.frames.append(self._measure(frame))

    def _measure(self, frame: av.AudioFrame) -> ReceivedFrame:
        samples = frame.to_ndarray()
        if self._first_rtp_timestamp is None:
            self._first_rtp_timestamp = frame.pts
        pts = (frame.pts - self._first_rtp_timestamp) % RTP_TIMESTAMP_MODULO
        peak = int(np.abs(samples.astype(np.int32)).max())
        dbfs = 20 * math.log10(peak / 32768) if peak else -math.inf
        return ReceivedFrame(pts, time.monotonic(), dbfs, peak == 0)

    def audible_frames(self) -> int:
        return sum(frame.dbfs > AUDIBLE_DBFS for frame in self.frames)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task


@dataclass
class Peer:
    """One end of a call: its connection, the tone it sends and the meter of what it hears."""

    pc: RTCPeerConnection
    tone: GatedTone
    meter: FrameMeter

    async def close(self) -> None:
        await self.pc.close()
        self.tone.stop()
        await self.meter.stop()


def new_peer(config: RTCConfiguration) -> Peer:
    peer = Peer(RTCPeerConnection(config), GatedTone(), FrameMeter())
    peer.pc.addTrack(peer.tone)
    peer.pc.on("track", peer.meter.start)
    return peer


async def connect(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    """Offer/answer with complete candidates (as Genesys does), then wait for both to connect."""
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)
    async with asyncio.timeout(CONNECT_TIMEOUT):
        while not (offerer.connectionState == answerer.connectionState == "connected"):
            if "failed" in (offerer.connectionState, answerer.connectionState):
                raise ConnectionError("ICE or DTLS failed")
            await asyncio.sleep(0.01)


async def call(near_config: RTCConfiguration, far_config: RTCConfiguration) -> tuple[Peer, Peer]:
    """A connected call: the far end (Genesys' side) offers, the near end answers."""
    near, far = new_peer(near_config), new_peer(far_config)
    try:
        await connect(far.pc, near.pc)
    except BaseException:
        await asyncio.gather(near.close(), far.close())
        raise
    return near, far


@dataclass(frozen=True, slots=True)
class SelectedPair:
    local_type: str
    local_host: str
    local_transport: str
    remote_type: str
    remote_host: str


def selected_pairs(pc: RTCPeerConnection) -> Iterator[SelectedPair]:
    """The candidate pair ICE nominated for each transport of ``pc``.

    aiortc exposes no selected pair (its stats have no candidate-pair entries), so this reads
    aioice's nominated pairs behind the ICE transport.
    """
    transports = {id(t.receiver.transport): t.receiver.transport for t in pc.getTransceivers()}
    for dtls in transports.values():
        for pair in dtls.transport._connection._nominated.values():
            local, remote = pair.local_candidate, pair.remote_candidate
            yield SelectedPair(local.type, local.host, local.transport, remote.type, remote.host)


def local_candidate_hosts(pc: RTCPeerConnection) -> set[str]:
    """Every address ``pc`` gathered for itself, host or relayed."""
    return {
        candidate.ip
        for transceiver in pc.getTransceivers()
        for candidate in transceiver.receiver.transport.transport.iceGatherer.getLocalCandidates()
    }


async def inbound_loss(receiver: RTCRtpReceiver) -> tuple[int, int]:
    """(packets received, packets lost) as the receiver's RTP statistics count them."""
    for stats in (await receiver.getStats()).values():
        if stats.type == "inbound-rtp":
            return stats.packetsReceived, stats.packetsLost
    return 0, 0


async def hears_audio(peer: Peer, frames: int = 25) -> None:
    """Wait for ``frames`` more audible frames (half a second of tone) at ``peer``."""
    target = peer.meter.audible_frames() + frames
    await until(lambda: peer.meter.audible_frames() >= target, within=AUDIO_TIMEOUT)


def mute_figures(tone: GatedTone, meter: FrameMeter) -> dict[str, Any]:
    """What the far end heard of one mute and unmute of ``tone``, frame by frame.

    Frame offsets count media frames from the first zeroed input frame (0 = that frame itself),
    so lost frames do not shift them; milliseconds run from the mute call to the frame's arrival
    out of the far end's jitter buffer and decoder.
    """
    (muted, mute_pts, muted_at), (unmuted, unmute_pts, unmuted_at) = tone.gate_changes[-2:]
    assert muted, "the tone's last gate changes are a mute and an unmute"
    assert not unmuted
    frames = sorted(meter.frames, key=lambda frame: frame.pts)
    while_muted = [f for f in frames if mute_pts <= f.pts < unmute_pts]
    first_quiet = next(f for f in while_muted if f.dbfs < SILENT_DBFS)
    first_zero = next(f for f in while_muted if f.exact_zero)
    first_audible = next(f for f in frames if f.pts >= unmute_pts and f.dbfs > AUDIBLE_DBFS)

    def offset(frame: ReceivedFrame, origin: int) -> int:
        return (frame.pts - origin) // SAMPLES_PER_FRAME

    return {
        "frames_to_below_60_dbfs": offset(first_quiet, mute_pts),
        "frames_to_exact_zero": offset(first_zero, mute_pts),
        "ms_to_exact_zero": round((first_zero.arrived - muted_at) * 1000, 1),
        "non_zero_frames_after_silence": sum(
            not f.exact_zero for f in while_muted if f.pts >= first_zero.pts
        ),
        # Opus' look-ahead carries the last unmuted samples into frames 0 and 1; from frame 2
        # on, every decoded sample must be exactly zero.
        "non_zero_frames_from_the_third": sum(
            not f.exact_zero for f in while_muted if offset(f, mute_pts) >= 2
        ),
        "muted_frames_expected": (unmute_pts - mute_pts) // SAMPLES_PER_FRAME,
        "muted_frames_received": len(while_muted),
        "frames_to_audible_after_unmute": offset(first_audible, unmute_pts),
        "ms_to_audible_after_unmute": round((first_audible.arrived - unmuted_at) * 1000, 1),
    }


def frames_missing(meter: FrameMeter, since_pts: int = 0) -> tuple[int, int]:
    """(frames expected, frames never decoded) from ``since_pts`` to the last frame heard."""
    seen = {frame.pts for frame in meter.frames if frame.pts >= since_pts}
    if not seen:
        return 0, 0
    expected = (max(seen) - since_pts) // SAMPLES_PER_FRAME + 1
    return expected, expected - len(seen)
