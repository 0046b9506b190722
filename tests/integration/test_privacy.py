"""What reaches logs and messages: never the channel id (a credential) or the agent's name."""

from functools import partial
import logging

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest

from custom_components.genesys_agent.genesys_cloud import GenesysClient
from genesys_emulator import Emulator

from .test_secrets_in_logs import NOT_OURS


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every log line but the emulator's, with its traceback."""
    return [
        f"{record.name} {record.levelname}: {record.getMessage()} {record.exc_text or ''}"
        for record in caplog.records
        if not record.name.startswith(NOT_OURS)
    ]


async def test_a_failed_setup_names_neither_the_channel_nor_the_agent(
    hass: HomeAssistant,
    config_entry: ConfigEntry,
    emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The subscription times out: the not-ready line, the reason and the error are clean."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(
        "custom_components.genesys_agent.GenesysClient",
        partial(GenesysClient, request_timeout=0.5),
    )
    await emulator.control.fail_next(
        1, status="timeout", path_prefix="/api/v2/notifications/channels/streaming-"
    )
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    channel_ids = list(emulator.hub.channels)  # the fixture's first setup made one too
    assert channel_ids
    assert config_entry.reason is not None
    assert "timed out" in config_entry.reason
    logged = lines(caplog)
    assert any("not ready yet" in line for line in logged)
    for text in [config_entry.reason, *logged]:
        assert not any(channel_id in text for channel_id in channel_ids)
        assert emulator.demo_agent.name not in text
    await hass.config_entries.async_unload(config_entry.entry_id)


async def test_stopping_home_assistant_is_not_a_drop(
    hass: HomeAssistant, integration: ConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Home Assistant closes its HTTP session on stop: the session stops quietly first."""
    caplog.set_level(logging.DEBUG)
    await hass.async_stop()
    ours = [line for line in lines(caplog) if line.startswith("custom_components")]
    assert ours == []
