"""The softphone's media: one aiortc peer connection answering Genesys' offers.

Genesys' gateway is always the offerer (reference §5.2); this side answers with every candidate
already gathered (aiortc has no trickle for local candidates). The outgoing audio passes a mute
gate: while muted, every frame handed to the Opus encoder is explicit digital silence, from the
next frame on, with continuous timestamps and no renegotiation. ``sender.replaceTrack(None)`` is
not used: RTP would stop and the far end's loss concealment would play a fading tone.

Choices where the reference is silent or aiortc differs from a browser:

- ICE servers are always passed explicitly, so aiortc never falls back to its public STUN
  server. As the SDK does, the policy is relay-only when Genesys returns TURN and no STUN; an
  empty list (a local emulator) gathers host candidates only.
- aiortc (aioice) uses only the first STUN and the first TURN URL it is given, with no fall-back
  from one TURN URL to the next. The TURN URLs are therefore ordered: TURN over UDP first (the
  media's own transport, no head-of-line blocking), then TURN over TCP, then TURNS. TURN over
  TCP is used only when extdisco hands out no TURN over UDP.
- aiortc has no ICE restart: an offer with new ICE credentials is silently answered with the old
  ones. ``answer`` refuses such an offer; the caller checks ``restarts_ice`` (or
  ``offer_restarts_ice``) first and answers a re-invite with a new ``AiortcMediaSession``.
- Remote candidates must be IP addresses: a hostname (an mDNS ``.local`` name, which Genesys'
  media servers do not use) is dropped rather than resolved by multicast on the user's network.
- aiortc's audio jitter buffer stays full after one lost packet (every frame then 280 ms late,
  early packets pushing unplayed ones out); the receiver gets
  ``jitter_buffer.LossTolerantJitterBuffer`` instead, which costs a frame a loss.
- The incoming track is always read (to an ALSA output or drained): an unread track grows
  memory by about 1 MB/s.
- PyAV's bundled libasound looks for its configuration at a build-time path; ``ALSA_CONFIG_DIR``
  is set to the host's ALSA directory before a device is opened, unless the user set it.

aiortc and av are imported here only; nothing imports this module unless the softphone is on.
"""

from array import array
import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
import fractions
import functools
from ipaddress import ip_address
import logging
import math
import os
from pathlib import Path
import time
from typing import Any, Self, override

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from aiortc.rtcdtlstransport import generate_certificate
from aiortc.rtcicetransport import parse_stun_turn_uri
from aiortc.sdp import SessionDescription, candidate_from_sdp
import av
from av.frame import Frame
from av.packet import Packet
from cryptography.hazmat.primitives.asymmetric import ec
from OpenSSL import SSL

from ..exceptions import GenesysAudioDeviceError, GenesysMediaError
from .jitter_buffer import LossTolerantJitterBuffer, install_loss_tolerant_buffer
from .models import AudioSource, IceServer, SourceKind

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 48000
SAMPLES_PER_FRAME = 960
FRAME_SECONDS = SAMPLES_PER_FRAME / SAMPLE_RATE
CHANNELS = 2
_BYTES_PER_FRAME = SAMPLES_PER_FRAME * CHANNELS * 2
_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
_EARLY_CANDIDATES_KEPT = 32
_TONE_AMPLITUDE = 8000  # about -12 dBFS peak: clearly audible, far from clipping
# Where distributions install alsa-lib's configuration (alsa.conf and its cards/ and pcm/).
_ALSA_CONFIG_DIRS = ("/usr/share/alsa", "/usr/local/share/alsa", "/etc/alsa")


@dataclass(slots=True)
class GateTransition:
    """One mute or unmute of the gate, timed for the benchmark (``time.time()`` seconds)."""

    muted: bool
    commanded_at: float
    first_frame_index: int | None = None
    """Index (from 0, counted by the gate) of the first frame handed over in the new state."""
    first_frame_at: float | None = None

    @property
    def delay_ms(self) -> float | None:
        """Command to the first frame in the new state reaching the encoder."""
        if self.first_frame_at is None:
            return None
        return (self.first_frame_at - self.commanded_at) * 1000


@dataclass(frozen=True, slots=True)
class MediaStats:
    """The call's media, for diagnostics: no addresses."""

    ice_state: str
    codec: str | None
    packets_sent: int
    packets_received: int
    frames_played: int
    source: str
    muted: bool
    # The nominated local candidate's type: "host", "srflx" or "relay" (through TURN).
    path: str | None = None
    # Incoming packets the jitter buffer gave up waiting for (lost), or dropped for coming late.
    packets_given_up: int = 0
    packets_late: int = 0


def prepare() -> None:
    """Pay off the event loop what the first call would pay in it (about 40 ms, once a process):
    OpenSSL's first certificate, made and loaded into a DTLS context as aiortc loads its own."""
    certificate = generate_certificate(ec.generate_private_key(ec.SECP256R1()))
    SSL.Context(SSL.DTLS_METHOD).use_certificate(certificate)


def ensure_alsa_config() -> None:
    """Point PyAV's libasound at the host's ALSA configuration unless the user already did."""
    if "ALSA_CONFIG_DIR" in os.environ:
        return
    for folder in _ALSA_CONFIG_DIRS:
        if Path(folder, "alsa.conf").is_file():
            os.environ["ALSA_CONFIG_DIR"] = folder
            return


def ice_credentials(sdp: str) -> tuple[str | None, str | None]:
    """The first ``a=ice-ufrag`` and ``a=ice-pwd`` of an SDP."""
    ufrag = pwd = None
    for line in sdp.splitlines():
        if ufrag is None and line.startswith("a=ice-ufrag:"):
            ufrag = line.removeprefix("a=ice-ufrag:").strip()
        elif pwd is None and line.startswith("a=ice-pwd:"):
            pwd = line.removeprefix("a=ice-pwd:").strip()
    return ufrag, pwd


def offer_restarts_ice(previous_offer: str, offer: str) -> bool:
    """Whether ``offer`` brings new ICE credentials (a re-invite), not a renegotiation."""
    return ice_credentials(previous_offer) != ice_credentials(offer)


class GeneratedTrack(MediaStreamTrack):
    """Real-time 48 kHz stereo frames cut from a looped table of samples."""

    kind = "audio"

    def __init__(self, samples: array[int]) -> None:
        """Loop ``samples`` (interleaved stereo s16, a whole number of frames)."""
        super().__init__()
        self._table = samples.tobytes()
        self._index = 0
        self._start: float | None = None

    @classmethod
    def tone(cls, frequency: int) -> Self:
        """A sine tone; one second of it loops seamlessly (a whole number of periods)."""
        return cls(_tone_samples(frequency))

    @classmethod
    def silence(cls) -> Self:
        """Zeros."""
        return cls(array("h", bytes(_BYTES_PER_FRAME)))

    @override
    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            await asyncio.sleep(self._start + self._index * FRAME_SECONDS - loop.time())
        offset = (self._index * _BYTES_PER_FRAME) % len(self._table)
        frame = _stereo_frame(self._table[offset : offset + _BYTES_PER_FRAME])
        frame.pts = self._index * SAMPLES_PER_FRAME
        self._index += 1
        return frame


class MuteGate(MediaStreamTrack):
    """The track the sender reads: the source's frames, or digital silence while muted."""

    kind = "audio"

    def __init__(self, source: MediaStreamTrack) -> None:
        """Gate ``source``."""
        super().__init__()
        self._source = source
        self._muted = False
        self.frames_sent = 0
        self.last_transition: GateTransition | None = None

    @property
    def muted(self) -> bool:
        """Whether frames leave as silence."""
        return self._muted

    def set_muted(self, muted: bool) -> GateTransition | None:
        """Silence (or not) every frame from the next one on; the transition, if it changed."""
        if muted == self._muted:
            return None
        self._muted = muted
        self.last_transition = GateTransition(muted=muted, commanded_at=time.time())
        return self.last_transition

    @override
    async def recv(self) -> Frame | Packet[Any]:
        frame = await self._source.recv()
        # The flag is read once the frame exists, so a command given while waiting for it counts.
        index, self.frames_sent = self.frames_sent, self.frames_sent + 1
        transition = self.last_transition
        if transition is not None and transition.first_frame_index is None:
            transition.first_frame_index, transition.first_frame_at = index, time.time()
        if self._muted and isinstance(frame, av.AudioFrame):
            return _silent_like(frame)
        return frame

    @override
    def stop(self) -> None:
        super().stop()
        self._source.stop()


@functools.cache
def _tone_samples(frequency: int) -> array[int]:
    """One second of a tone, computed once a frequency (tens of milliseconds of Python)."""
    samples = array("h")
    for n in range(SAMPLE_RATE):
        value = round(_TONE_AMPLITUDE * math.sin(2 * math.pi * frequency * n / SAMPLE_RATE))
        samples.extend((value, value))
    return samples


def _stereo_frame(data: bytes) -> av.AudioFrame:
    frame = av.AudioFrame(format="s16", layout="stereo", samples=SAMPLES_PER_FRAME)
    frame.planes[0].update(data)
    frame.sample_rate = SAMPLE_RATE
    frame.time_base = _TIME_BASE
    return frame


def _silent_like(frame: av.AudioFrame) -> av.AudioFrame:
    """A frame shaped and timed like ``frame``, every byte zero (a new frame is uninitialised)."""
    silent = av.AudioFrame(
        format=frame.format.name, layout=frame.layout.name, samples=frame.samples
    )
    for plane in silent.planes:
        plane.update(bytes(plane.buffer_size))
    silent.pts = frame.pts
    silent.sample_rate = frame.sample_rate
    silent.time_base = frame.time_base
    return silent


def _open_source(source: AudioSource) -> MediaStreamTrack:
    """The source's track (a device or file is read by aiortc's player, in its own thread)."""
    if source.kind is SourceKind.TONE:
        return GeneratedTrack.tone(source.frequency)
    if source.kind is SourceKind.SILENCE:
        return GeneratedTrack.silence()
    if source.kind is SourceKind.ALSA:
        ensure_alsa_config()
    try:
        player = (
            MediaPlayer(source.name, format="alsa")
            if source.kind is SourceKind.ALSA
            else MediaPlayer(source.name, loop=True)
        )
    except (OSError, ValueError, av.FFmpegError) as err:
        raise GenesysAudioDeviceError(
            f"cannot open {source.describe()}: {err}", device=source.name
        ) from err
    if player.audio is None:
        raise GenesysAudioDeviceError(f"{source.describe()} has no audio", device=source.name)
    return player.audio


class AlsaPlayback:
    """Frames written to an ALSA playback device (the blocking writes run in a thread)."""

    def __init__(self, device: str) -> None:
        """Open ``device`` for 48 kHz stereo."""
        ensure_alsa_config()
        self.device = device
        try:
            self._container = av.open(device, format="alsa", mode="w")
            self._stream = self._container.add_stream("pcm_s16le", rate=SAMPLE_RATE)
            self._stream.layout = "stereo"
            self._container.start_encoding()  # opens the device now, not at the first frame
        except (OSError, ValueError, av.FFmpegError) as err:
            raise GenesysAudioDeviceError(
                f"cannot open ALSA output {device}: {err}", device=device
            ) from err

    async def write(self, frame: av.AudioFrame) -> None:
        """Play one frame."""
        await asyncio.get_running_loop().run_in_executor(None, self._write, frame)

    def _write(self, frame: av.AudioFrame) -> None:
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        """Release the device."""
        self._container.close()


class AiortcMediaSession:
    """The call's media on one peer connection, kept across renegotiations.

    Implements the signalling's ``MediaSession``: ``answer``, ``add_remote_candidate``,
    ``close``; plus the mute gate and stats. ``output_device`` None drains the incoming audio.
    """

    def __init__(
        self,
        source: AudioSource,
        *,
        output_device: str | None = None,
        on_ice_state: Callable[[str], None] | None = None,
    ) -> None:
        """Prepare; nothing opens until the first offer is answered."""
        self.source = source
        self._output_device = output_device
        self._on_ice_state = on_ice_state
        self._pc: RTCPeerConnection | None = None
        self._gate: MuteGate | None = None
        self._playback: AlsaPlayback | None = None
        self._playing: asyncio.Task[None] | None = None
        self._jitter_buffer: LossTolerantJitterBuffer | None = None
        self._muted = False
        self._remote_offer: str | None = None
        self._early_candidates: deque[tuple[str, str | None, int | None]] = deque(
            maxlen=_EARLY_CANDIDATES_KEPT
        )
        self.frames_played = 0
        # Set once the far end's audio arrives (the path works both ways), or the connection
        # failed or was closed.
        self._settled = asyncio.Event()

    # ------------------------------------------------------------------ signalling side

    def restarts_ice(self, offer_sdp: str) -> bool:
        """Whether this offer needs a new session: new ICE credentials on a live connection."""
        return self._remote_offer is not None and offer_restarts_ice(self._remote_offer, offer_sdp)

    async def answer(self, offer_sdp: str, ice_servers: list[IceServer]) -> str:
        """Answer an offer (the first, or a renegotiation); the SDP carries every candidate.

        ``ice_servers`` configure the connection made for the first offer.
        """
        if self.restarts_ice(offer_sdp):
            raise GenesysMediaError("the offer restarts ICE: answer it with a new media session")
        pc = self._pc or await self._start(ice_servers)
        try:
            offer = RTCSessionDescription(sdp=_ip_candidates_only(offer_sdp), type="offer")
            await pc.setRemoteDescription(offer)
            # The gate's transceiver, which the offer's audio m-line took.
            self._jitter_buffer = install_loss_tolerant_buffer(pc.getTransceivers()[0])
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as err:
            # The offer comes off the wire, and aiortc meets a malformed one with whatever its
            # parser trips on (ValueError, AttributeError, RuntimeError, ...).
            if self._remote_offer is None:
                await self.close()  # nothing was established: start afresh on the next offer
            raise GenesysMediaError(f"cannot answer the offer: {err!r}") from err
        self._remote_offer = offer_sdp
        for early in self._early_candidates:
            await self.add_remote_candidate(*early)
        self._early_candidates.clear()
        return pc.localDescription.sdp

    async def add_remote_candidate(
        self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        """Add a trickled remote candidate; ``""`` ends them. One that cannot be used is dropped.

        Candidates that arrive before the offer are kept (the newest few) until it is answered.
        """
        if self._remote_offer is None:
            self._early_candidates.append((candidate, sdp_mid, sdp_mline_index))
            return
        assert self._pc is not None
        text = candidate.strip().removeprefix("a=").removeprefix("candidate:")
        try:
            if not text or text == "end-of-candidates":
                await self._pc.addIceCandidate(None)
                return
            parsed = candidate_from_sdp(text)
            if not _is_ip(parsed.ip):
                _LOGGER.debug("Dropped a remote candidate that names a host, not an address")
                return
            parsed.sdpMid = sdp_mid
            no_line = sdp_mid is None and sdp_mline_index is None
            parsed.sdpMLineIndex = 0 if no_line else sdp_mline_index  # one audio m-line
            await self._pc.addIceCandidate(parsed)
        except Exception as err:  # off the wire: whatever aiortc trips on (AssertionError, ...)
            _LOGGER.debug("Dropped a remote candidate that cannot be used: %r", err)

    async def carrying(self) -> None:
        """Return once the far end's audio arrives on this connection, or it failed or closed."""
        await self._settled.wait()

    async def close(self) -> None:
        """Hang up the media: the connection, the source, the output. Safe to call twice."""
        self._settled.set()
        pc, self._pc = self._pc, None
        if pc is not None:
            await pc.close()
        if self._gate is not None:
            self._gate.stop()
            self._gate = None
        if self._playing is not None:
            self._playing.cancel()
            await asyncio.gather(self._playing, return_exceptions=True)
            self._playing = None
        if self._playback is not None:
            self._playback.close()
            self._playback = None
        self._remote_offer = None
        self._jitter_buffer = None
        self._early_candidates.clear()

    # ------------------------------------------------------------------ the call

    @property
    def muted(self) -> bool:
        """Whether the outgoing audio is silenced here."""
        return self._muted

    def set_muted(self, muted: bool) -> GateTransition | None:
        """Silence the outgoing audio from the next frame on (or let it through again)."""
        self._muted = muted
        return None if self._gate is None else self._gate.set_muted(muted)

    @property
    def peer_connection(self) -> RTCPeerConnection | None:
        """The live connection (the same one across renegotiations)."""
        return self._pc

    @property
    def last_transition(self) -> GateTransition | None:
        """The gate's latest mute or unmute, timed (for a benchmark that did not call it)."""
        return None if self._gate is None else self._gate.last_transition

    async def stats(self) -> MediaStats:
        """ICE state, codec, packets each way, the source; no addresses."""
        sent = received = 0
        codec = None
        jitter = self._jitter_buffer
        ice_state = "closed"
        if self._pc is not None:
            ice_state = self._pc.iceConnectionState
            for report in (await self._pc.getStats()).values():
                if report.type == "outbound-rtp":
                    sent += report.packetsSent
                elif report.type == "inbound-rtp":
                    received += report.packetsReceived
            if self._pc.localDescription is not None:
                codec = _first_codec(self._pc.localDescription.sdp)
        return MediaStats(
            path=self._selected_path(),
            ice_state=ice_state,
            codec=codec,
            packets_sent=sent,
            packets_received=received,
            frames_played=self.frames_played,
            source=self.source.describe(),
            muted=self._muted,
            packets_given_up=0 if jitter is None else jitter.counts.skipped,
            packets_late=0 if jitter is None else jitter.counts.late,
        )

    def _selected_path(self) -> str | None:
        """The nominated local candidate's type (aiortc exposes no selected pair: aioice's)."""
        if self._pc is None:
            return None
        for transceiver in self._pc.getTransceivers():
            connection = transceiver.receiver.transport.transport._connection
            for pair in connection._nominated.values():
                return str(pair.local_candidate.type)
        return None

    # ------------------------------------------------------------------ internals

    async def _start(self, ice_servers: list[IceServer]) -> RTCPeerConnection:
        """Open the source and output (typed errors naming the device), then the connection.

        Opening a device or file, or computing a tone's table, blocks: it runs in a thread.
        """
        gate = MuteGate(await asyncio.to_thread(_open_source, self.source))
        gate.set_muted(self._muted)
        if self._output_device is not None:
            try:
                self._playback = await asyncio.to_thread(AlsaPlayback, self._output_device)
            except GenesysAudioDeviceError:
                gate.stop()
                raise
        pc = RTCPeerConnection(rtc_configuration(ice_servers))
        self._settled.clear()
        pc.on("track", self._play)
        pc.on("iceconnectionstatechange", self._ice_state_changed)
        pc.on("connectionstatechange", self._connection_state_changed)
        # Before the offer is set: aiortc gives its audio m-line this transceiver.
        pc.addTrack(gate)
        self._pc, self._gate = pc, gate
        return pc

    def _play(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio" and self._playing is None:
            self._playing = asyncio.create_task(self._read_incoming(track))

    async def _read_incoming(self, track: MediaStreamTrack) -> None:
        """Play (or drain) every incoming frame: an unread track grows memory."""
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.frames_played += 1
            self._settled.set()
            if self._playback is not None and isinstance(frame, av.AudioFrame):
                await self._playback.write(frame)

    def _connection_state_changed(self) -> None:
        if self._pc is not None and self._pc.connectionState in ("failed", "closed"):
            self._settled.set()

    def _ice_state_changed(self) -> None:
        if self._pc is not None and self._on_ice_state is not None:
            self._on_ice_state(self._pc.iceConnectionState)


def rtc_configuration(ice_servers: list[IceServer]) -> RTCConfiguration:
    """Explicit servers (never aiortc's public default); relay-only when there is TURN, no STUN."""
    # One URL a server, so the URLs sort across servers (aiortc takes the first of each kind).
    urls = sorted(
        ((url, server) for server in ice_servers for url in server.urls if _usable_ice_url(url)),
        key=lambda entry: _url_rank(entry[0]),
    )
    servers = [
        RTCIceServer(urls=[url], username=server.username, credential=server.credential)
        for url, server in urls
    ]
    has_stun = any(url.startswith("stun") for url, _ in urls)
    has_turn = any(url.startswith("turn") for url, _ in urls)
    relay_only = has_turn and not has_stun
    policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)


def _url_rank(url: str) -> int:
    """STUN first (apart anyway), then TURN over UDP, TURN over TCP, TURNS."""
    if url.startswith("stun"):
        return 0
    if url.startswith("turns:"):
        return 3
    return 2 if "transport=tcp" in url.lower() else 1


def _usable_ice_url(url: str) -> bool:
    try:
        parse_stun_turn_uri(url)
    except ValueError:
        _LOGGER.debug("Ignored an ICE server URL aiortc cannot use: %s", url.split("?")[0])
        return False
    return True


def _is_ip(address: str) -> bool:
    try:
        ip_address(address)
    except ValueError:
        return False
    return True


def _ip_candidates_only(sdp: str) -> str:
    """The SDP without ``a=candidate`` lines whose address is a host name."""
    return "".join(
        line
        for line in sdp.splitlines(keepends=True)
        if not line.startswith("a=candidate:") or len(line.split()) < 5 or _is_ip(line.split()[4])
    )


def _first_codec(sdp: str) -> str | None:
    for media in SessionDescription.parse(sdp).media:
        if media.kind == "audio" and media.rtp.codecs:
            codec = media.rtp.codecs[0]
            return f"{codec.mimeType.split('/')[-1].lower()}/{codec.clockRate}/{codec.channels}"
    return None
