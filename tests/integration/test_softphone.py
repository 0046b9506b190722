"""Home Assistant as the agent's WebRTC phone, against the emulator's gateway and media peer.

Every WebRTC packet stays on 127.0.0.1 (``loopback_webrtc``, asserted on the selected pair);
the streaming service hands out no ICE server, so nothing falls back to a public STUN server.
"""

from collections.abc import AsyncGenerator
import json
from pathlib import Path
from typing import Any

from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, SERVICE_TURN_ON, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.genesys_agent import softphone as glue
from custom_components.genesys_agent.const import DOMAIN
from custom_components.genesys_agent.genesys_cloud.softphone.devices import list_alsa_devices
from custom_components.genesys_agent.genesys_cloud.softphone.phone import Softphone
from genesys_emulator import Emulator
from genesys_emulator.loopback_ice import is_loopback
from genesys_emulator.media_peer import MediaPeer

from ..softphone.helpers import AUDIBLE_DBFS
from .conftest import MUTE, emulator_muted, wait_for

MEDIA = "sensor.jane_agent_softphone_media"
ANSWER = "button.jane_agent_answer"
SOFTPHONE_ON = {
    "softphone": True,
    "softphone_capture": "tone",
    "softphone_playback": "none",
    "softphone_answer": "always",
}
CARDS = (
    " 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n"
    "                      HDA Intel PCH at 0xf7f10000 irq 32\n"
    " 1 [Headset        ]: USB-Audio - Jabra Evolve 65\n"
)
PCM = (
    "00-00: ALC892 Analog : ALC892 Analog : playback 1 : capture 1\n"
    "00-03: HDMI 0 : HDMI 0 : playback 1\n"
    "01-00: USB Audio : USB Audio : playback 1 : capture 1\n"
)


@pytest.fixture
def webrtc_emulator(emulator: Emulator, loopback_webrtc: None) -> Emulator:
    """The emulator offering calls with real media, on loopback, re-proposing quickly."""
    emulator.enable_webrtc_media()
    emulator.streaming.services = []
    emulator.gateway.propose_interval = 0.2
    return emulator


async def set_up(
    hass: HomeAssistant, entry: ConfigEntry, options: dict[str, Any]
) -> AsyncGenerator[ConfigEntry]:
    hass.config_entries.async_update_entry(entry, options=options)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
async def softphone_entry(
    hass: HomeAssistant, config_entry: ConfigEntry, webrtc_emulator: Emulator
) -> AsyncGenerator[ConfigEntry]:
    """The entry set up with the softphone on: a test tone, answering every call."""
    async for entry in set_up(hass, config_entry, SOFTPHONE_ON):
        yield entry


def phone_of(entry: ConfigEntry) -> Softphone:
    phone = entry.runtime_data.softphone
    assert phone is not None
    return phone


async def softphone_call(hass: HomeAssistant, entry: ConfigEntry, emulator: Emulator) -> str:
    """An inbound call the softphone answered, its media connected and heard by Genesys."""
    conversation_id = await emulator.control.start_inbound_call(ani="tel:+13175550100")
    await wait_for(hass, lambda: hass.states.get(MEDIA).state == "connected", 15)  # type: ignore[union-attr]
    peer = emulator.media_peer_of(conversation_id)
    assert peer is not None
    await wait_for(hass, lambda: peer.frames and peer.frames[-1].dbfs > AUDIBLE_DBFS, 10)
    await wait_for(hass, lambda: entry.runtime_data.data.agent_state.muted is False)
    return conversation_id


async def switch(hass: HomeAssistant, service: str) -> None:
    await hass.services.async_call(SWITCH_DOMAIN, service, {ATTR_ENTITY_ID: MUTE}, blocking=True)


async def frames_from(hass: HomeAssistant, peer: MediaPeer, first: int, count: int) -> list[Any]:
    await wait_for(hass, lambda: any(f.index >= first + count for f in peer.frames), 10)
    return [f for f in peer.frames if first <= f.index < first + count]


async def test_the_softphone_answers_and_the_mute_switch_silences_the_next_frames(
    hass: HomeAssistant, softphone_entry: ConfigEntry, webrtc_emulator: Emulator
) -> None:
    emulator = webrtc_emulator
    conversation_id = await softphone_call(hass, softphone_entry, emulator)
    peer = emulator.media_peer_of(conversation_id)
    assert peer is not None
    pair = peer.readout()["selectedPair"]
    assert all(map(is_loopback, pair.values()))
    phone = phone_of(softphone_entry)
    assert phone.media is not None

    await switch(hass, SERVICE_TURN_ON)

    assert hass.states.get(MUTE).state == STATE_ON  # type: ignore[union-attr]
    assert emulator_muted(emulator, conversation_id)
    mute = phone.media.last_transition
    assert mute is not None
    await wait_for(hass, lambda: mute.first_frame_index is not None)
    assert mute.first_frame_index is not None
    frames = await frames_from(hass, peer, mute.first_frame_index + 2, 20)
    assert len(frames) == 20
    assert all(f.exact_zero for f in frames)  # digital silence by the third frame

    await switch(hass, SERVICE_TURN_OFF)

    assert not emulator_muted(emulator, conversation_id)
    unmute = phone.media.last_transition
    assert unmute is not None
    assert not unmute.muted
    await wait_for(hass, lambda: unmute.first_frame_index is not None)
    assert unmute.first_frame_index is not None
    frames = await frames_from(hass, peer, unmute.first_frame_index, 10)
    assert all(f.dbfs > AUDIBLE_DBFS for f in frames)


async def test_a_supervisor_mute_flips_the_switch_and_closes_the_gate(
    hass: HomeAssistant, softphone_entry: ConfigEntry, webrtc_emulator: Emulator
) -> None:
    conversation_id = await softphone_call(hass, softphone_entry, webrtc_emulator)

    await webrtc_emulator.control.set_mute(conversation_id, True, by="supervisor")

    await wait_for(hass, lambda: hass.states.get(MUTE).state == STATE_ON)  # type: ignore[union-attr]
    assert phone_of(softphone_entry).gate_closed


async def test_the_call_ends_and_the_media_sensor_goes_idle(
    hass: HomeAssistant, softphone_entry: ConfigEntry, webrtc_emulator: Emulator
) -> None:
    conversation_id = await softphone_call(hass, softphone_entry, webrtc_emulator)

    await webrtc_emulator.control.customer_hangup(conversation_id)

    await wait_for(hass, lambda: hass.states.get(MEDIA).state == "idle")  # type: ignore[union-attr]
    assert phone_of(softphone_entry).media is None


async def test_diagnostics_show_the_media_without_addresses_or_ids(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    softphone_entry: ConfigEntry,
    webrtc_emulator: Emulator,
) -> None:
    conversation_id = await softphone_call(hass, softphone_entry, webrtc_emulator)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, softphone_entry)

    softphone = diagnostics["softphone"]
    assert softphone["media_state"] == "connected"
    assert softphone["ice_state"] in ("connected", "completed")
    assert softphone["codec"] == "opus/48000/2"
    assert softphone["packets_sent"] > 0
    assert softphone["packets_received"] > 0
    assert softphone["source"] == "tone 440 Hz"
    text = json.dumps(softphone)
    for personal in ("127.0.0.1", conversation_id, webrtc_emulator.demo_agent.id, "+1317"):
        assert personal not in text


async def test_a_device_that_cannot_open_is_a_repair_naming_it(
    hass: HomeAssistant,
    config_entry: ConfigEntry,
    webrtc_emulator: Emulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    options = SOFTPHONE_ON | {"softphone_capture": "hw:CARD=NoSuchHeadset"}
    async for entry in set_up(hass, config_entry, options):
        await webrtc_emulator.control.start_inbound_call()

        await wait_for(hass, lambda: hass.states.get(MEDIA).state == "failed", 15)  # type: ignore[union-attr]
        issue = issue_registry.async_get_issue(DOMAIN, f"softphone_device_{entry.entry_id}")
        assert issue is not None
        assert issue.translation_placeholders == {"device": "hw:CARD=NoSuchHeadset"}


async def test_no_webrtc_station_is_a_repair_and_no_media_sensor(
    hass: HomeAssistant,
    config_entry: ConfigEntry,
    webrtc_emulator: Emulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    webrtc_emulator.demo_agent.station_id = None
    async for entry in set_up(hass, config_entry, SOFTPHONE_ON):
        assert entry.runtime_data.softphone is None
        assert hass.states.get(MEDIA) is None
        assert issue_registry.async_get_issue(DOMAIN, f"softphone_not_webrtc_{entry.entry_id}")


async def test_the_softphone_starts_and_stops_with_its_option(
    hass: HomeAssistant, config_entry: ConfigEntry, webrtc_emulator: Emulator
) -> None:
    async for entry in set_up(hass, config_entry, {}):
        assert entry.runtime_data.softphone is None
        assert hass.states.get(MEDIA) is None

        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"show_caller_number": False, **SOFTPHONE_ON}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()

        assert phone_of(entry).running
        assert hass.states.get(MEDIA).state == "idle"  # type: ignore[union-attr]
        streams = len(webrtc_emulator.streaming.sessions)
        assert streams == 1

        hass.config_entries.async_update_entry(entry, options={"softphone": False})
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.runtime_data.softphone is None
        await wait_for(hass, lambda: not webrtc_emulator.streaming.sessions)


async def test_the_options_list_the_hosts_alsa_devices(
    hass: HomeAssistant,
    config_entry: ConfigEntry,
    webrtc_emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "cards").write_text(CARDS)
    (tmp_path / "pcm").write_text(PCM)
    monkeypatch.setattr(glue, "list_alsa_devices", lambda: list_alsa_devices(tmp_path))
    async for entry in set_up(hass, config_entry, {}):
        result = await hass.config_entries.options.async_init(entry.entry_id)

        assert result["type"] is FlowResultType.FORM
        schema = result["data_schema"].schema  # type: ignore[union-attr]
        fields = {str(key): value for key, value in schema.items()}
        captures = [o["value"] for o in fields["softphone_capture"].config["options"]]
        playbacks = [o["value"] for o in fields["softphone_playback"].config["options"]]
        assert captures == [
            "silence",
            "tone",
            "plughw:CARD=PCH,DEV=0",
            "plughw:CARD=Headset,DEV=0",
        ]
        assert playbacks == [
            "none",
            "plughw:CARD=PCH,DEV=0",
            "plughw:CARD=PCH,DEV=3",
            "plughw:CARD=Headset,DEV=0",
        ]
        assert fields["softphone_capture"].config["custom_value"]  # a device may be typed


async def test_a_restart_mid_call_shows_the_call_elsewhere_until_genesys_reinvites(
    hass: HomeAssistant, softphone_entry: ConfigEntry, webrtc_emulator: Emulator
) -> None:
    """Home Assistant stops and starts during a call: the same phone to Genesys afterwards."""
    conversation_id = await softphone_call(hass, softphone_entry, webrtc_emulator)
    (before,) = webrtc_emulator.streaming.sessions.values()

    assert await hass.config_entries.async_reload(softphone_entry.entry_id)
    await hass.async_block_till_done()

    await wait_for(hass, lambda: hass.states.get(MEDIA).state == "elsewhere", 15)  # type: ignore[union-attr]
    (after,) = webrtc_emulator.streaming.sessions.values()
    assert after is not before
    assert after.full_jid == before.full_jid  # re-registered as the same phone
    await webrtc_emulator.gateway.reinvite(conversation_id, new_peer=True)
    await wait_for(hass, lambda: hass.states.get(MEDIA).state == "connected", 15)  # type: ignore[union-attr]
    peer = webrtc_emulator.media_peer_of(conversation_id)
    assert peer is not None
    heard = peer.frames_received
    await wait_for(hass, lambda: peer.frames_received > heard + 10, 10)
    assert peer.frames[-1].dbfs > AUDIBLE_DBFS


async def test_the_answer_button_takes_a_ringing_call_on_this_phone(
    hass: HomeAssistant, config_entry: ConfigEntry, webrtc_emulator: Emulator
) -> None:
    """Manual answering: the call rings; the dashboard's answer button makes HA the phone."""
    manual = SOFTPHONE_ON | {"softphone_answer": "manual"}
    async for entry in set_up(hass, config_entry, manual):
        conversation_id = await webrtc_emulator.control.start_inbound_call()
        await wait_for(hass, lambda: hass.states.get(ANSWER).state == "unknown")  # type: ignore[union-attr]
        assert hass.states.get(MEDIA).state == "idle"  # type: ignore[union-attr]

        await hass.services.async_call(
            BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: ANSWER}, blocking=True
        )

        await wait_for(hass, lambda: hass.states.get(MEDIA).state == "connected", 15)  # type: ignore[union-attr]
        peer = webrtc_emulator.media_peer_of(conversation_id)
        assert peer is not None
        await wait_for(hass, lambda p=peer: bool(p.frames) and p.frames[-1].dbfs > AUDIBLE_DBFS)
        state = entry.runtime_data.data.agent_state
        assert state.conversation_id == conversation_id
        assert state.call_state == "connected"
