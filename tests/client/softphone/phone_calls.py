"""The real softphone (phone.py) against the emulator's gateway and aiortc media peer.

Every WebRTC packet stays on 127.0.0.1 (``loopback_webrtc``; asserted on the selected pair and
every candidate the softphone sent); the streaming service hands out no ICE server, so nothing
falls back to a public STUN server.
"""

from collections.abc import AsyncGenerator, Awaitable, Callable

import pytest

from custom_components.genesys_agent.genesys_cloud import AgentSession, CallState
from custom_components.genesys_agent.genesys_cloud.softphone.models import AudioSource
from custom_components.genesys_agent.genesys_cloud.softphone.phone import (
    AnswerMode,
    MediaState,
    Softphone,
    SoftphoneOptions,
)
from genesys_emulator import Emulator
from genesys_emulator.loopback_ice import candidate_addresses, is_loopback
from genesys_emulator.media_peer import MediaPeer

from ...softphone.helpers import AUDIBLE_DBFS
from ..helpers import until

SILENT_DBFS = -60.0

MakePhone = Callable[..., Awaitable[Softphone]]


@pytest.fixture
async def make_phone(
    emulator: Emulator, session: AgentSession, loopback_webrtc: None
) -> AsyncGenerator[MakePhone]:
    """Start softphones on the demo agent's session (a 440 Hz tone, answering every call).

    ``resource``: the phone's XMPP resource (a random one by default).
    """
    emulator.enable_webrtc_media()
    emulator.streaming.services = []
    emulator.gateway.propose_interval = 0.2
    phones: list[Softphone] = []

    async def make(resource: str | None = None, **options: object) -> Softphone:
        settings = {"source": AudioSource.tone(440), "answer_mode": AnswerMode.ALWAYS} | options
        phone = Softphone(
            session,
            SoftphoneOptions(**settings),
            ping_interval=1.0,
            backoff_initial=0.05,
            resource=resource,
        )
        phones.append(phone)
        assert await phone.async_start()
        return phone

    yield make
    for phone in phones:
        await phone.async_stop()


async def peer_of(emulator: Emulator, conversation_id: str) -> MediaPeer:
    await until(lambda: emulator.media_peer_of(conversation_id) is not None)
    peer = emulator.media_peer_of(conversation_id)
    assert peer is not None
    return peer


async def talking(emulator: Emulator, session: AgentSession, phone: Softphone) -> str:
    """An inbound call, answered by the softphone, whose media reaches Genesys."""
    conversation_id = await emulator.control.start_inbound_call()
    await until(lambda: session.snapshot.agent_state.call_state is CallState.CONNECTED, 10)
    await until(lambda: phone.media_state is MediaState.CONNECTED, 10)
    peer = await peer_of(emulator, conversation_id)
    await until(lambda: len(peer.frames) > 5 and peer.frames[-1].dbfs > AUDIBLE_DBFS, 10)
    return conversation_id


def assert_on_loopback(emulator: Emulator, peer: MediaPeer) -> None:
    pair = peer.readout()["selectedPair"]
    assert pair is not None
    assert all(map(is_loopback, pair.values()))
    for session in emulator.gateway.sessions.values():
        for answer in session.answers:
            assert candidate_addresses(answer)
            assert all(map(is_loopback, candidate_addresses(answer)))
        assert all(is_loopback(c.split()[4]) for _, c in session.candidates)
