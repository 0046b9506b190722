"""Keep every WebRTC packet on loopback.

aioice gathers host candidates on every interface except 127.0.0.1, and aiortc falls back to a
public STUN server (stun.l.google.com) when a configuration names no ICE servers. Tests may do
neither: ``pin_ice_to_loopback`` makes 127.0.0.1 the only host address and the default ICE
server list empty, so a forgotten ``iceServers`` fails to connect instead of going online. The
``loopback_ice`` fixture applies it for a test; network-namespace children call it themselves
(in a fresh namespace 127.0.0.1 is the only address there is, and aioice would skip it).
"""

from collections.abc import Iterator
from contextlib import contextmanager
import ipaddress
from unittest import mock

LOOPBACK = "127.0.0.1"


def loopback_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """aioice's ``get_host_addresses``, answering loopback only."""
    return [LOOPBACK] if use_ipv4 else []


@contextmanager
def pin_ice_to_loopback() -> Iterator[None]:
    """Host candidates on 127.0.0.1 only, and no default STUN server, while the block runs."""
    import aioice.ice  # noqa: PLC0415 - aiortc is imported only where the softphone is tested
    from aiortc.rtcicetransport import RTCIceGatherer  # noqa: PLC0415

    with (
        mock.patch.object(aioice.ice, "get_host_addresses", loopback_host_addresses),
        mock.patch.object(RTCIceGatherer, "getDefaultIceServers", classmethod(lambda cls: [])),
    ):
        yield


def is_loopback(host: str) -> bool:
    return ipaddress.ip_address(host).is_loopback
