"""Fixtures of the softphone media tests: real aiortc at both ends, every packet on loopback.

The SDP goes straight from the emulator's media peer to the client's media session (no
signalling); aioice is pinned to 127.0.0.1 and no ICE server is given (so no public STUN).
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
import gc
from typing import Any

from aiortc import RTCPeerConnection
import pytest

from custom_components.genesys_agent.genesys_cloud.softphone.media import AiortcMediaSession
from custom_components.genesys_agent.genesys_cloud.softphone.models import AudioSource
from genesys_emulator.media_peer import MediaPeer

from .helpers import wait_for


@pytest.fixture(autouse=True)
def loopback_only(loopback_webrtc: None) -> None:
    """Every test here keeps WebRTC on 127.0.0.1."""


@dataclass
class Call:
    """The agent's media session and Genesys' media peer, connected."""

    client: AiortcMediaSession
    peer: MediaPeer
    offer: str
    answer: str
    server_muted: bool = False


async def connect(client: AiortcMediaSession, peer: MediaPeer) -> tuple[str, str]:
    """Offer, answer, and wait until the peer hears frames; the two SDPs."""
    offer = await peer.offer([])
    answer = await client.answer(offer, [])
    await peer.accept_answer(answer)
    await wait_for(lambda: peer.frames_received >= 10)
    return offer, answer


MakeCall = Callable[..., Awaitable[Call]]


@pytest.fixture
async def make_call() -> AsyncIterator[MakeCall]:
    """Make connected calls (``make_call(source, **session_options)``); all closed afterwards."""
    made: list[Call] = []

    async def make(source: AudioSource | None = None, **options: Any) -> Call:
        peer = MediaPeer(is_muted=lambda: call.server_muted)
        client = AiortcMediaSession(source or AudioSource.tone(440), **options)
        call = Call(client, peer, "", "")
        made.append(call)
        call.offer, call.answer = await connect(client, peer)
        return call

    yield make
    for call in made:
        await call.client.close()
        await call.peer.close()


@pytest.fixture
async def call(make_call: MakeCall) -> Call:
    """One connected call: a 440 Hz tone, drained."""
    return await make_call()


def live_peer_connections() -> list[RTCPeerConnection]:
    """Every RTCPeerConnection still alive in the process."""
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, RTCPeerConnection)]
