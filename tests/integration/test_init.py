"""Setup, unload, and the failures setup can meet."""

from collections.abc import AsyncGenerator

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.genesys_agent.const import DOMAIN
from genesys_emulator import Emulator, EmulatorConfig
from genesys_emulator.testing import running_emulator

from .conftest import LoginFlow, start_user_flow, wait_for


async def test_setup_and_unload(hass: HomeAssistant, config_entry: ConfigEntry) -> None:
    """The entry loads, and unloading closes the session."""
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.LOADED
    assert config_entry.runtime_data.data.connected
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.NOT_LOADED


async def test_setup_retries_while_genesys_is_unavailable(
    hass: HomeAssistant, emulator: Emulator, config_entry: ConfigEntry
) -> None:
    """A 503 at startup means "try again later", not an error the user must fix."""
    await emulator.control.fail_next(20, status=503)
    await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_a_revoked_login_starts_reauth(
    hass: HomeAssistant, emulator: Emulator, config_entry: ConfigEntry
) -> None:
    """When Genesys refuses the refresh token, the user is asked to log in again."""
    await emulator.control.revoke_tokens()
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_a_login_revoked_while_running_starts_reauth(
    hass: HomeAssistant, emulator: Emulator, integration: ConfigEntry
) -> None:
    """Tokens revoked mid-session: the entities go unavailable and reauth is offered."""
    await emulator.control.revoke_tokens()
    await emulator.control.drop_websockets()
    await wait_for(
        hass, lambda: hass.config_entries.flow.async_progress_by_handler(DOMAIN), within=10
    )
    assert not integration.runtime_data.data.connected


@pytest.fixture
async def second_emulator(socket_enabled: None) -> AsyncGenerator[Emulator]:
    """Another Genesys Cloud, as a second region would be, with an agent of its own."""
    async with running_emulator(EmulatorConfig(auto_approve=True)) as emulator:
        agent = await emulator.control.create_user("Kim Agent", "kim.agent@example.com")
        await emulator.control.create_station(agent.id)
        yield emulator


async def test_two_entries_in_two_regions_never_cross(
    hass: HomeAssistant,
    emulator: Emulator,
    second_emulator: Emulator,
    config_entry: ConfigEntry,
    login_flow: LoginFlow,
) -> None:
    """Each entry refreshes its token at its own region's login host.

    Both regions expire every access token; each entry must refresh against its own
    environment (a refresh sent to the other one would be refused and end in reauth).
    """
    result = await login_flow(
        await start_user_flow(hass, second_emulator), login_hint="kim.agent@example.com"
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    second_entry = result["result"]
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    for region in (emulator, second_emulator):
        await region.control.expire_access_tokens()
    for entry in (config_entry, second_entry):
        await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    assert config_entry.state is ConfigEntryState.LOADED
    assert second_entry.state is ConfigEntryState.LOADED
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    for entry in (config_entry, second_entry):
        await hass.config_entries.async_unload(entry.entry_id)
