"""An impaired network (5 % loss, 20 ± 30 ms delay, reordering) inside a namespace of its own."""

import asyncio
import ipaddress
import json

import pytest

from .figures import HOME_WIFI_ON_A_BAD_DAY, mute_on
from .netns import namespace_command


@pytest.mark.usefixtures("iproute2", "turnserver")
async def test_the_call_keeps_flowing_and_a_mute_stays_exact_silence() -> None:
    result = await mute_on(HOME_WIFI_ON_A_BAD_DAY, talk_s=1.0, mute_s=2.0, after_s=1.0)
    print(json.dumps(result))

    # Nothing but loopback exists in the namespace, and every pair ICE chose is on it.
    assert result["interfaces"] == ["lo"]
    assert result["selected_pairs"]
    for pair in result["selected_pairs"]:
        assert ipaddress.ip_address(pair["local_host"]).is_loopback
        assert ipaddress.ip_address(pair["remote_host"]).is_loopback

    mute = result["mute"]
    # Exact digital zero from the third frame on, through loss and reordering.
    assert mute["non_zero_frames_from_the_third"] == 0
    assert mute["non_zero_frames_after_silence"] == 0
    assert mute["muted_frames_received"] >= mute["muted_frames_expected"] // 2
    assert mute["frames_to_audible_after_unmute"] <= 1
    # The call keeps flowing both ways: the network lost packets, and most frames still play.
    for direction in (result["to_far"], result["to_near"]):
        assert direction["rtp_lost"] > 0
        assert direction["frames_missing"] < direction["frames_expected"] // 2


@pytest.mark.usefixtures("iproute2")
async def test_tc_reads_the_impairment_as_netem_arguments() -> None:
    """Kernels without netem refuse the qdisc itself; the arguments must still parse."""
    process = await asyncio.create_subprocess_exec(
        *namespace_command(),
        "tc",
        "qdisc",
        "add",
        "dev",
        "lo",
        "root",
        "netem",
        *HOME_WIFI_ON_A_BAD_DAY.netem_arguments(),
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode == 0 or "qdisc kind is unknown" in stderr.decode(), stderr
