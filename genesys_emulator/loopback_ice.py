"""Keep every WebRTC packet of a process on loopback.

aioice gathers host candidates on every interface except 127.0.0.1, and aiortc falls back to a
public STUN server when given no ICE servers. The emulator (a local stand-in for Genesys) and the
tests must not reach other addresses of the machine, so ``pin_ice_to_loopback`` makes aioice's
address enumeration return 127.0.0.1 only, for the whole process (aiortc has no per-connection
address list); callers also pass explicit ICE servers, never none.
"""

from ipaddress import ip_address

import aioice.ice

LOOPBACK = "127.0.0.1"


def _loopback_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return [LOOPBACK] if use_ipv4 else []


def pin_ice_to_loopback() -> None:
    """From now on, every ICE host candidate of this process is 127.0.0.1."""
    aioice.ice.get_host_addresses = _loopback_host_addresses


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
