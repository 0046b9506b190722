"""The Genesys Cloud Agent integration: control the agent's calls; let the home react to them."""

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import (
    OAuth2Session,
    async_get_config_entry_implementation,
)
from homeassistant.helpers.typing import ConfigType

from .api import ConfigEntryAuth
from .application_credentials import environment_context
from .const import DOMAIN
from .coordinator import GenesysAgentConfigEntry, GenesysAgentCoordinator
from .environment import entry_environment
from .genesys_cloud import GenesysClient
from .services import async_setup_services

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions (they act on the entry they are given)."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: GenesysAgentConfigEntry) -> bool:
    """Start the agent's realtime session."""
    environment = entry_environment(entry.data)
    with environment_context(environment):
        implementation = await async_get_config_entry_implementation(hass, entry)
    oauth_session = OAuth2Session(hass, entry, implementation)
    client = GenesysClient(
        async_get_clientsession(hass), environment, ConfigEntryAuth(oauth_session)
    )
    coordinator = GenesysAgentCoordinator(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: GenesysAgentConfigEntry) -> bool:
    """Stop the session; the coordinator's shutdown closes the websocket."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
