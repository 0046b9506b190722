"""The customer's end of an emulated WebRTC call: Genesys' media peer, made with aiortc.

It offers (Genesys' gateway is always the offerer), plays the customer's voice (a tone), applies
Genesys' server-side mute by dropping the agent's audio while the agent's participant is muted
(``is_muted`` is asked at every frame), and measures each frame it receives: energy in dBFS,
exact digital zero, RTP timestamp, arrival time. ``readout()`` is JSON for the control API.

Frames are numbered on the RTP clock: ``index`` is the frame's RTP timestamp, counted from the
first packet received, over 960 samples (20 ms at 48 kHz), so it matches the sender's own count
of frames when no packet before it was lost.

On loopback by default (``loopback_ice``): the emulator never sends media anywhere else.
"""

from array import array
import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
import fractions
import logging
import math
import time
from typing import Any, Protocol, override

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp
import av
from av.frame import Frame

from .calls import CallCenter
from .errors import ApiError
from .loopback_ice import pin_ice_to_loopback

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 48000
SAMPLES_PER_FRAME = 960
FRAME_SECONDS = SAMPLES_PER_FRAME / SAMPLE_RATE
CUSTOMER_TONE_HZ = 600
CUSTOMER_AMPLITUDE = 6000
SILENT_DBFS = -120.0
"""The energy reported for a frame of exact digital zero (its true level is minus infinity)."""
HISTORY_FRAMES = 3000
"""Frames kept for the readout: the last minute."""


class IceServerLike(Protocol):
    """An ICE server as the streaming service hands them out."""

    @property
    def urls(self) -> list[str]:
        """``stun:``/``turn:`` URLs."""

    @property
    def username(self) -> str | None:
        """TURN user."""

    @property
    def credential(self) -> str | None:
        """TURN password."""


@dataclass(frozen=True, slots=True)
class ReceivedFrame:
    """One 20 ms frame of the agent's audio as it reached Genesys."""

    index: int
    rtp_timestamp: int
    arrival: float
    """``time.time()`` when the decoded frame came out of the receiver."""
    dbfs: float
    exact_zero: bool
    dropped: bool
    """Dropped by the server-side mute: the customer did not hear it."""

    def as_json(self) -> dict[str, Any]:
        """The control API's shape."""
        return {
            "index": self.index,
            "rtpTimestamp": self.rtp_timestamp,
            "arrival": self.arrival,
            "dbfs": self.dbfs,
            "exactZero": self.exact_zero,
            "dropped": self.dropped,
        }


def measure(frame: av.AudioFrame) -> tuple[float, bool]:
    """A frame's RMS energy in dBFS and whether every sample is exactly zero."""
    used = frame.samples * len(frame.layout.channels) * frame.format.bytes
    data = bytes(frame.planes[0])[:used]
    if data.count(0) == len(data):
        return SILENT_DBFS, True
    samples = array("h", data)
    rms = math.sqrt(math.sumprod(samples, samples) / len(samples))
    return max(SILENT_DBFS, 20 * math.log10(rms / 32768)), False


class CustomerVoice(MediaStreamTrack):
    """The customer speaking: a continuous tone, paced in real time."""

    kind = "audio"

    def __init__(self, frequency: int = CUSTOMER_TONE_HZ) -> None:
        """A tone at ``frequency`` Hz."""
        super().__init__()
        self._step = 2 * math.pi * frequency / SAMPLE_RATE
        self.frames_sent = 0
        self._start: float | None = None

    @override
    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            await asyncio.sleep(self._start + self.frames_sent * FRAME_SECONDS - loop.time())
        first = self.frames_sent * SAMPLES_PER_FRAME
        samples = array(
            "h",
            (
                round(CUSTOMER_AMPLITUDE * math.sin(self._step * (first + n)))
                for n in range(SAMPLES_PER_FRAME)
            ),
        )
        frame = av.AudioFrame(format="s16", layout="mono", samples=SAMPLES_PER_FRAME)
        frame.planes[0].update(samples.tobytes())
        frame.pts, frame.sample_rate = first, SAMPLE_RATE
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self.frames_sent += 1
        return frame


def agent_muted(calls: CallCenter, conversation_id: str) -> Callable[[], bool]:
    """``is_muted`` for a call: the agent participant's server-side mute (false once it ended)."""

    def muted() -> bool:
        try:
            return calls.agent_leg(calls.get(conversation_id)).muted
        except ApiError:
            return False

    return muted


class MediaPeer:
    """Genesys' side of one WebRTC session (persistent across renegotiations)."""

    def __init__(
        self,
        *,
        is_muted: Callable[[], bool] = lambda: False,
        tone_hz: int = CUSTOMER_TONE_HZ,
        loopback_only: bool = True,
        history: int = HISTORY_FRAMES,
    ) -> None:
        """``is_muted``: whether the agent's participant is muted on the server right now."""
        if loopback_only:
            pin_ice_to_loopback()
        self._is_muted = is_muted
        self.tone_hz = tone_hz
        self._pc: RTCPeerConnection | None = None
        self._voice: CustomerVoice | None = None
        self._listening: asyncio.Task[None] | None = None
        self.frames: deque[ReceivedFrame] = deque(maxlen=history)
        self.frames_received = 0
        self.frames_dropped = 0
        self.offers = 0

    @property
    def frames_sent(self) -> int:
        """Frames of the customer's voice sent so far."""
        return 0 if self._voice is None else self._voice.frames_sent

    @property
    def peer_connection(self) -> RTCPeerConnection | None:
        """The live connection (the same one across renegotiations)."""
        return self._pc

    async def offer(self, ice_servers: Sequence[IceServerLike]) -> str:
        """An offer with every candidate; on a live connection, a renegotiation (same ICE)."""
        if self._pc is None:
            self._pc = RTCPeerConnection(
                RTCConfiguration(
                    iceServers=[
                        RTCIceServer(
                            urls=list(s.urls), username=s.username, credential=s.credential
                        )
                        for s in ice_servers
                    ]
                )
            )
            self._pc.on("track", self._listen)
            self._voice = CustomerVoice(self.tone_hz)
            transceiver = self._pc.addTransceiver(self._voice, direction="sendrecv")
            opus = [
                c
                for c in RTCRtpSender.getCapabilities("audio").codecs
                if c.mimeType.lower() == "audio/opus"
            ]
            transceiver.setCodecPreferences(opus)
        await self._pc.setLocalDescription(await self._pc.createOffer())
        self.offers += 1
        return self._pc.localDescription.sdp

    async def accept_answer(self, sdp: str) -> None:
        """The agent's answer."""
        assert self._pc is not None, "offer first"
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def add_remote_candidate(
        self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        """A candidate trickled by the agent; ``""`` ends them; one that cannot be used, ignored."""
        assert self._pc is not None, "offer first"
        text = candidate.strip().removeprefix("a=").removeprefix("candidate:")
        try:
            if not text or text == "end-of-candidates":
                await self._pc.addIceCandidate(None)
                return
            parsed = candidate_from_sdp(text)
            parsed.sdpMid = sdp_mid
            parsed.sdpMLineIndex = sdp_mline_index if sdp_mid or sdp_mline_index else 0
            await self._pc.addIceCandidate(parsed)
        except Exception as err:  # a client's garbage must not break the emulated gateway
            _LOGGER.debug("Ignored a candidate: %r", err)

    async def close(self) -> None:
        """End the session's media."""
        pc, self._pc = self._pc, None
        if pc is not None:
            await pc.close()
        if self._voice is not None:
            self._voice.stop()
            self._voice = None
        if self._listening is not None:
            self._listening.cancel()
            await asyncio.gather(self._listening, return_exceptions=True)
            self._listening = None

    def selected_addresses(self) -> tuple[str, str] | None:
        """(local, remote) address of the nominated ICE pair, once there is one."""
        if self._pc is None:
            return None
        for transceiver in self._pc.getTransceivers():
            # aiortc does not expose the selected pair; aioice's connection knows it.
            connection = transceiver.receiver.transport.transport._connection
            for pair in connection._nominated.values():
                return pair.local_candidate.host, pair.remote_candidate.host
        return None

    def readout(self, since: int = 0) -> dict[str, Any]:
        """What Genesys measured of the agent's audio (frames with ``index >= since``)."""
        pc = self._pc
        pair = self.selected_addresses()
        return {
            "iceState": "closed" if pc is None else pc.iceConnectionState,
            "connectionState": "closed" if pc is None else pc.connectionState,
            "toneHz": self.tone_hz,
            "offers": self.offers,
            "framesSent": self.frames_sent,
            "framesReceived": self.frames_received,
            "framesDropped": self.frames_dropped,
            "selectedPair": None if pair is None else {"local": pair[0], "remote": pair[1]},
            "frames": [f.as_json() for f in self.frames if f.index >= since],
        }

    def _listen(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio" and self._listening is None:
            self._listening = asyncio.create_task(self._measure(track))

    async def _measure(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.AudioFrame) or frame.pts is None:
                continue
            dbfs, exact_zero = measure(frame)
            dropped = self._is_muted()
            self.frames_received += 1
            self.frames_dropped += dropped
            self.frames.append(
                ReceivedFrame(
                    index=frame.pts // SAMPLES_PER_FRAME,
                    rtp_timestamp=frame.pts,
                    arrival=time.time(),
                    dbfs=dbfs,
                    exact_zero=exact_zero,
                    dropped=dropped,
                )
            )
