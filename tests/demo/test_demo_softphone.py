"""The demo as scripts/demo starts it: Home Assistant (a child process) is the agent's softphone.

A call rings, Answer takes it on Home Assistant, audio flows both ways between Home Assistant and
the emulator's media peer and the mute switch silences it, over 127.0.0.1 only: the selected
pair, and every candidate Home Assistant offered (its process is pinned by
``demo.loopback_hass``, not by this test).
"""

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path
import time

import pytest

from demo.orchestrator import AGENT, SOFTPHONE_MEDIA, Demo
from genesys_emulator.loopback_ice import candidate_addresses, is_loopback

from ..e2e.conftest import demo_settings
from ..softphone.helpers import AUDIBLE_DBFS
from ..waiting import until

CALL_STATE = f"sensor.{AGENT}_call_state"
ANSWER = f"button.{AGENT}_answer"
MUTE = f"switch.{AGENT}_microphone_muted"


@pytest.fixture
async def demo(tmp_path: Path, loopback_webrtc: None) -> AsyncGenerator[Demo]:
    """The demo with its ringing call (``loopback_webrtc`` undoes this process's pin after)."""
    async with Demo(demo_settings(tmp_path)) as demo:
        yield demo


async def wait_for_state(demo: Demo, entity_id: str, state: str, within: float = 15) -> None:
    deadline = time.monotonic() + within
    while (current := await demo.api.state(entity_id)) != state:
        assert time.monotonic() < deadline, f"{entity_id} is {current}, not {state}"
        await asyncio.sleep(0.2)


async def call_service(demo: Demo, domain: str, service: str, entity_id: str) -> None:
    """As a tap on the dashboard does (blocking: done once the entity has acted)."""
    await demo.api.websocket(
        {
            "type": "call_service",
            "domain": domain,
            "service": service,
            "service_data": {"entity_id": entity_id},
        }
    )


async def test_answer_takes_the_ringing_call_on_home_assistants_softphone(demo: Demo) -> None:
    [conversation_id] = [c["id"] for c in demo.emulator.control.state()["conversations"]]
    assert await demo.api.state(CALL_STATE) == "ringing"
    assert await demo.api.state(SOFTPHONE_MEDIA) == "idle"

    await call_service(demo, "button", "press", ANSWER)

    await wait_for_state(demo, SOFTPHONE_MEDIA, "connected")
    await wait_for_state(demo, CALL_STATE, "connected")
    peer = demo.emulator.media_peer_of(conversation_id)
    assert peer is not None
    await until(lambda: len(peer.frames) > 10 and peer.frames[-1].dbfs > AUDIBLE_DBFS, 10)
    readout = peer.readout()
    assert readout["selectedPair"] == {"local": "127.0.0.1", "remote": "127.0.0.1"}
    session = demo.emulator.gateway.session_for(conversation_id)
    assert session is not None
    offered = [a for answer in session.answers for a in candidate_addresses(answer)]
    offered += [candidate.split()[4] for _, candidate in session.candidates]
    assert offered
    assert all(map(is_loopback, offered)), offered
    [entry] = await demo.api.get("/api/config/config_entries/entry?domain=genesys_agent")
    diagnostics = await demo.api.get(f"/api/diagnostics/config_entry/{entry['entry_id']}")
    softphone = diagnostics["data"]["softphone"]
    assert softphone["source"] == "tone 440 Hz"
    assert softphone["packets_received"] > 0  # the customer's audio reached Home Assistant

    await call_service(demo, "switch", "turn_on", MUTE)

    pressed_at = peer.frames[-1].index + 1
    await until(lambda: peer.frames[-1].index >= pressed_at + 30, 10)
    after = [f for f in peer.frames if f.index >= pressed_at]
    # Once the switch says muted the customer hears nothing: Genesys drops what was still on its
    # way, then Home Assistant sends digital silence.
    assert all(f.dropped or f.exact_zero for f in after)
    assert all(f.exact_zero for f in after[-10:])
