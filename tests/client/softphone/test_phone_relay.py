"""A relay-only network for the real softphone: extdisco hands out coturn (TURN, no STUN).

The softphone gathers relay candidates only, so every packet it sends goes to coturn on
127.0.0.1; freezing coturn silences the far end, thawing it brings the audio back.
"""

import asyncio
import os
import signal

import pytest

from custom_components.genesys_agent.genesys_cloud import AgentSession
from genesys_emulator import Emulator
from genesys_emulator.streaming.service import ExternalService

from ...softphone.test_relay import tcp_connections_to
from ...softphone.turn import TurnServer
from ..helpers import until
from .phone_calls import MakePhone, peer_of, talking
from .test_phone_faults import hears_the_agent


def turn_services(coturn: TurnServer, *transports: str) -> list[ExternalService]:
    return [
        ExternalService(
            type="turn",
            host=coturn.host,
            port=coturn.port,
            transport=transport,
            username=coturn.username,
            password=coturn.password,
        )
        for transport in transports
    ]


# The emulator's media peer takes the URLs in extdisco's order, so TURN over TCP when it comes
# first; the softphone reorders: over TCP only when extdisco hands out no TURN over UDP.
@pytest.mark.parametrize(("handed_out", "tcp_to_coturn"), [(("tcp", "udp"), 1), (("tcp",), 2)])
async def test_a_relay_only_call_flows_through_coturn_and_stops_when_it_freezes(
    emulator: Emulator,
    session: AgentSession,
    make_phone: MakePhone,
    coturn: TurnServer,
    handed_out: tuple[str, ...],
    tcp_to_coturn: int,
) -> None:
    phone = await make_phone()
    emulator.streaming.services = turn_services(coturn, *handed_out)
    await emulator.streaming.drop_connections()  # extdisco is read again on the reconnect
    assert phone._transport is not None
    await until(lambda: len(phone._transport.ice_servers) == len(handed_out), 10)  # type: ignore[union-attr]

    conversation_id = await talking(emulator, session, phone)
    peer = await peer_of(emulator, conversation_id)
    assert phone.media is not None
    stats = await phone.media.stats()
    assert stats.path == "relay"
    (answer,) = emulator.gateway.session_for(conversation_id).answers  # type: ignore[union-attr]
    assert "typ host" not in answer  # nothing but relayed candidates leaves the house
    assert "typ relay" in answer
    assert tcp_connections_to(coturn.port) == tcp_to_coturn

    os.kill(coturn.pid, signal.SIGSTOP)
    try:
        async with asyncio.timeout(5):
            settled = -1
            while settled != peer.frames_received:
                settled = peer.frames_received
                await asyncio.sleep(0.3)
        await asyncio.sleep(1.0)
        assert peer.frames_received == settled  # no packet of the agent took another path
    finally:
        os.kill(coturn.pid, signal.SIGCONT)
    await hears_the_agent(peer)
