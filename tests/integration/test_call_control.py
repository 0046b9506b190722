"""Call control from Home Assistant: buttons, the hold switch, selects and actions, end to end.

Everything runs against the emulator over real sockets; what Genesys holds afterwards, and its
audit of what was sent, are the proof.
"""

from typing import Any

from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.components.select import (
    ATTR_OPTION,
    DOMAIN as SELECT_DOMAIN,
    SERVICE_SELECT_OPTION,
)
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.genesys_agent.const import DOMAIN
from custom_components.genesys_agent.genesys_cloud import GenesysForbiddenError
from genesys_emulator import Emulator
from genesys_emulator.state import AuditRecord

from ..audit import call_control_requests, user_leg
from .conftest import LoginFlow, start_user_flow, wait_for
from .test_entities import CALL_STATE, state_of

ANSWER = "button.jane_agent_answer"
HANG_UP = "button.jane_agent_hang_up"
SKIP_WRAP_UP = "button.jane_agent_skip_wrap_up"
HOLD = "switch.jane_agent_hold"
CALL_EVENT = "event.jane_agent_call"
PRESENCE = "select.jane_agent_presence"
WRAP_UP_CODE = "select.jane_agent_wrap_up_code"


async def press(hass: HomeAssistant, button: str) -> None:
    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: button}, blocking=True
    )


async def switch(hass: HomeAssistant, entity_id: str, on: bool) -> None:
    await hass.services.async_call(
        SWITCH_DOMAIN,
        SERVICE_TURN_ON if on else SERVICE_TURN_OFF,
        {ATTR_ENTITY_ID: entity_id},
        blocking=True,
    )


async def select(hass: HomeAssistant, entity_id: str, option: str) -> None:
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: entity_id, ATTR_OPTION: option},
        blocking=True,
    )


async def test_ring_answer_hold_resume_hang_up_wrap_up(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator
) -> None:
    """The whole life of a call from the dashboard: each button only while it can act."""
    assert state_of(hass, ANSWER) == STATE_UNAVAILABLE
    assert state_of(hass, HANG_UP) == STATE_UNAVAILABLE
    conversation_id = await emulator.control.start_inbound_call()
    await wait_for(hass, lambda: state_of(hass, ANSWER) != STATE_UNAVAILABLE)
    assert state_of(hass, HANG_UP) == STATE_UNAVAILABLE

    await press(hass, ANSWER)
    assert state_of(hass, CALL_STATE) == "connected"
    assert user_leg(emulator, conversation_id)["state"] == "connected"
    assert state_of(hass, ANSWER) == STATE_UNAVAILABLE
    assert state_of(hass, HANG_UP) != STATE_UNAVAILABLE

    await switch(hass, HOLD, True)
    assert state_of(hass, HOLD) == STATE_ON
    assert state_of(hass, CALL_STATE) == "on_hold"
    assert user_leg(emulator, conversation_id)["held"] is True
    assert hass.states.get(CALL_EVENT).attributes["event_type"] == "held"
    await switch(hass, HOLD, False)
    assert state_of(hass, HOLD) == STATE_OFF
    assert user_leg(emulator, conversation_id)["held"] is False
    assert hass.states.get(CALL_EVENT).attributes["event_type"] == "resumed"

    await press(hass, HANG_UP)
    assert state_of(hass, CALL_STATE) == "wrap_up"
    await wait_for(hass, lambda: state_of(hass, WRAP_UP_CODE) != STATE_UNAVAILABLE)
    options = hass.states.get(WRAP_UP_CODE).attributes["options"]
    assert "Resolved" in options
    assert state_of(hass, SKIP_WRAP_UP) != STATE_UNAVAILABLE

    await select(hass, WRAP_UP_CODE, "Resolved")
    assert state_of(hass, CALL_STATE) == "idle"
    queue = next(q for q in emulator.control.state()["queues"] if q["name"] == "Support")
    resolved = next(c for c in queue["wrapupCodes"] if c["name"] == "Resolved")
    assert user_leg(emulator, conversation_id)["wrapup"]["code"] == resolved["id"]
    assert state_of(hass, WRAP_UP_CODE) == STATE_UNAVAILABLE
    assert [r.body for r in call_control_requests(emulator)] == [
        {"state": "connected"},
        {"held": True},
        {"held": False},
        {"state": "disconnected"},
        {"wrapup": {"code": resolved["id"]}},
    ]


async def test_skip_wrap_up_and_submit_wrap_up_by_action(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator, live_call: str
) -> None:
    await emulator.control.customer_hangup(live_call)
    await wait_for(hass, lambda: state_of(hass, SKIP_WRAP_UP) != STATE_UNAVAILABLE)
    await press(hass, SKIP_WRAP_UP)
    assert state_of(hass, CALL_STATE) == "idle"

    second = await emulator.control.start_inbound_call()
    await emulator.control.answer(second)
    await emulator.control.customer_hangup(second)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "wrap_up")
    notes = "Customer calls back Friday about the refund."
    await hass.services.async_call(
        DOMAIN, "submit_wrap_up", {"code": "escalated", "notes": notes}, blocking=True
    )
    assert state_of(hass, CALL_STATE) == "idle"
    assert user_leg(emulator, second)["wrapup"]["notes"] == notes


@pytest.mark.parametrize("direct", [False, True])
async def test_decline_action(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator, direct: bool
) -> None:
    """An ACD call goes back to the queue; a direct one to voicemail."""
    if direct:
        conversation_id = await emulator.control.start_direct_call()
    else:
        conversation_id = await emulator.control.start_inbound_call()
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "ringing")
    await hass.services.async_call(
        DOMAIN, "decline", {"config_entry_id": integration.entry_id}, blocking=True
    )
    assert state_of(hass, CALL_STATE) == "idle"
    assert user_leg(emulator, conversation_id)["state"] in ("disconnected", "terminated")
    (request,) = call_control_requests(emulator)
    assert request.path.endswith("/replace") is direct


async def test_presence_select_round_trip(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator
) -> None:
    state = hass.states.get(PRESENCE)
    assert state is not None
    options = state.attributes["options"]
    assert {"available", "on_queue", "busy", "Focus time"} <= set(options)
    assert "Smoke break" not in options  # deactivated
    assert options.index("Focus time") == options.index("busy") + 1  # under its system presence
    assert state.state == "available"

    await select(hass, PRESENCE, "Focus time")
    assert state_of(hass, PRESENCE) == "Focus time"
    assert state_of(hass, "sensor.jane_agent_presence") == "busy"
    user = next(u for u in emulator.control.state()["users"] if u["id"] == emulator.demo_agent.id)
    assert user["presence"] == "Busy"

    await select(hass, PRESENCE, "on_queue")
    assert state_of(hass, "sensor.jane_agent_routing_status") in ("idle", "interacting")
    # A change on the desktop shows up.
    await emulator.control.set_presence(emulator.demo_agent.id, "Away")
    await wait_for(hass, lambda: state_of(hass, PRESENCE) == "away")


async def _refusal(hass: HomeAssistant, call: Any) -> HomeAssistantError:
    with pytest.raises(HomeAssistantError) as error:
        await call
    return error.value


async def test_every_command_refused_in_the_wrong_state_sends_nothing(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator
) -> None:
    """Each refusal is a translated message (never a traceback), and Genesys hears nothing."""
    idle: list[tuple[Any, str, str]] = [
        (switch(hass, HOLD, True), "not_connected", "There is no connected call"),
        (switch(hass, HOLD, False), "not_connected", "There is no connected call"),
        (
            hass.services.async_call(DOMAIN, "decline", {}, blocking=True),
            "not_ringing",
            "There is no ringing call to answer or decline.",
        ),
        (
            hass.services.async_call(DOMAIN, "submit_wrap_up", {"code": "x"}, blocking=True),
            "not_in_wrap_up",
            "There is no call in wrap-up.",
        ),
    ]
    for call, key, message in idle:
        error = await _refusal(hass, call)
        assert isinstance(error, ServiceValidationError)
        assert error.translation_key == key
        assert str(error).startswith(message.rstrip("."))

    conversation_id = await emulator.control.start_inbound_call()
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "ringing")
    error = await _refusal(hass, switch(hass, HOLD, True))
    assert error.translation_key == "not_connected"
    await emulator.control.answer(conversation_id)
    await emulator.control.customer_hangup(conversation_id)
    await wait_for(hass, lambda: state_of(hass, WRAP_UP_CODE) != STATE_UNAVAILABLE)
    error = await _refusal(
        hass, hass.services.async_call(DOMAIN, "submit_wrap_up", {"code": "nope"}, blocking=True)
    )
    assert error.translation_key == "unknown_wrap_up_code_name"
    assert str(error).startswith('"nope" is not a wrap-up code of this call\'s queue')
    # An unavailable button is skipped by Home Assistant itself: nothing happens.
    await press(hass, ANSWER)
    assert call_control_requests(emulator) == []


async def test_a_missing_scope_is_a_repair_and_old_features_keep_working(
    hass: HomeAssistant,
    integration: ConfigEntry,
    emulator: Emulator,
    live_call: str,
    issue_registry: ir.IssueRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 403 on a new command names the scope in a repair; the entry stays loaded."""
    client = integration.runtime_data.session.client
    set_presence = client.async_set_presence

    async def forbidden(*args: str) -> None:
        # The emulator checks no OAuth scopes: this is Genesys' answer to a token without one.
        raise GenesysForbiddenError("missing.scope", code="missing.scope", status=403)

    monkeypatch.setattr(client, "async_set_presence", forbidden)
    error = await _refusal(hass, select(hass, PRESENCE, "busy"))
    assert error.translation_key == "missing_scope"
    assert error.translation_placeholders == {"scope": "presence"}
    issue = issue_registry.async_get_issue(DOMAIN, f"missing_scope_presence_{integration.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["scope"] == "presence"
    # Mute still works; the next presence change that works clears the repair.
    await switch(hass, "switch.jane_agent_microphone_muted", True)
    assert state_of(hass, "switch.jane_agent_microphone_muted") == STATE_ON
    assert integration.state is ConfigEntryState.LOADED
    monkeypatch.setattr(client, "async_set_presence", set_presence)
    await select(hass, PRESENCE, "busy")
    assert issue_registry.async_get_issue(DOMAIN, issue.issue_id) is None


async def test_two_agents_never_act_on_each_others_calls(
    hass: HomeAssistant,
    emulator: Emulator,
    integration: ConfigEntry,
    login_flow: LoginFlow,
) -> None:
    kim = await emulator.control.create_user("Kim Agent", "kim.agent@example.com")
    await emulator.control.create_station(kim.id)
    result = await login_flow(
        await start_user_flow(hass, emulator), login_hint="kim.agent@example.com"
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    janes = await emulator.control.start_inbound_call()
    kims = await emulator.control.start_inbound_call(kim.id)
    await wait_for(hass, lambda: state_of(hass, "sensor.kim_agent_call_state") == "ringing")
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "ringing")

    await press(hass, "button.kim_agent_answer")
    assert user_leg(emulator, kims)["state"] == "connected"
    assert user_leg(emulator, janes)["state"] == "alerting"
    assert state_of(hass, CALL_STATE) == "ringing"
    await hass.services.async_call(
        DOMAIN, "decline", {"config_entry_id": integration.entry_id}, blocking=True
    )
    assert user_leg(emulator, kims)["state"] == "connected"
    await switch(hass, "switch.kim_agent_hold", True)
    assert user_leg(emulator, kims)["held"] is True
    assert {r.user_id for r in call_control_requests(emulator) if conversation_in(r, kims)} == {
        kim.id
    }
    assert {r.user_id for r in call_control_requests(emulator) if conversation_in(r, janes)} == {
        emulator.demo_agent.id
    }
    await hass.config_entries.async_unload(result["result"].entry_id)


def conversation_in(record: AuditRecord, conversation_id: str) -> bool:
    return f"/calls/{conversation_id}/" in record.path


async def test_presences_are_read_again_after_a_reconnect(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator
) -> None:
    """A presence the org adds meanwhile shows once the session reconnects."""
    await emulator.control.add_presence("Coaching", "Meeting")
    assert "Coaching" not in hass.states.get(PRESENCE).attributes["options"]
    await emulator.control.drop_websockets()
    await wait_for(
        hass, lambda: "Coaching" in hass.states.get(PRESENCE).attributes.get("options", [])
    )
    await select(hass, PRESENCE, "Coaching")
    user = next(u for u in emulator.control.state()["users"] if u["id"] == emulator.demo_agent.id)
    assert user["presence"] == "Meeting"
