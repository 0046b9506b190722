"""Two plain aiortc peers for the network tests: a tone each way and a meter of what arrives.

The relay, loopback and soak tests need only a call between two ``RTCPeerConnection``s; the
impaired call (``impaired_call``) uses the softphone's media session and the emulator's media
peer instead. ``selected_pairs`` and ``inbound_loss`` read any ``RTCPeerConnection``.
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
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
RTP_TIMESTAMP_MODULO = 2**32
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


class Tone(MediaStreamTrack):
    """A 440 Hz tone paced in real time."""

    kind = "audio"

    def __init__(self, amplitude: float = 0.3) -> None:
        super().__init__()
        self._amplitude = amplitude
        self._pts = 0
        self._started: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self._started is None:
            self._started = time.monotonic()
        wait = self._started + self._pts / SAMPLE_RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = av.AudioFrame(format="s16", layout="mono", samples=SAMPLES_PER_FRAME)
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
        return ReceivedFrame(pts, time.monotonic(), dbfs)

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
    tone: Tone
    meter: FrameMeter

    async def close(self) -> None:
        await self.pc.close()
        self.tone.stop()
        await self.meter.stop()


def new_peer(config: RTCConfiguration) -> Peer:
    peer = Peer(RTCPeerConnection(config), Tone(), FrameMeter())
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
