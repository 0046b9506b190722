"""The seam between the signalling (this package) and the media (aiortc, imported elsewhere).

Genesys' gateway is always the offerer; the softphone answers. One ``MediaSession`` is one
peer connection: ``answer`` may be called again on it with a renegotiation offer (same ICE
credentials, Genesys' persistent connection between calls); a re-invite with new ICE
credentials gets a new session from the factory, and the old one is closed.

``ice_servers`` are what Genesys' extdisco returned; when none of them is a ``stun:`` server,
Genesys forces TURN and the session must gather relay candidates only (as the SDK does).
"""

from collections.abc import Callable
from typing import Protocol

from .models import IceServer


class MediaSession(Protocol):
    """One peer connection that answers Genesys' offers."""

    async def answer(self, offer_sdp: str, ice_servers: list[IceServer]) -> str:
        """Apply the offer and return the complete answer SDP (candidates gathered)."""

    async def add_remote_candidate(
        self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        """Add one trickled remote candidate (``candidate:…`` without the ``a=``)."""

    async def close(self) -> None:
        """Stop the media and release the connection; safe to call more than once."""


type MediaSessionFactory = Callable[[], MediaSession]
