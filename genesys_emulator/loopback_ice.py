"""Keep every WebRTC packet of a process on loopback.

aioice gathers host candidates on every interface except 127.0.0.1, and aiortc falls back to a
public STUN server when given no ICE servers. The emulator (a local stand-in for Genesys) and the
tests must not reach other addresses of the machine, so ``pin_ice_to_loopback``, for the whole
process (aiortc has no per-connection setting):

- makes aioice's address enumeration return 127.0.0.1 only;
- drops every datagram that comes from an address that is not loopback: a peer that binds other
  interfaces too (Chromium does) can reach 127.0.0.1 from them, and aioice would answer there,
  learning a peer-reflexive candidate on the machine's other address.

Callers also pass explicit ICE servers, never none.
"""

from ipaddress import ip_address
from typing import Any

import aioice.ice

LOOPBACK = "127.0.0.1"


def _loopback_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return [LOOPBACK] if use_ipv4 else []


_receive_datagram = aioice.ice.StunProtocol.datagram_received


def _receive_loopback_datagram(
    self: aioice.ice.StunProtocol, data: bytes | str, addr: tuple[Any, ...]
) -> None:
    if is_loopback(addr[0]):
        _receive_datagram(self, data, addr)


def pin_ice_to_loopback() -> None:
    """From now on, ICE in this process uses 127.0.0.1 only and hears only from loopback."""
    aioice.ice.get_host_addresses = _loopback_host_addresses
    aioice.ice.StunProtocol.datagram_received = _receive_loopback_datagram  # type: ignore[method-assign]


def candidate_addresses(sdp: str) -> list[str]:
    """The connection address of every ``a=candidate`` line of an SDP."""
    return [
        line.split()[4]
        for line in sdp.splitlines()
        if line.startswith("a=candidate:") and len(line.split()) > 4
    ]


def is_loopback(address: str) -> bool:
    """Whether ``address`` is a loopback IP (a name, e.g. an mDNS one, is not)."""
    try:
        return ip_address(address).is_loopback
    except ValueError:
        return False
