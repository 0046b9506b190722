"""The whole softphone's figures for ``scripts/bench``: Home Assistant's side of a real call.

Unlike ``bench_media`` (the gate on a bare media session), these go through everything a user's
press goes through: ``Softphone.async_set_mute`` closes the gate and sends the session's mute
command (REST, confirmed by the notification event); an unmute opens the gate only once Genesys
confirms it. The emulator (streaming service, gateway, aiortc media peer) runs in its own
process with ``--webrtc-media``, so this process's CPU and memory are the softphone's alone; its
frame readout comes over the control API. Both processes keep WebRTC on 127.0.0.1.

``python -m tests.softphone.bench_phone`` prints the rows as JSON; ``measured_apart()`` runs it
in a fresh interpreter (the test harness's debug event loop would triple every figure).
"""

import asyncio
import json
import os
from pathlib import Path
import subprocess
import sys
import time
from types import SimpleNamespace
from typing import Any, cast

import aiohttp

from custom_components.genesys_agent.genesys_cloud import (
    AgentSession,
    CallState,
    GenesysClient,
    custom_environment,
)
from custom_components.genesys_agent.genesys_cloud.softphone.models import AudioSource
from custom_components.genesys_agent.genesys_cloud.softphone.phone import (
    AnswerMode,
    MediaState,
    Softphone,
    SoftphoneOptions,
)
from genesys_emulator import Emulator
from genesys_emulator.cli import TOKEN_VARIABLE
from genesys_emulator.config import EmulatorConfig
from genesys_emulator.control import TOKEN_HEADER
from genesys_emulator.loopback_ice import pin_ice_to_loopback
from genesys_emulator.testing import login_with_pkce

from ..client.conftest import EmulatorAuth
from .helpers import AUDIBLE_DBFS, BELOW_DBFS

ROOT = Path(__file__).resolve().parents[2]
CYCLES = 15
CPU_SECONDS = 10.0


def _rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGESIZE") / 2**20


async def _until(condition: Any, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the bench's call did not get there")
        await asyncio.sleep(0.005)


class FarEnd:
    """The emulator's media readout of one call, over its control API."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        conversation_id: str,
        headers: dict[str, str],
    ) -> None:
        self._http = http
        self._url = f"{base_url}/_emulator/calls/{conversation_id}/media"
        self._headers = headers

    async def frame(self, since: int, condition: Any) -> dict[str, Any]:
        """The first frame from ``since`` on that meets ``condition``, once it arrived."""
        while True:
            async with self._http.get(
                self._url, params={"since": str(since)}, headers=self._headers
            ) as response:
                frames = (await response.json())["frames"]
            for frame in frames:
                if condition(frame):
                    return dict(frame)
            await asyncio.sleep(0.02)


async def phone_rows(base_url: str) -> list[dict[str, Any]]:
    """Log in, register the softphone, take a call, mute and unmute it; the figures."""
    pin_ice_to_loopback()
    # What the login and the token refresh read of an emulator that runs in another process.
    emulator = cast(
        Emulator,
        SimpleNamespace(
            base_url=base_url, demo_client=SimpleNamespace(id=EmulatorConfig().demo_client_id)
        ),
    )
    control = {TOKEN_HEADER: os.environ[TOKEN_VARIABLE]}
    async with aiohttp.ClientSession() as http:
        auth = EmulatorAuth(http, emulator, await login_with_pkce(http, emulator))
        client = GenesysClient(http, custom_environment(base_url), auth)
        session = AgentSession(client, listener=lambda _: None)
        await session.async_start()
        before = _rss_mb()
        phone = Softphone(
            session,
            SoftphoneOptions(source=AudioSource.tone(440), answer_mode=AnswerMode.ALWAYS),
        )
        try:
            await phone.async_start()
            async with http.post(
                f"{base_url}/_emulator/calls/inbound", json={}, headers=control
            ) as response:
                conversation_id = (await response.json())["conversationId"]
            await _until(lambda: phone.media_state is MediaState.CONNECTED)
            await _until(lambda: session.snapshot.agent_state.call_state is CallState.CONNECTED)
            far = FarEnd(http, base_url, conversation_id, control)
            await far.frame(0, lambda f: f["index"] >= 25)
            added = _rss_mb() - before
            rows = await _mute_rows(phone, far)
            cpu, started = time.process_time(), time.perf_counter()
            await asyncio.sleep(CPU_SECONDS)
            share = (time.process_time() - cpu) / (time.perf_counter() - started) * 100
        finally:
            await phone.async_stop()
            await session.async_stop()
    return [
        *rows,
        _row(
            "softphone (whole): CPU per active call (phone, signalling, session; emulator apart)",
            "{cpu:.1f} % of one core",
            "≈ 9 % measured in issue 12",
            None,
            cpu=share,
        ),
        _row(
            "softphone (whole): memory added when enabled (aiortc, the phone, one call)",
            "{memory:.0f} MB",
            "≈ 68 MB for aiortc/av alone, measured in issue 12",
            None,
            memory=added,
        ),
    ]


async def _mute_rows(phone: Softphone, far: FarEnd) -> list[dict[str, Any]]:
    # bench_media imports aiortc: only once the memory the phone added is measured.
    from .bench_media import SPREAD, _spread  # noqa: PLC0415

    gate: list[float] = []
    below_frames: list[int] = []
    zero_frames: list[int] = []
    below_ms: list[float] = []
    zero_ms: list[float] = []
    jitter_ms: list[float] = []
    confirm_ms: list[float] = []
    audible_ms: list[float] = []
    audible_frames: list[int] = []
    for cycle in range(CYCLES):
        await asyncio.sleep(0.3 + 0.013 * cycle)  # spread the presses across the frame
        assert phone.media is not None
        pressed = time.time()
        await phone.async_set_mute(True)
        mute = phone.media.last_transition
        assert mute is not None
        await _until(lambda m=mute: m.first_frame_index is not None)
        k, left = mute.first_frame_index, mute.first_frame_at
        assert k is not None
        assert left is not None
        gate.append((left - pressed) * 1000)
        first = await far.frame(k, lambda f: True)
        below = await far.frame(k, lambda f: f["dbfs"] < BELOW_DBFS)
        zero = await far.frame(k, lambda f: f["exactZero"])
        below_frames.append(below["index"] - k)
        zero_frames.append(zero["index"] - k)
        below_ms.append((below["arrival"] - pressed) * 1000)
        zero_ms.append((zero["arrival"] - pressed) * 1000)
        jitter_ms.append((first["arrival"] - left) * 1000)
        await asyncio.sleep(0.3)
        pressed = time.time()
        await phone.async_set_mute(False)
        unmute = phone.media.last_transition
        assert unmute is not None
        assert not unmute.muted
        await _until(lambda u=unmute: u.first_frame_index is not None)
        u = unmute.first_frame_index
        assert u is not None
        confirm_ms.append((unmute.commanded_at - pressed) * 1000)
        audible = await far.frame(u, lambda f: f["dbfs"] > AUDIBLE_DBFS)
        audible_frames.append(audible["index"] - u)
        audible_ms.append((audible["arrival"] - pressed) * 1000)
    return [
        _row(
            "softphone (whole): mute press → first zeroed frame leaving",
            SPREAD,
            "≤ 20 ms (the next frame)",
            max(gate) <= 20,
            **_spread(gate),
        ),
        _row(
            "softphone (whole): far end below -60 dBFS / exact zero, frames after the first zeroed",
            "frame k+{below:.0f} / k+{zero:.0f} at worst",
            "exact zero by k+2",
            max(zero_frames) <= 2,
            below=max(below_frames),
            zero=max(zero_frames),
        ),
        _row(
            "softphone (whole): mute press → far end below -60 dBFS",
            SPREAD,
            "jitter buffer dominated",
            None,
            **_spread(below_ms),
        ),
        _row(
            "softphone (whole): mute press → far end exact zero",
            SPREAD,
            "jitter buffer dominated",
            None,
            **_spread(zero_ms),
        ),
        _row(
            "softphone (whole): of which leaving → decoded at the far end (aiortc jitter buffer)",
            SPREAD,
            "≈ 80 ms measured for aiortc's receiver",
            None,
            **_spread(jitter_ms),
        ),
        _row(
            "softphone (whole): unmute press → Genesys confirms (the gate opens then)",
            SPREAD,
            "one REST round trip + the event",
            None,
            **_spread(confirm_ms),
        ),
        _row(
            "softphone (whole): unmute press → first audible frame at the far end",
            "frame +{frame:.0f} after the gate opened at worst; " + SPREAD,
            "the first unmuted frame",
            max(audible_frames) == 0,
            frame=max(audible_frames),
            **_spread(audible_ms),
        ),
    ]


def _row(
    figure: str, template: str, target: str, met: bool | None, **values: float
) -> dict[str, Any]:
    """A row as ``bench_media``'s: a template over its values, met for this run or None."""
    return {"figure": figure, "template": template, "target": target, "met": met, "values": values}


# The emulator of the run, in its own process (no control file left for ``ctl``: not the demo's).
EMULATOR = """
import asyncio, json, sys
from genesys_emulator import Emulator, EmulatorConfig

async def main():
    emulator = Emulator(EmulatorConfig(auto_approve=True, control_api=True, webrtc_media=True))
    await emulator.start()
    print(json.dumps([emulator.base_url, emulator.control.token]), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await emulator.stop()

asyncio.run(main())
"""


def measured_apart() -> list[dict[str, Any]]:
    """``phone_rows()`` from a fresh interpreter, the emulator in a third (blocking)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    emulator = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", EMULATOR],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert emulator.stdin is not None
    assert emulator.stdout is not None
    try:
        base_url, token = json.loads(emulator.stdout.readline())
        output = subprocess.run(  # noqa: S603 - this interpreter, a fixed module
            [sys.executable, "-m", "tests.softphone.bench_phone", base_url],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**env, TOKEN_VARIABLE: token},
        ).stdout
    finally:
        emulator.stdin.write("stop\n")
        emulator.stdin.flush()
        emulator.wait(timeout=30)
    rows: list[dict[str, Any]] = json.loads(output)
    return rows


if __name__ == "__main__":
    print(json.dumps(asyncio.run(phone_rows(sys.argv[1])), indent=2, ensure_ascii=False))
