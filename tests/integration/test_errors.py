"""Every failure the user can meet is a clear, translated message."""

from unittest.mock import MagicMock, patch

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import STATE_OFF
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.genesys_agent.application_credentials import (
    async_get_description_placeholders,
)
from custom_components.genesys_agent.const import CONF_SHOW_CALLER_NUMBER, DOMAIN
from custom_components.genesys_agent.genesys_cloud import (
    GenesysAuthError,
    GenesysForbiddenError,
)
from genesys_emulator import Emulator

from .conftest import LoginFlow, press_mute, start_user_flow, wait_for
from .test_entities import CALL_STATE, MUTE, state_of


async def test_genesys_failing_the_mute_is_reported(
    hass: HomeAssistant, emulator: Emulator, live_call: str
) -> None:
    await emulator.control.fail_next(1, status=503, path_prefix="/api/v2/conversations")
    with pytest.raises(HomeAssistantError) as error:
        await press_mute(hass)
    assert error.value.translation_key == "mute_failed"
    assert state_of(hass, MUTE) == STATE_OFF


async def test_a_long_rate_limit_is_reported_with_its_wait(
    hass: HomeAssistant, emulator: Emulator, live_call: str
) -> None:
    await emulator.control.fail_next(
        1, status=429, path_prefix="/api/v2/conversations", retry_after=60
    )
    with pytest.raises(HomeAssistantError) as error:
        await press_mute(hass)
    assert error.value.translation_key == "rate_limited"
    assert error.value.translation_placeholders == {"seconds": "60"}


async def test_a_revoked_login_during_a_press_is_reported_and_starts_reauth(
    hass: HomeAssistant, emulator: Emulator, live_call: str
) -> None:
    await emulator.control.revoke_tokens()
    with pytest.raises(HomeAssistantError) as error:
        await press_mute(hass)
    assert error.value.translation_key == "authentication_failed"
    await hass.async_block_till_done()
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN)


async def test_a_mute_genesys_never_applies_is_reported(
    hass: HomeAssistant,
    integration: ConfigEntry,
    emulator: Emulator,
    live_call: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Genesys answers 202 but the mute never takes (neither event nor REST shows it)."""
    session = integration.runtime_data.session
    session.commands.confirm_timeout = 0.2

    async def accepted_but_ignored(*args: object) -> None:
        """Genesys answering 202 and doing nothing."""

    monkeypatch.setattr(session.client, "async_set_mute", accepted_but_ignored)
    with pytest.raises(HomeAssistantError) as error:
        await press_mute(hass)
    assert error.value.translation_key == "mute_not_confirmed"
    assert state_of(hass, MUTE) == STATE_OFF


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (GenesysAuthError("refused"), "invalid_auth"),
        (GenesysForbiddenError("no"), "missing_permissions"),
    ],
)
async def test_flow_failures_after_login_are_explained(
    hass: HomeAssistant,
    emulator: Emulator,
    login_flow: LoginFlow,
    failure: Exception,
    reason: str,
) -> None:
    flow = await start_user_flow(hass, emulator)
    with patch(
        "custom_components.genesys_agent.config_flow.GenesysClient.async_get_me",
        side_effect=failure,
    ):
        result = await login_flow(flow)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason


async def test_setup_retries_when_the_token_refresh_fails_transiently(
    hass: HomeAssistant, emulator: Emulator, config_entry: ConfigEntry
) -> None:
    """HA sees the token expired; the login host answers 503: try again later."""
    token = {**config_entry.data["token"], "expires_at": 0}
    hass.config_entries.async_update_entry(config_entry, data={**config_entry.data, "token": token})
    await emulator.control.fail_next(5, status=503, path_prefix="/login")
    await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_setup_retries_when_a_forced_refresh_fails_transiently(
    hass: HomeAssistant, emulator: Emulator, config_entry: ConfigEntry
) -> None:
    """Genesys refuses the token early (401); the refresh meets a 503: try again later."""
    await emulator.control.expire_access_tokens()
    await emulator.control.fail_next(5, status=503, path_prefix="/login")
    await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY


@pytest.mark.parametrize("client_secret", [""])
async def test_a_pkce_only_client_without_secret_logs_in(
    hass: HomeAssistant, emulator: Emulator, login_flow: LoginFlow
) -> None:
    """A Genesys "PKCE" OAuth client has no secret: its id goes in the token form, and the
    refresh works without one too."""
    result = await login_flow(await start_user_flow(hass, emulator))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await emulator.control.expire_access_tokens()
    await hass.config_entries.async_reload(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED


async def test_the_caller_number_appears_only_when_allowed(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator
) -> None:
    hass.config_entries.async_update_entry(integration, options={CONF_SHOW_CALLER_NUMBER: True})
    await hass.async_block_till_done()
    conversation_id = await emulator.control.start_inbound_call(ani="tel:+13175550100")
    await emulator.control.answer(conversation_id)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "connected")
    # The number a person reads, without the tel: scheme.
    assert hass.states.get(CALL_STATE).attributes["remote_number"] == "+13175550100"


async def test_the_credentials_dialog_names_the_redirect_uri_this_instance_sends(
    hass: HomeAssistant, current_request: MagicMock
) -> None:
    """The dialog is asked over the websocket: no frontend header, but the page's Origin."""
    websocket = current_request.get.return_value.clone(headers={"Origin": "http://ha.local:8123"})
    current_request.get.return_value = websocket
    placeholders = await async_get_description_placeholders(hass)
    assert placeholders["redirect_url"] == "http://ha.local:8123/auth/external/callback"

    hass.config.components.add("my")
    placeholders = await async_get_description_placeholders(hass)
    assert placeholders["redirect_url"] == "https://my.home-assistant.io/redirect/oauth"


async def test_without_a_request_the_dialog_names_the_configured_url(hass: HomeAssistant) -> None:
    placeholders = await async_get_description_placeholders(hass)
    assert placeholders["redirect_url"] == "<your Home Assistant URL>/auth/external/callback"
    await async_process_ha_core_config(hass, {"internal_url": "http://192.168.1.5:8123"})
    placeholders = await async_get_description_placeholders(hass)
    assert placeholders["redirect_url"] == "http://192.168.1.5:8123/auth/external/callback"
