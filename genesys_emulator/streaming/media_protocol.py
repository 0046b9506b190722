"""The seam between the emulated gateway's signalling and its media peer (aiortc, elsewhere).

The gateway is always the offerer. One ``OfferingMediaPeer`` is one peer connection for one
conversation (or for the persistent connection that carries many): ``offer`` may be called again
on it for a renegotiation (same ICE credentials); ``accept_answer`` then takes the new answer.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class IceServer:
    """One STUN or TURN server as ``RTCIceServer`` names it (what extdisco hands out)."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class OfferingMediaPeer(Protocol):
    """The gateway's end of one peer connection."""

    async def offer(self, ice_servers: list[IceServer]) -> str:
        """The complete offer SDP (candidates gathered)."""

    async def accept_answer(self, sdp: str) -> None:
        """Apply the softphone's answer."""

    async def add_remote_candidate(
        self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        """Add one trickled candidate of the softphone (``candidate:…`` without the ``a=``)."""

    async def close(self) -> None:
        """Stop the media and release the connection; safe to call more than once."""


# Called with the conversation id of the call that opens the peer connection.
type OfferingMediaPeerFactory = Callable[[str], OfferingMediaPeer]
