"""A real TURN relay for the tests: Debian's coturn on loopback only, with long-term credentials.

``running_coturn`` works in or out of pytest (the network-namespace children start their own);
the ``coturn`` fixture in ``fixtures.py`` wraps it. Nothing listens anywhere but 127.0.0.1:
no CLI, no web admin, no TLS, no syslog; its config, database, pid and log live in a temp dir.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
import os
from pathlib import Path
import random
import secrets
import socket
import struct
import tempfile
import time

TURNSERVER = "/usr/bin/turnserver"
LOOPBACK = "127.0.0.1"
REALM = "genesys-agent.test"
STUN_MAGIC_COOKIE = 0x2112A442
BINDING_REQUEST, BINDING_SUCCESS = 0x0001, 0x0101
START_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class TurnServer:
    """A running relay: where it listens and the long-term credentials it accepts."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    pid: int
    log: Path

    def urls(self, transport: str = "udp") -> list[str]:
        """The ``turn:`` URL (``?transport=tcp`` for TURN over TCP), as extdisco maps it."""
        suffix = "?transport=tcp" if transport == "tcp" else ""
        return [f"turn:{self.host}:{self.port}{suffix}"]

    def ice_server(self, transport: str = "udp") -> dict[str, object]:
        """One ``RTCIceServer`` as a dict: TURN only, never STUN."""
        return {
            "urls": self.urls(transport),
            "username": self.username,
            "credential": self.password,
        }


def free_udp_and_tcp_port() -> int:
    """A loopback port free for both UDP and TCP (coturn listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((LOOPBACK, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((LOOPBACK, port))
                except OSError:
                    continue
                return port


def coturn_arguments(workdir: Path, port: int, username: str, password: str) -> list[str]:
    """turnserver's command line: loopback only, long-term credentials, UDP and TCP listeners."""
    # Relay ports from a random band, so parallel test runs rarely compete for them.
    relay_low = random.randrange(20000, 60000, 500)
    return [
        TURNSERVER,
        "-n",  # no configuration file: never /etc/turnserver.conf
        f"--listening-ip={LOOPBACK}",
        f"--relay-ip={LOOPBACK}",
        f"--listening-port={port}",
        f"--min-port={relay_low}",
        f"--max-port={relay_low + 499}",
        "--lt-cred-mech",
        f"--user={username}:{password}",
        f"--realm={REALM}",
        f"--userdb={workdir / 'turndb'}",
        # Both peers live on loopback, so the relay must be allowed to reach loopback peers.
        "--allow-loopback-peers",
        "--no-multicast-peers",
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        "--no-software-attribute",
        "--fingerprint",
        f"--pidfile={workdir / 'turnserver.pid'}",
        f"--log-file={workdir / 'turnserver.log'}",
        "--simple-log",
        "--no-stdout-log",
    ]


def binding_request() -> tuple[bytes, bytes]:
    """A bare STUN binding request and its transaction id."""
    transaction_id = secrets.token_bytes(12)
    return struct.pack(
        "!HHI", BINDING_REQUEST, 0, STUN_MAGIC_COOKIE
    ) + transaction_id, transaction_id


def answers_stun_over_udp(host: str, port: int) -> bool:
    request, transaction_id = binding_request()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(0.2)
        probe.sendto(request, (host, port))
        try:
            response = probe.recv(2048)
        except TimeoutError:
            return False
    return (
        struct.unpack("!H", response[:2])[0] == BINDING_SUCCESS and response[8:20] == transaction_id
    )


def accepts_tcp(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


@asynccontextmanager
async def running_coturn(workdir: Path | None = None) -> AsyncIterator[TurnServer]:
    """coturn on 127.0.0.1, ready for UDP and TCP allocations; stopped (and reaped) on exit."""
    with tempfile.TemporaryDirectory(prefix="coturn-", dir=workdir) as temp:
        directory = Path(temp)
        port = free_udp_and_tcp_port()
        username, password = "softphone", secrets.token_urlsafe(12)
        log = directory / "turnserver.log"
        process = await asyncio.create_subprocess_exec(
            *coturn_arguments(directory, port, username, password),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=directory,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not (
                await asyncio.to_thread(answers_stun_over_udp, LOOPBACK, port)
                and await asyncio.to_thread(accepts_tcp, LOOPBACK, port)
            ):
                if process.returncode is not None or time.monotonic() > deadline:
                    tail = log.read_text()[-2000:] if log.exists() else "(no log)"
                    raise RuntimeError(f"coturn did not start (rc={process.returncode}):\n{tail}")
                await asyncio.sleep(0.05)
            yield TurnServer(LOOPBACK, port, username, password, process.pid, log)
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 5)
                except TimeoutError:
                    with suppress(ProcessLookupError):
                        os.kill(process.pid, 9)
                    await process.wait()
