"""Run a coroutine in a fresh network namespace with an impaired network; collect its JSON result.

``await run_in_netns("tests.softphone.impaired_call", payload, Impairment(loss_percent=5, ...))``
starts a Python child (``child`` below) under ``unshare --net``: a namespace with
nothing but ``lo`` (brought up here), so no packet can leave it whatever the code inside does.
The child calls ``<module>.main(payload, network)`` and prints its JSON-able result; the parent
returns it. ``network.apply()`` switches the impairment on when the code is ready for it (after
its call is up, so the measurements have a clean anchor).

The impairment is ``tc qdisc add dev lo root netem ...`` where the kernel has netem. Kernels
built without it (CONFIG_NET_SCH_NETEM unset, as on the development machines) get the same loss,
delay, jitter and reordering from ``ImpairingUdpRelay`` in user space, placed on the near end's
path to the TURN relay; ``network.kernel_netem`` tells the code which one it has.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
import importlib
import json
import os
from pathlib import Path
import subprocess
import sys
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[2]
RESULT_PREFIX = "NETNS-RESULT "
CHILD_ENTRY = "import sys; from tests.softphone.netns import child; child(sys.argv[1])"

type JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Impairment:
    """netem's parameters: every packet impaired independently, each way."""

    loss_percent: float = 0.0
    delay_ms: float = 0.0
    jitter_ms: float = 0.0  # standard deviation of a normal distribution around ``delay_ms``
    reorder_percent: float = 0.0  # sent at once instead of delayed, overtaking the others

    def netem_arguments(self) -> list[str]:
        arguments: list[str] = []
        if self.delay_ms or self.jitter_ms:
            arguments += ["delay", f"{self.delay_ms}ms"]
            if self.jitter_ms:
                arguments += [f"{self.jitter_ms}ms", "distribution", "normal"]
            if self.reorder_percent:
                arguments += ["reorder", f"{self.reorder_percent}%"]
        if self.loss_percent:
            arguments += ["loss", f"{self.loss_percent}%"]
        return arguments


def tc(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed arguments
        ["tc", *arguments],  # noqa: S607 - iproute2 on PATH, installed by the harness
        capture_output=True,
        text=True,
        check=False,
    )


def kernel_has_netem() -> bool:
    """Whether ``tc netem`` works here (in a namespace of our own, so ``lo`` is ours)."""
    if tc("qdisc", "add", "dev", "lo", "root", "netem", "delay", "0ms").returncode != 0:
        return False
    tc("qdisc", "del", "dev", "lo", "root")
    return True


@dataclass
class Network:
    """The child's network: the impairment, and how it is applied."""

    impairment: Impairment
    kernel_netem: bool
    applied: bool = False
    _on_apply: list[Callable[[], None]] = field(default_factory=list)

    @property
    def mechanism(self) -> str:
        return "tc netem on lo" if self.kernel_netem else "user-space relay on the near end's path"

    def on_apply(self, switch_on: Callable[[], None]) -> None:
        """Register a user-space impairer to switch on with the rest."""
        self._on_apply.append(switch_on)

    def apply(self) -> None:
        if self.kernel_netem:
            result = tc(
                "qdisc", "add", "dev", "lo", "root", "netem", *self.impairment.netem_arguments()
            )
            if result.returncode != 0:
                raise RuntimeError(f"tc netem refused {self.impairment}: {result.stderr}")
        for switch_on in self._on_apply:
            switch_on()
        self.applied = True


class NetnsError(RuntimeError):
    """The child failed; its stderr is in the message."""


def namespace_command() -> list[str]:
    # Real root keeps the capabilities the kernel needs to load sch_netem on first use;
    # anyone else maps themselves to root in a user namespace of their own.
    if os.geteuid() == 0:
        return ["unshare", "--net"]
    return ["unshare", "--map-root-user", "--net"]


async def run_in_netns(
    module: str, payload: JsonObject, impairment: Impairment, within: float = 120.0
) -> JsonObject:
    """``<module>.main(payload, network)`` in a fresh namespace; its result."""
    process = await asyncio.create_subprocess_exec(
        *namespace_command(),
        sys.executable,
        "-c",
        CHILD_ENTRY,
        module,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    request = json.dumps({"payload": payload, "impairment": asdict(impairment)}).encode()
    try:
        async with asyncio.timeout(within):
            stdout, stderr = await process.communicate(request)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise NetnsError(f"{module} exited {process.returncode}:\n{stderr.decode()[-4000:]}")
    for line in reversed(stdout.decode().splitlines()):
        if line.startswith(RESULT_PREFIX):
            return cast(JsonObject, json.loads(line.removeprefix(RESULT_PREFIX)))
    raise NetnsError(f"{module} printed no result:\n{stderr.decode()[-4000:]}")


def child(module_name: str) -> None:
    """Inside the namespace: ``lo`` up, then the module's ``main``; the result on stdout."""
    request = json.load(sys.stdin)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)  # noqa: S607 - iproute2
    network = Network(Impairment(**request["impairment"]), kernel_netem=kernel_has_netem())
    main = cast(
        Callable[[JsonObject, Network], Awaitable[JsonObject]],
        importlib.import_module(module_name).main,
    )
    result = asyncio.run(main(request["payload"], network))  # type: ignore[arg-type]
    print(RESULT_PREFIX + json.dumps(result), flush=True)
