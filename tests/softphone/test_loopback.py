"""The harness keeps WebRTC on loopback: no other interface, no public STUN server."""

import asyncio
from typing import Any

from aioice import stun
import aioice.ice
import psutil

from genesys_emulator.loopback_ice import is_loopback

from .peers import call, configuration, hears_audio, local_candidate_hosts, selected_pairs


class Receiver:
    """Stands in for an aioice connection: records the checks that reach it."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, int]] = []

    def request_received(self, message: stun.Message, addr: tuple[str, int], protocol: Any) -> None:
        self.requests.append(addr)


async def test_ice_gathers_on_loopback_and_hears_only_loopback(loopback_webrtc: None) -> None:
    assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1"]
    receiver = Receiver()
    protocol = aioice.ice.StunProtocol(receiver)  # type: ignore[arg-type]
    check = bytes(stun.Message(stun.Method.BINDING, stun.Class.REQUEST))

    # A peer bound to the machine's other address reaching 127.0.0.1 from it is not answered.
    protocol.datagram_received(check, ("192.0.2.2", 50000))
    protocol.datagram_received(check, ("fd00::2", 50000, 0, 0))
    protocol.datagram_received(check, ("127.0.0.1", 50000))

    assert receiver.requests == [("127.0.0.1", 50000)]


def udp_sockets() -> list[psutil._common.pconn]:
    return psutil.Process().net_connections(kind="udp")


async def test_peers_without_ice_servers_meet_on_loopback_only(loopback_webrtc: None) -> None:
    assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1"]
    sockets_before = {tuple(s.laddr) for s in udp_sockets()}
    # No ICE servers at all: aiortc would otherwise ask stun.l.google.com.
    near, far = await call(configuration([]), configuration([]))
    try:
        await asyncio.gather(hears_audio(near), hears_audio(far))
        for peer in (near, far):
            assert local_candidate_hosts(peer.pc) == {"127.0.0.1"}
            pairs = list(selected_pairs(peer.pc))
            assert pairs
            for pair in pairs:
                assert pair.local_type == pair.remote_type == "host"
                assert is_loopback(pair.local_host)
                assert is_loopback(pair.remote_host)
        opened = [s for s in udp_sockets() if tuple(s.laddr) not in sockets_before]
        assert opened, "the peers opened no UDP socket"
        for sock in opened:
            assert is_loopback(sock.laddr.ip), sock
            assert not sock.raddr or is_loopback(sock.raddr.ip), sock
    finally:
        await asyncio.gather(near.close(), far.close())
