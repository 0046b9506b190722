"""Each shipped blueprint, loaded into Home Assistant and driven by an emulated call."""

import asyncio
from collections.abc import Callable
import logging
from pathlib import Path
import shutil
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_mock_service

from genesys_emulator import Emulator

from ..audit import call_control_requests
from .conftest import MUTE, emulator_muted, wait_for
from .test_entities import CALL_STATE, ON_CALL, REMOTE_MUTE, state_of

BLUEPRINTS = Path(__file__).resolve().parents[2] / "blueprints" / "automation" / "genesys_agent"
PEDAL = "input_boolean.pedal"
PEDAL_BUTTON = "input_button.pedal"


def pedal_event(kind: str) -> dict[str, Any]:
    """The trigger of a press of ``kind``, as a Zigbee button's event would be."""
    return {"trigger": "event", "event_type": "pedal", "event_data": {"press": kind}}


async def use_blueprint(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> None:
    """Install the repository's blueprints and create one automation from ``name``."""
    shutil.copytree(
        BLUEPRINTS,
        hass.config.path("blueprints", "automation", "genesys_agent"),
        dirs_exist_ok=True,
    )
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"pedal": {}}})
    automation = {"use_blueprint": {"path": f"genesys_agent/{name}.yaml", "input": inputs}}
    assert await async_setup_component(hass, "automation", {"automation": [automation]})
    await hass.async_block_till_done()
    assert len(hass.states.async_entity_ids("automation")) == 1


async def poll(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Wait in real time, without waiting for Home Assistant to be idle."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def press(hass: HomeAssistant, on: bool) -> None:
    await hass.services.async_call(
        "input_boolean", "turn_on" if on else "turn_off", {"entity_id": PEDAL}, blocking=True
    )


async def test_toggle_mute_from_a_button(
    hass: HomeAssistant, emulator: Emulator, live_call: str
) -> None:
    await use_blueprint(
        hass,
        "toggle_mute",
        {"press": [{"trigger": "state", "entity_id": PEDAL, "to": "on"}], "mute_switch": MUTE},
    )
    await press(hass, True)
    await wait_for(hass, lambda: emulator_muted(emulator, live_call))
    await press(hass, False)
    await press(hass, True)
    await wait_for(hass, lambda: not emulator_muted(emulator, live_call))


async def test_toggle_mute_outside_a_call_does_nothing_and_logs_nothing(
    hass: HomeAssistant,
    integration: ConfigEntry,
    emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await use_blueprint(
        hass,
        "toggle_mute",
        {"press": [{"trigger": "state", "entity_id": PEDAL, "to": "on"}], "mute_switch": MUTE},
    )
    await press(hass, True)
    await hass.async_block_till_done()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert call_control_requests(emulator) == []


async def test_pedal_does_the_right_thing(
    hass: HomeAssistant,
    integration: ConfigEntry,
    emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Press: answer, then toggle mute; double press: hold/resume; long press: hang up."""
    assert await async_setup_component(hass, "input_button", {"input_button": {"pedal": {}}})
    await use_blueprint(
        hass,
        "pedal",
        {
            "press": [{"trigger": "state", "entity_id": PEDAL_BUTTON}],
            "double_press": [pedal_event("double")],
            "long_press": [pedal_event("long")],
            "call_state": CALL_STATE,
            "answer_button": "button.jane_agent_answer",
            "hang_up_button": "button.jane_agent_hang_up",
            "mute_switch": MUTE,
            "hold_switch": "switch.jane_agent_hold",
        },
    )

    async def pedal(kind: str) -> None:
        if kind == "press":
            await hass.services.async_call(
                "input_button", "press", {"entity_id": PEDAL_BUTTON}, blocking=True
            )
        else:
            hass.bus.async_fire("pedal", {"press": kind})
        await hass.async_block_till_done()

    # No call: nothing happens, nothing is logged.
    for kind in ("press", "double", "long"):
        await pedal(kind)
    assert call_control_requests(emulator) == []

    conversation_id = await emulator.control.start_inbound_call()
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "ringing")
    await pedal("press")
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "connected")
    await pedal("press")
    await wait_for(hass, lambda: emulator_muted(emulator, conversation_id))
    await pedal("press")
    await wait_for(hass, lambda: not emulator_muted(emulator, conversation_id))
    await pedal("double")
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "on_hold")
    await pedal("double")
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "connected")
    await pedal("long")
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "wrap_up")
    # In wrap-up the pedal has nothing to do.
    for kind in ("press", "double", "long"):
        await pedal(kind)
    assert [r.body for r in call_control_requests(emulator)] == [
        {"state": "connected"},
        {"muted": True},
        {"muted": False},
        {"held": True},
        {"held": False},
        {"state": "disconnected"},
    ]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_push_to_talk(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator
) -> None:
    await use_blueprint(
        hass, "push_to_talk", {"pedal": PEDAL, "mute_switch": MUTE, "call_state": CALL_STATE}
    )
    conversation_id = await emulator.control.start_inbound_call()
    await emulator.control.answer(conversation_id)
    # Muted by default as soon as the call connects.
    await wait_for(hass, lambda: emulator_muted(emulator, conversation_id))
    await press(hass, True)
    await wait_for(hass, lambda: not emulator_muted(emulator, conversation_id))
    await press(hass, False)
    await wait_for(hass, lambda: emulator_muted(emulator, conversation_id))


async def test_busy_light(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator
) -> None:
    turned_on: list[ServiceCall] = async_mock_service(hass, "light", "turn_on")
    turned_off: list[ServiceCall] = async_mock_service(hass, "light", "turn_off")
    await use_blueprint(
        hass,
        "busy_light",
        {"light": "light.door", "call_state": CALL_STATE, "remote_mute": REMOTE_MUTE},
    )
    conversation_id = await emulator.control.start_inbound_call()
    await wait_for(hass, lambda: turned_on and turned_on[-1].data["rgb_color"] == [255, 160, 0])
    await emulator.control.answer(conversation_id)
    await wait_for(hass, lambda: turned_on[-1].data["rgb_color"] == [255, 0, 0])
    await emulator.control.set_mute(conversation_id, True, by="desktop")
    await wait_for(hass, lambda: turned_on[-1].data["rgb_color"] == [0, 80, 255])
    await emulator.control.set_hold(conversation_id, True)
    await wait_for(hass, lambda: turned_on[-1].data["rgb_color"] == [160, 0, 255])
    await emulator.control.set_hold(conversation_id, False)
    await wait_for(hass, lambda: turned_on[-1].data["rgb_color"] == [0, 80, 255])
    await emulator.control.customer_hangup(conversation_id)
    await wait_for(hass, lambda: turned_on[-1].data["rgb_color"] == [0, 200, 80])
    await emulator.control.complete_wrapup(conversation_id)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "idle" and bool(turned_off))


@pytest.mark.parametrize("playing", [True, False])
async def test_pause_media_during_calls(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator, playing: bool
) -> None:
    """Only what was playing is paused, and only that is resumed."""
    paused = async_mock_service(hass, "media_player", "media_pause")
    resumed = async_mock_service(hass, "media_player", "media_play")
    hass.states.async_set("media_player.kitchen", "playing" if playing else "idle")
    hass.states.async_set("media_player.tv", "paused")
    await use_blueprint(
        hass,
        "pause_media",
        {"on_call": ON_CALL, "media_players": ["media_player.kitchen", "media_player.tv"]},
    )
    conversation_id = await emulator.control.start_inbound_call()
    await emulator.control.answer(conversation_id)
    # The automation waits for the call to end, so Home Assistant is never "done" meanwhile:
    # poll in real time instead of blocking until done.
    await poll(lambda: state_of(hass, ON_CALL) == "on")
    await poll(lambda: len(paused) == int(playing))
    await emulator.control.customer_hangup(conversation_id)
    await poll(lambda: state_of(hass, ON_CALL) == "off")
    await poll(lambda: len(resumed) == int(playing))
    expected = [["media_player.kitchen"]] if playing else []
    assert [call.data["entity_id"] for call in paused] == expected
    assert [call.data["entity_id"] for call in resumed] == expected
