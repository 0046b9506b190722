"""A missing permission is said: a repair, a warning, the affected entities unavailable."""

import asyncio
from dataclasses import replace
import logging

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.genesys_agent.const import DOMAIN
from genesys_emulator import Emulator

from .conftest import wait_for
from .test_entities import CALL_STATE, MUTE, ON_CALL, REMOTE_MUTE, state_of

PRESENCE = "sensor.jane_agent_presence"
ROUTING_STATUS = "sensor.jane_agent_routing_status"
MISSING = "conversation:call:view"


async def test_a_refused_calls_topic_is_a_repair_and_presence_keeps_working(
    hass: HomeAssistant,
    config_entry: ConfigEntry,
    emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    await emulator.control.withhold_topic("conversations.calls", [MISSING])
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    issue_id = f"topics_rejected_{config_entry.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "topics_rejected"
    assert issue.translation_placeholders is not None
    details = issue.translation_placeholders["details"]
    assert "conversations.calls" in details
    assert MISSING in details
    assert any(
        record.levelname == "WARNING" and MISSING in record.getMessage()
        for record in caplog.records
    )
    for entity_id in (MUTE, CALL_STATE, REMOTE_MUTE, ON_CALL):
        assert state_of(hass, entity_id) == STATE_UNAVAILABLE, entity_id
    assert state_of(hass, ROUTING_STATUS) != STATE_UNAVAILABLE
    await emulator.control.set_presence(emulator.demo_agent.id, "Busy")
    await wait_for(hass, lambda: state_of(hass, PRESENCE) == "busy")

    # Granted in Genesys, then reloaded: the repair goes, the calls are followed again.
    await emulator.control.withhold_topic("conversations.calls", None)
    await emulator.control.expire_channels()  # the reload's channel must subscribe anew
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"topics_rejected_{config_entry.entry_id}")
        is None
    )
    assert state_of(hass, MUTE) != STATE_UNAVAILABLE
    await hass.config_entries.async_unload(config_entry.entry_id)


async def test_a_subscription_refused_as_a_whole_is_a_clear_final_error(
    hass: HomeAssistant, config_entry: ConfigEntry, emulator: Emulator
) -> None:
    """Not "Could not reach Genesys Cloud" retried for ever: a setup error saying why."""
    emulator.hub._config = replace(emulator.hub._config, max_topics_per_channel=2)
    await emulator.control.expire_channels()
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    assert config_entry.error_reason_translation_key == "subscription_refused"
    assert config_entry.reason is not None
    assert "Could not reach" not in config_entry.reason


async def test_a_subscription_refused_later_stops_with_a_repair_not_a_retry(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator
) -> None:
    """A new channel's subscription is refused: the repair says why; nothing is retried."""
    emulator.hub._config = replace(emulator.hub._config, max_topics_per_channel=2)
    await emulator.control.expire_channels()
    issue_id = f"topics_rejected_{integration.entry_id}"
    await wait_for(hass, lambda: ir.async_get(hass).async_get_issue(DOMAIN, issue_id))
    assert state_of(hass, PRESENCE) == STATE_UNAVAILABLE
    assert state_of(hass, MUTE) == STATE_UNAVAILABLE
    requests = len(emulator.audit)
    await asyncio.sleep(2)  # the first backoff steps would have retried by now
    assert len(emulator.audit) == requests
