"""The loopback pinning every WebRTC test stands on."""

from typing import Any

from aioice import stun
import aioice.ice


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
