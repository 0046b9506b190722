"""The switch never lies: it shows what Genesys confirmed, says when a press is pending, and
writes the truth again at once when a press is refused (so the frontend's toggle follows)."""

import asyncio
import time
from typing import Any

from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_ON, STATE_OFF, STATE_ON
from homeassistant.core import Event, HomeAssistant, State, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import async_track_state_change_event
import pytest

from genesys_emulator import Emulator

from .conftest import emulator_muted, press_mute, wait_for
from .test_entities import CALL_STATE, MUTE, REMOTE_MUTE, state_of

CALLS = "/api/v2/conversations/calls/"


@pytest.fixture
def mute_states(hass: HomeAssistant) -> list[State]:
    """Every state the switch was written with from now on."""
    written: list[State] = []

    @callback
    def record(event: Event[Any]) -> None:
        written.append(event.data["new_state"])

    async_track_state_change_event(hass, [MUTE], record)
    return written


async def test_a_hanging_mute_never_shows_muted_and_says_it_is_pending(
    hass: HomeAssistant,
    integration: ConfigEntry,
    emulator: Emulator,
    live_call: str,
    mute_states: list[State],
) -> None:
    """The PATCH hangs and is never applied: the switch stays off, pending after ~1 s."""
    integration.runtime_data.session.client.request_timeout = 3.0
    await emulator.control.fail_next(1, status="timeout", path_prefix=CALLS)
    press = hass.async_create_task(press_mute(hass))
    started = time.monotonic()
    # Not wait_for: it waits for Home Assistant's tasks, the press among them.
    while not hass.states.get(MUTE).attributes["pending"]:
        assert time.monotonic() - started < 2.0, "never shown as pending"
        await asyncio.sleep(0.01)
    assert state_of(hass, MUTE) == STATE_OFF
    with pytest.raises(HomeAssistantError) as error:
        await press
    assert error.value.translation_key == "mute_failed"
    assert [state.state for state in mute_states] == [STATE_OFF] * len(mute_states)
    assert hass.states.get(MUTE).attributes["pending"] is False
    assert not emulator_muted(emulator, live_call)


async def test_a_mute_that_took_before_its_answer_was_lost_is_not_refused(
    hass: HomeAssistant, emulator: Emulator, live_call: str
) -> None:
    """Genesys applies the PATCH, then answers 503: the user is not told "refused"."""
    await emulator.control.fail_after_applying(1, status=503, path_prefix=CALLS)
    await press_mute(hass)
    assert state_of(hass, MUTE) == STATE_ON
    assert emulator_muted(emulator, live_call)


async def test_a_fast_mute_shows_once_confirmed_without_a_pending_flash(
    hass: HomeAssistant, emulator: Emulator, live_call: str, mute_states: list[State]
) -> None:
    await press_mute(hass)
    assert [(s.state, s.attributes["pending"]) for s in mute_states] == [(STATE_ON, False)]


@pytest.mark.parametrize("ringing", [False, True])
async def test_a_refused_press_writes_the_truth_again_at_once(
    hass: HomeAssistant,
    integration: ConfigEntry,
    emulator: Emulator,
    mute_states: list[State],
    ringing: bool,
) -> None:
    """Idle or ringing: refused, and the switch's state is written anew (still off) at once."""
    if ringing:
        await emulator.control.start_inbound_call()
        await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "ringing")
    mute_states.clear()
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: MUTE}, blocking=True
        )
    assert error.value.translation_key == "no_active_call"
    assert [state.state for state in mute_states] == [STATE_OFF]


async def test_a_press_genesys_refuses_writes_the_truth_again(
    hass: HomeAssistant, emulator: Emulator, live_call: str, mute_states: list[State]
) -> None:
    await emulator.control.fail_next(1, status=429, path_prefix=CALLS, retry_after=60)
    with pytest.raises(HomeAssistantError):
        await press_mute(hass)
    assert [state.state for state in mute_states] == [STATE_OFF]


async def test_no_call_and_an_ended_call_are_not_muted(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator
) -> None:
    """Remote mute is off, never unknown, without a call; a call ended muted leaves nothing on."""
    assert state_of(hass, REMOTE_MUTE) == STATE_OFF
    assert state_of(hass, MUTE) == STATE_OFF
    conversation_id = await emulator.control.start_inbound_call()
    await emulator.control.answer(conversation_id)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "connected")
    await press_mute(hass)
    assert state_of(hass, REMOTE_MUTE) == STATE_ON
    await emulator.control.customer_hangup(conversation_id)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "wrap_up")
    assert emulator_muted(emulator, conversation_id)  # Genesys leaves the ended leg's flag set
    assert state_of(hass, MUTE) == STATE_OFF
    assert state_of(hass, REMOTE_MUTE) == STATE_OFF
    await emulator.control.complete_wrapup(conversation_id)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "idle")
    assert state_of(hass, REMOTE_MUTE) == STATE_OFF
