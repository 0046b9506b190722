"""Plain models the softphone's signalling and media share."""

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class IceServer:
    """One STUN or TURN server, as WebRTC's ``RTCIceServer`` names it.

    ``urls`` are ``stun:host:port``, ``turn:host:port`` or ``turn:host:port?transport=tcp``
    (the SDK's mapping of XEP-0215 services). TURN credentials are secrets: never in a repr.
    """

    urls: list[str]
    username: str | None = field(default=None, repr=False)
    credential: str | None = field(default=None, repr=False)
