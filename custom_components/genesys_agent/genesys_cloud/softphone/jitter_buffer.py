"""The softphone's audio jitter buffer: it plays on past a lost packet instead of stalling.

aiortc 1.16's ``RTCRtpReceiver`` gives audio ``JitterBuffer(capacity=16, prefetch=4)``, which
releases a frame only while it and the four packets after it are all present. After one lost
packet it releases nothing until the packets behind the gap fill its whole window; from then on it
stays full (each frame waits behind 14 packets, 280 ms, for the rest of the call), and every packet
that jitter brings early pushes unplayed packets out of it. Under 5 % loss and 20 ± 30 ms jitter it
leaves more than four times as many frames unplayed as the network lost (the tests measure it).
Upstream knows it: aiortc/aiortc#543 ("Audio Jitter Buffer": after a loss the buffer stays full,
closed unresolved as stale) and aiortc/aiortc#1418 (an open rewrite for the same stall in video).

``LossTolerantJitterBuffer`` keeps aiortc's interface (``add(packet) -> (pli, frame | None)`` and
``capacity``; the receiver calls nothing else) and aiortc's latency: it holds ``prefetch`` packets
(80 ms at 20 ms a packet). The oldest packet is released once ``prefetch`` later packets wait
behind it, and a missing one is given up once ``prefetch`` later packets are there, so:

- k lost packets cost k frames, and the buffer never fills up behind a gap;
- a packet overtaken by fewer than ``prefetch`` later ones still plays, in order;
- a packet that comes after its turn passed (too late, or a duplicate) is dropped;
- sequence numbers wrap at 2**16; a packet ``capacity`` or more ahead of the next to play (a gap
  wider than the window) pushes the oldest packets out, and one far behind (``MAX_MISORDER``)
  restarts the buffer.

Every payload Genesys offers for audio (Opus, G.711) carries one frame per packet, so each packet
is a frame; an audio transceiver's receiver is given one by ``install_loss_tolerant_buffer``.

Installing it reaches into aiortc: the receiver keeps its buffer in the private, name-mangled
``_RTCRtpReceiver__jitter_buffer`` and has no way to be given one. The installer checks that the
attribute is there and holds aiortc's own buffer before replacing it, and raises
``GenesysMediaError`` otherwise, so an aiortc that moves it fails every call loudly (and the
tests) rather than quietly keeping the stalling buffer. pyproject pins aiortc==1.16.0.

Imported by ``media`` only, so only when the softphone is on.
"""

from dataclasses import dataclass

from aiortc import RTCRtpTransceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket

from ..exceptions import GenesysMediaError

SEQUENCE_MODULO = 1 << 16
MAX_MISORDER = 100
"""A packet further behind than this (2 s of audio) starts a new stream; aiortc's figure."""
AIORTC_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"


@dataclass(slots=True)
class JitterCounts:
    """What the buffer did with the packets it was given."""

    released: int = 0
    skipped: int = 0
    """Sequence numbers given up as lost."""
    late: int = 0
    """Packets dropped for coming after their turn, or twice."""
    pushed_out: int = 0
    """Packets dropped unplayed by a gap wider than the window, or a restart."""


class LossTolerantJitterBuffer:
    """Reorders audio packets and hands them out one by one, skipping those that never came."""

    def __init__(self, capacity: int = 16, prefetch: int = 4) -> None:
        """Hold ``prefetch`` packets; reorder within ``capacity`` sequence numbers."""
        if not 0 < prefetch < capacity < SEQUENCE_MODULO // 2 - MAX_MISORDER:
            raise ValueError(f"prefetch {prefetch} must be below capacity {capacity}")
        self._capacity = capacity
        self._prefetch = prefetch
        self._head: int | None = None
        """The next sequence number to release (None before the first packet)."""
        self._waiting: dict[int, RtpPacket] = {}
        self.counts = JitterCounts()

    @property
    def capacity(self) -> int:
        """Sequence numbers the window spans."""
        return self._capacity

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        """Take a packet; the next frame to decode if one is due. Audio never asks for a PLI."""
        sequence = packet.sequence_number
        head = sequence if self._head is None else self._head
        ahead = (sequence - head) % SEQUENCE_MODULO
        if ahead >= SEQUENCE_MODULO // 2:  # behind the head
            if SEQUENCE_MODULO - ahead <= MAX_MISORDER:
                self.counts.late += 1
                return False, None
            self.counts.pushed_out += len(self._waiting)  # the sender started afresh
            self._waiting.clear()
            head = sequence
        elif ahead >= self._capacity:
            head = (sequence - self._capacity + 1) % SEQUENCE_MODULO
            self._push_out_before(head)
        if sequence in self._waiting:
            self.counts.late += 1
            return False, None
        self._head = head
        self._waiting[sequence] = packet
        return False, self._release(head)

    def _release(self, head: int) -> JitterFrame | None:
        """The head's frame once ``prefetch`` packets wait behind it; a missing head is skipped."""
        while len(self._waiting) - (head in self._waiting) >= self._prefetch:
            packet = self._waiting.pop(head, None)
            head = (head + 1) % SEQUENCE_MODULO
            self._head = head
            if packet is not None:
                self.counts.released += 1
                # aiortc's receiver puts the depayloaded frame there before calling ``add``.
                data: bytes = packet._data  # type: ignore[attr-defined]
                return JitterFrame(data=data, timestamp=packet.timestamp)
            self.counts.skipped += 1
        return None

    def _push_out_before(self, head: int) -> None:
        """Drop the packets behind ``head``: the window moves there."""
        behind = [s for s in self._waiting if (s - head) % SEQUENCE_MODULO >= SEQUENCE_MODULO // 2]
        for sequence in behind:
            del self._waiting[sequence]
        self.counts.pushed_out += len(behind)


def install_loss_tolerant_buffer(transceiver: RTCRtpTransceiver) -> LossTolerantJitterBuffer:
    """Give an audio transceiver's receiver the loss-tolerant buffer (once; again, the same)."""
    if transceiver.kind != "audio":
        raise ValueError("the loss-tolerant jitter buffer is for audio")
    receiver = transceiver.receiver
    current = getattr(receiver, AIORTC_ATTRIBUTE, None)
    if isinstance(current, LossTolerantJitterBuffer):
        return current
    if type(current) is not JitterBuffer:
        raise GenesysMediaError(
            f"aiortc's RTCRtpReceiver no longer keeps its jitter buffer in {AIORTC_ATTRIBUTE} "
            f"(found {type(current).__name__}): the softphone's loss-tolerant buffer cannot be "
            "installed; check jitter_buffer.py against this aiortc"
        )
    buffer = LossTolerantJitterBuffer(capacity=current.capacity)
    setattr(receiver, AIORTC_ATTRIBUTE, buffer)
    return buffer
