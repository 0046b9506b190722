"""The agent's entities, driven by an emulated call over real sockets."""

from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest

from custom_components.genesys_agent.const import DOMAIN
from genesys_emulator import Emulator

from .conftest import wait_for

MUTE = "switch.jane_agent_microphone_muted"
CALL_STATE = "sensor.jane_agent_call_state"
REMOTE_MUTE = "binary_sensor.jane_agent_remote_mute"
ON_CALL = "binary_sensor.jane_agent_on_call"
CALL_EVENT = "event.jane_agent_call"


def state_of(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


def agent_mute_patches(emulator: Emulator) -> list[dict[str, object]]:
    """The PATCHes the emulator recorded on participants, with their bodies."""
    return [
        {"path": record.path, "body": record.body}
        for record in emulator.audit
        if record.source == "api" and record.method == "PATCH" and "/participants/" in record.path
    ]


async def test_one_service_device_with_every_entity(
    hass: HomeAssistant,
    integration: ConfigEntry,
    emulator: Emulator,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """One device per agent, with entities named after the agent and unique by user id."""
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, emulator.demo_agent.id), integration.entry_id
    )
    assert device is not None
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    entities = er.async_entries_for_config_entry(entity_registry, integration.entry_id)
    assert {entity.entity_id for entity in entities} >= {
        MUTE, CALL_STATE, REMOTE_MUTE, ON_CALL, CALL_EVENT,
        "sensor.jane_agent_presence", "sensor.jane_agent_routing_status",
        "button.jane_agent_answer", "button.jane_agent_hang_up", "button.jane_agent_skip_wrap_up",
        "switch.jane_agent_hold", "select.jane_agent_presence", "select.jane_agent_wrap_up_code",
    }  # fmt: skip
    assert all(entity.unique_id.startswith(emulator.demo_agent.id) for entity in entities)
    assert state_of(hass, CALL_STATE) == "idle"
    assert state_of(hass, MUTE) == STATE_OFF


async def test_an_inbound_call_drives_every_entity(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator
) -> None:
    """Ringing, connected, held, ended: each push shows up on the entities."""
    conversation_id = await emulator.control.start_inbound_call()
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "ringing")
    assert state_of(hass, CALL_EVENT) != "unknown"
    assert hass.states.get(CALL_EVENT).attributes["event_type"] == "ringing"
    assert hass.states.get(CALL_STATE).attributes["conversation_id"] == conversation_id
    assert hass.states.get(CALL_STATE).attributes["queue"] == "Support"
    assert "remote_number" not in hass.states.get(CALL_STATE).attributes

    await emulator.control.answer(conversation_id)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "connected")
    assert state_of(hass, ON_CALL) == STATE_ON
    assert state_of(hass, REMOTE_MUTE) == STATE_OFF
    assert hass.states.get(CALL_EVENT).attributes["event_type"] == "answered"

    await emulator.control.set_hold(conversation_id, True)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "on_hold")

    await emulator.control.set_hold(conversation_id, False)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "connected")

    await emulator.control.customer_hangup(conversation_id)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) in ("wrap_up", "idle"))
    assert state_of(hass, ON_CALL) == STATE_OFF
    assert hass.states.get(CALL_EVENT).attributes["event_type"] == "ended"
    await emulator.control.complete_wrapup(conversation_id)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "idle")


async def test_the_switch_mutes_the_agents_own_participant(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator
) -> None:
    """Turning the switch on PATCHes {"muted": true} on the agent's participant, and back."""
    conversation_id = await emulator.control.start_inbound_call()
    await emulator.control.answer(conversation_id)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "connected")

    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: MUTE}, blocking=True
    )
    assert state_of(hass, MUTE) == STATE_ON
    assert state_of(hass, REMOTE_MUTE) == STATE_ON
    assert hass.states.get(REMOTE_MUTE).attributes["changed_by"] == "integration"
    conversation = next(
        c for c in emulator.control.state()["conversations"] if c["id"] == conversation_id
    )
    agent = next(p for p in conversation["participants"] if p["purpose"] == "agent")
    assert agent["muted"] is True
    patches = agent_mute_patches(emulator)
    assert patches == [
        {
            "path": f"/api/v2/conversations/calls/{conversation_id}/participants/{agent['id']}",
            "body": {"muted": True},
        }
    ]

    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: MUTE}, blocking=True
    )
    assert state_of(hass, MUTE) == STATE_OFF
    assert agent_mute_patches(emulator)[-1]["body"] == {"muted": False}


@pytest.mark.parametrize("who", ["desktop", "supervisor"])
async def test_a_mute_made_elsewhere_shows_at_once(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator, who: str
) -> None:
    """The switch never lies: a mute from the desktop or a supervisor flips it, no HA action."""
    conversation_id = await emulator.control.start_inbound_call()
    await emulator.control.answer(conversation_id)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "connected")

    await emulator.control.set_mute(conversation_id, True, by=who)
    await wait_for(hass, lambda: state_of(hass, MUTE) == STATE_ON)
    assert state_of(hass, REMOTE_MUTE) == STATE_ON
    assert hass.states.get(REMOTE_MUTE).attributes["changed_by"] == "elsewhere"
    assert hass.states.get(CALL_EVENT).attributes["event_type"] == "muted"
    assert agent_mute_patches(emulator) == []


async def test_muting_with_no_call_is_refused_and_the_switch_stays_off(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator
) -> None:
    """No call, nothing to mute: a translated validation error, and no request to Genesys."""
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: MUTE}, blocking=True
        )
    assert error.value.translation_key == "no_active_call"
    assert state_of(hass, MUTE) == STATE_OFF
    assert agent_mute_patches(emulator) == []


async def test_entities_go_unavailable_when_the_socket_drops_and_heal(
    hass: HomeAssistant,
    integration: ConfigEntry,
    emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A dropped websocket heals by itself, logged once each way; a call made meanwhile shows."""
    await emulator.control.fail_next(2, status=503, path_prefix="/api/v2/notifications")
    await emulator.control.drop_websockets()
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == STATE_UNAVAILABLE)
    conversation_id = await emulator.control.start_inbound_call()
    await emulator.control.answer(conversation_id)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "connected", within=10)
    assert caplog.text.count("The Genesys Cloud session is down") == 1
    assert caplog.text.count("The Genesys Cloud session is back") == 1
