"""Figures of the softphone's network paths, for the tests and for ``scripts/bench``.

``relay_cpu`` measures what a relayed call costs the TURN relay and the peers; ``mute_on``
runs ``impaired_call`` (the softphone's media session against the emulator's media peer) in a
fresh namespace; ``bench_rows`` adds both, the mute clean and impaired side by side, to the
benchmark table through its ``row`` function.
"""

import asyncio
from collections.abc import Callable
import time

import psutil

from genesys_emulator.loopback_ice import pin_ice_to_loopback

from .netns import Impairment, JsonObject, run_in_netns
from .peers import call, configuration, hears_audio
from .turn import TurnServer, running_coturn

HOME_WIFI_ON_A_BAD_DAY = Impairment(loss_percent=5, delay_ms=20, jitter_ms=30, reorder_percent=10)
FEW_FRAMES = 4
"""Frames unplayed beyond those the network lost: packets later than the jitter buffer waits."""


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def relay_cpu(turn: TurnServer, seconds: float = 3.0) -> dict[str, float]:
    """Share of one core that coturn and both peers spend on one relayed call."""
    relay_only = configuration([turn.ice_server()], relay_only=True)
    near, far = await call(relay_only, relay_only)
    try:
        await hears_audio(far)
        relay, peers = psutil.Process(turn.pid), psutil.Process()
        relay_before, peers_before = cpu_seconds(relay), cpu_seconds(peers)
        started = time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - started
        relay_spent, peers_spent = (
            cpu_seconds(relay) - relay_before,
            cpu_seconds(peers) - peers_before,
        )
    finally:
        await asyncio.gather(near.close(), far.close())
    return {
        "relay_percent": round(100 * relay_spent / elapsed, 1),
        "peers_percent": round(100 * peers_spent / elapsed, 1),
    }


async def mute_on(
    impairment: Impairment, talk_s: float, mute_s: float, after_s: float
) -> JsonObject:
    payload = {"talk_s": talk_s, "mute_s": mute_s, "after_s": after_s}
    return await run_in_netns("tests.softphone.impaired_call", payload, impairment)


async def bench_rows(row: Callable[[str, str, str, bool | None], None]) -> None:
    """Relay CPU, and the mute's figures on a clean and on an impaired network."""
    pin_ice_to_loopback()
    async with running_coturn() as turn:
        cpu = await relay_cpu(turn, seconds=5.0)
    row(
        "softphone relay path: CPU per call (coturn / both aiortc peers)",
        f"{cpu['relay_percent']} % / {cpu['peers_percent']} % of a core",
        "relay ≤ 5 %",
        cpu["relay_percent"] <= 5,
    )
    for name, impairment in (("clean", Impairment()), ("impaired", HOME_WIFI_ON_A_BAD_DAY)):
        result = await mute_on(impairment, talk_s=2.0, mute_s=3.0, after_s=2.0)
        mute = result["mute"]
        netem = result["impairment"]["netem"] or "no impairment"
        label = f"softphone mute, {name} network ({netem})"
        row(
            f"{label}: far end exact zero",
            f"frame +{mute['frames_to_exact_zero']}, {mute['ms_to_exact_zero']} ms; non-zero: "
            f"{', '.join(f'+{offset}' for offset in mute['non_zero_offsets']) or 'none'}; "
            f"{mute['non_zero_frames_after_silence']} after the first zero",
            "frame +2, none after (the third frame decoded if +0 or +1 was lost)",
            mute_met(mute),
        )
        row(
            f"{label}: unmute → audible",
            f"frame +{mute['frames_to_audible_after_unmute']}, "
            f"{mute['ms_to_audible_after_unmute']} ms (decoded: "
            f"{', '.join(f'+{o}' for o in mute['first_decoded_offsets_after_unmute'])})",
            "frame +0 (the third frame decoded if +0 was lost)",
            unmute_met(mute),
        )
        for direction, who in (("to_far", "the far end"), ("to_near", "the softphone")):
            flow = result[direction]
            row(
                f"{label}: frames {who} never played",
                f"{flow['frames_missing']}/{flow['frames_expected']} (RTP packets lost: "
                f"{flow['rtp_lost']}; jitter buffer gave up {flow['given_up']}, "
                f"{flow['late']} late; {result['impairment']['mechanism']})",
                f"≤ twice the packets lost + {FEW_FRAMES}",
                flow["frames_missing"] <= 2 * flow["rtp_lost"] + FEW_FRAMES,
            )


def unmute_met(mute: JsonObject) -> bool:
    """Audible at frame +0, or by the third frame decoded if +0 was lost (Opus ramps up)."""
    decoded = mute["first_decoded_offsets_after_unmute"]
    audible = mute["frames_to_audible_after_unmute"]
    return audible == 0 if decoded[0] == 0 else audible <= decoded[2]


def mute_met(mute: JsonObject) -> bool:
    """Exact zero from frame +2 on, or from the third frame decoded where +0 or +1 was lost."""
    first_two, third = mute["first_decoded_offsets"][:2], mute["first_decoded_offsets"][2]
    return (
        set(mute["non_zero_offsets"]) <= set(first_two)
        and mute["frames_to_exact_zero"] <= third
        and mute["non_zero_frames_after_silence"] == 0
    )
