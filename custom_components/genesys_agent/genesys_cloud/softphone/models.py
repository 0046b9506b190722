"""Plain models the softphone's signalling and media share."""

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Self


@dataclass(frozen=True, slots=True)
class IceServer:
    """One STUN or TURN server, as WebRTC's ``RTCIceServer`` names it.

    ``urls`` are ``stun:host:port``, ``turn:host:port`` or ``turn:host:port?transport=tcp``
    (the SDK's mapping of XEP-0215 services). TURN credentials are secrets: never in a repr.
    """

    urls: list[str]
    username: str | None = field(default=None, repr=False)
    credential: str | None = field(default=None, repr=False)


class SourceKind(StrEnum):
    """Where the agent's outgoing audio comes from."""

    ALSA = "alsa"
    FILE = "file"
    TONE = "tone"
    SILENCE = "silence"


@dataclass(frozen=True, slots=True)
class AudioSource:
    """The agent's outgoing audio: an ALSA capture device, a file, a test tone or silence."""

    kind: SourceKind
    name: str = ""
    frequency: int = 440

    @classmethod
    def alsa(cls, device: str) -> Self:
        """Capture from an ALSA device, e.g. ``default``, ``plughw:CARD=Headset``."""
        return cls(SourceKind.ALSA, device)

    @classmethod
    def file(cls, path: str) -> Self:
        """Play a file (wav, ogg/opus, ...) in a loop."""
        return cls(SourceKind.FILE, path)

    @classmethod
    def tone(cls, frequency: int = 440) -> Self:
        """A continuous sine tone."""
        return cls(SourceKind.TONE, frequency=frequency)

    @classmethod
    def silence(cls) -> Self:
        """Digital silence (the call is up, nothing is said)."""
        return cls(SourceKind.SILENCE)

    def describe(self) -> str:
        """What the source is, for diagnostics; a file is named without its folders."""
        match self.kind:
            case SourceKind.ALSA:
                return f"alsa {self.name}"
            case SourceKind.FILE:
                return f"file {Path(self.name).name}"
            case SourceKind.TONE:
                return f"tone {self.frequency} Hz"
        return "silence"
