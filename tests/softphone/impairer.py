"""netem's loss, delay, jitter and reordering in user space, for kernels built without netem.

An ``ImpairingUdpRelay`` stands in front of one UDP server (the TURN relay): a peer that uses
it as its TURN server sends and receives every packet of its call through it, so each media
packet is impaired once per direction, as ``tc netem`` on ``lo`` impairs a direct loopback
path once. Its randomness is seeded, so a run can be repeated.
"""

import asyncio
from dataclasses import dataclass
import random
from typing import Any

from .netns import Impairment

Address = tuple[str, int]


@dataclass(slots=True)
class ImpairmentCounts:
    forwarded: int = 0
    dropped: int = 0
    sent_early: int = 0  # netem's "reorder": sent at once, overtaking the delayed ones


class _Impairer:
    def __init__(self, impairment: Impairment, seed: int) -> None:
        self.impairment = impairment
        self.active = False
        self.counts = ImpairmentCounts()
        self._random = random.Random(seed)
        self._loop = asyncio.get_running_loop()

    def send(self, transport: asyncio.DatagramTransport, data: bytes, to: Address | None) -> None:
        if not self.active:
            transport.sendto(data, to)
            return
        chance = self._random.random() * 100
        if chance < self.impairment.loss_percent:
            self.counts.dropped += 1
            return
        self.counts.forwarded += 1
        if self._random.random() * 100 < self.impairment.reorder_percent:
            self.counts.sent_early += 1
            transport.sendto(data, to)
            return
        delay_ms = self._random.gauss(self.impairment.delay_ms, self.impairment.jitter_ms)
        self._loop.call_later(max(delay_ms, 0) / 1000, self._deliver, transport, data, to)

    @staticmethod
    def _deliver(transport: asyncio.DatagramTransport, data: bytes, to: Address | None) -> None:
        if not transport.is_closing():
            transport.sendto(data, to)


class _Upstream(asyncio.DatagramProtocol):
    """One client's socket towards the server; replies go back through the impairer."""

    def __init__(self, relay: ImpairingUdpRelay, client: Address) -> None:
        self.relay, self.client = relay, client

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.relay.from_server(data, self.client)


class ImpairingUdpRelay(asyncio.DatagramProtocol):
    """Listens on 127.0.0.1; forwards each client's packets to ``server`` and back, impaired."""

    def __init__(self, server: Address, impairment: Impairment, seed: int = 1) -> None:
        self.server = server
        self.impairer = _Impairer(impairment, seed)
        self._listener: asyncio.DatagramTransport | None = None
        self._upstreams: dict[Address, asyncio.DatagramTransport] = {}
        self._waiting: dict[Address, list[bytes]] = {}  # while a client's upstream opens
        self._opening: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        """Start listening; the port to hand out as the TURN server's."""
        loop = asyncio.get_running_loop()
        self._listener, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=("127.0.0.1", 0)
        )
        return int(self._listener.get_extra_info("sockname")[1])

    def datagram_received(self, data: bytes, addr: Any) -> None:
        client: Address = (addr[0], addr[1])
        if (upstream := self._upstreams.get(client)) is not None:
            self.impairer.send(upstream, data, None)
        elif client in self._waiting:
            self._waiting[client].append(data)
        else:
            self._waiting[client] = [data]
            task = asyncio.create_task(self._open_upstream(client))
            self._opening.add(task)
            task.add_done_callback(self._opening.discard)

    async def _open_upstream(self, client: Address) -> None:
        loop = asyncio.get_running_loop()
        upstream, _ = await loop.create_datagram_endpoint(
            lambda: _Upstream(self, client), remote_addr=self.server
        )
        self._upstreams[client] = upstream
        for data in self._waiting.pop(client):
            self.impairer.send(upstream, data, None)

    def from_server(self, data: bytes, client: Address) -> None:
        if self._listener is not None:
            self.impairer.send(self._listener, data, client)

    def close(self) -> None:
        for task in self._opening:
            task.cancel()
        for upstream in self._upstreams.values():
            upstream.close()
        if self._listener is not None:
            self._listener.close()
