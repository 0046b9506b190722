"""The softphone's data, free of any WebRTC library."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IceServer:
    """A STUN or TURN server from Genesys' external service discovery (XEP-0215)."""

    urls: list[str]
    username: str | None
    credential: str | None
