"""A relay-only network: two aiortc peers reach each other only through a real coturn."""

import asyncio
import os
import signal

import psutil
import pytest

from genesys_emulator.loopback_ice import is_loopback

from .figures import relay_cpu
from .peers import call, configuration, hears_audio, selected_pairs
from .turn import TurnServer


def tcp_connections_to(port: int) -> int:
    return sum(
        1
        for connection in psutil.Process().net_connections(kind="tcp")
        if connection.raddr
        and connection.raddr.port == port
        and connection.status == psutil.CONN_ESTABLISHED
    )


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_audio_flows_both_ways_through_the_relay_only(
    coturn: TurnServer, transport: str
) -> None:
    relay_only = configuration([coturn.ice_server(transport)], relay_only=True)
    near, far = await call(relay_only, relay_only)
    try:
        await asyncio.gather(hears_audio(near), hears_audio(far))

        for peer in (near, far):
            pairs = list(selected_pairs(peer.pc))
            assert pairs, "ICE nominated no pair"
            for pair in pairs:
                assert pair.local_type == pair.remote_type == "relay"
                assert is_loopback(pair.local_host)
                assert is_loopback(pair.remote_host)
        # TURN over TCP: each peer keeps one TCP connection to the relay; over UDP, none.
        expected_tcp = 2 if transport == "tcp" else 0
        assert tcp_connections_to(coturn.port) == expected_tcp
    finally:
        await asyncio.gather(near.close(), far.close())


async def test_freezing_the_relay_stops_the_audio_and_thawing_it_brings_it_back(
    coturn: TurnServer,
) -> None:
    """Proof that no packet takes another path: with coturn stopped, nothing arrives."""
    relay_only = configuration([coturn.ice_server()], relay_only=True)
    near, far = await call(relay_only, relay_only)
    try:
        await hears_audio(far)
        os.kill(coturn.pid, signal.SIGSTOP)
        try:
            # What was already past the relay drains out of sockets and the jitter buffer; if
            # media went around the relay it would never settle.
            async with asyncio.timeout(5):
                settled_at = -1
                while settled_at != len(far.meter.frames):
                    settled_at = len(far.meter.frames)
                    await asyncio.sleep(0.3)
            await asyncio.sleep(1.0)
            assert len(far.meter.frames) == settled_at
        finally:
            os.kill(coturn.pid, signal.SIGCONT)
        await hears_audio(far)
    finally:
        await asyncio.gather(near.close(), far.close())


async def test_relay_cost_per_call(coturn: TurnServer) -> None:
    """CPU of the relay and of both peers for three seconds of a relayed call (printed)."""
    cpu = await relay_cpu(coturn)
    print(f"relay CPU per call: {cpu['relay_percent']} % of a core (coturn)")
    print(f"both peers' CPU: {cpu['peers_percent']} % of a core")
    assert cpu["relay_percent"] < 50


@pytest.mark.parametrize(("first", "expected_tcp"), [("udp", 0), ("tcp", 2)])
async def test_aiortc_uses_only_the_first_turn_url(
    coturn: TurnServer, first: str, expected_tcp: int
) -> None:
    """aiortc 1.16 keeps one TURN server: no fall-back from TURN/UDP to TURN/TCP.

    The softphone orders extdisco's TURN URLs itself, knowing that only the first is tried.
    """
    second = "tcp" if first == "udp" else "udp"
    server = {**coturn.ice_server(first), "urls": coturn.urls(first) + coturn.urls(second)}
    relay_only = configuration([server], relay_only=True)
    near, far = await call(relay_only, relay_only)
    try:
        await hears_audio(far)
        assert tcp_connections_to(coturn.port) == expected_tcp
    finally:
        await asyncio.gather(near.close(), far.close())
