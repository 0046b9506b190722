"""One call on an impaired network, run inside a namespace by ``run_in_netns``; its figures.

The far end (Genesys' side) offers, the near end (the softphone) answers; once both hear each
other the impairment goes on, the call talks for ``talk_s``, the near end mutes by zeroing its
frames for ``mute_s``, unmutes, and talks ``after_s`` more. The result is JSON for tests and
benchmarks: the mute figures of ``peers.mute_figures``, frames lost each way, RTP's own loss
count and the event loop's longest lag.
"""

import asyncio
from contextlib import AsyncExitStack
from dataclasses import asdict

from aiortc import RTCConfiguration
import ifaddr

from genesys_emulator.loopback_ice import pin_ice_to_loopback

from ..loop_lag import LoopLagMonitor
from .impairer import ImpairingUdpRelay
from .netns import JsonObject, Network
from .peers import (
    FRAME_SECONDS,
    SAMPLES_PER_FRAME,
    call,
    configuration,
    frames_missing,
    hears_audio,
    inbound_loss,
    mute_figures,
    selected_pairs,
)
from .turn import running_coturn

JITTER_BUFFER_DRAIN_S = 0.6


async def near_and_far_configurations(
    network: Network, stack: AsyncExitStack, seed: int
) -> tuple[RTCConfiguration, RTCConfiguration]:
    """Kernel netem impairs ``lo`` itself: a direct loopback path. Without it, the near end
    reaches a coturn through the user-space impairer and the far end reaches it directly."""
    if network.kernel_netem:
        return configuration([]), configuration([])
    turn = await stack.enter_async_context(running_coturn())
    relay = ImpairingUdpRelay((turn.host, turn.port), network.impairment, seed)
    port = await relay.start()
    stack.callback(relay.close)
    network.on_apply(lambda: setattr(relay.impairer, "active", True))
    impaired_turn = {**turn.ice_server(), "urls": [f"turn:{turn.host}:{port}"]}
    return (
        configuration([impaired_turn], relay_only=True),
        configuration([turn.ice_server()], relay_only=True),
    )


async def main(payload: JsonObject, network: Network) -> JsonObject:
    talk_s, mute_s, after_s = payload["talk_s"], payload["mute_s"], payload["after_s"]
    # 127.0.0.1 is the only address in the namespace, and aioice would leave it out.
    pin_ice_to_loopback()
    async with AsyncExitStack() as stack:
        near_config, far_config = await near_and_far_configurations(
            network, stack, payload.get("seed", 1)
        )
        near, far = await call(near_config, far_config)
        stack.push_async_callback(far.close)
        stack.push_async_callback(near.close)
        await asyncio.gather(hears_audio(near), hears_audio(far))

        network.apply()
        # Frames after the last one each side heard are the first the impaired network carries.
        far_impaired_from = far.meter.frames[-1].pts + SAMPLES_PER_FRAME
        near_impaired_from = near.meter.frames[-1].pts + SAMPLES_PER_FRAME
        async with LoopLagMonitor() as lag:
            await asyncio.sleep(talk_s)
            heard_while_talking = len(far.meter.frames)
            near.tone.set_muted(True)
            await asyncio.sleep(mute_s)
            near.tone.set_muted(False)
            await asyncio.sleep(after_s + JITTER_BUFFER_DRAIN_S)

        pairs = [asdict(pair) for peer in (near, far) for pair in selected_pairs(peer.pc)]
        far_received, far_lost = await inbound_loss(far.pc.getReceivers()[0])
        near_received, near_lost = await inbound_loss(near.pc.getReceivers()[0])
        to_far = frames_missing(far.meter, far_impaired_from)
        to_near = frames_missing(near.meter, near_impaired_from)
        return {
            "impairment": {
                "mechanism": network.mechanism,
                "netem": " ".join(network.impairment.netem_arguments()),
            },
            "interfaces": sorted(adapter.nice_name for adapter in ifaddr.get_adapters()),
            "selected_pairs": pairs,
            "call_seconds": talk_s + mute_s + after_s,
            "frames_heard_before_mute": heard_while_talking,
            "mute": mute_figures(near.tone, far.meter),
            "to_far": {
                "frames_expected": to_far[0],
                "frames_missing": to_far[1],
                "rtp_received": far_received,
                "rtp_lost": far_lost,
            },
            "to_near": {
                "frames_expected": to_near[0],
                "frames_missing": to_near[1],
                "rtp_received": near_received,
                "rtp_lost": near_lost,
            },
            "frame_ms": FRAME_SECONDS * 1000,
            **lag.figures(),
        }
