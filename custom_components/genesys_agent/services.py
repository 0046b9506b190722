"""The integration's actions, for what a button cannot say: decline a call, wrap up with a code.

They take the config entry (the agent) they act on (optional with one agent), so they work in
every call state and answer a refused command with its translated reason, where an entity that
is unavailable outside the state it acts in would be skipped without a word.
"""

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.helpers.service import async_get_config_entry
import probatio

from .const import DOMAIN
from .coordinator import GenesysAgentConfigEntry, GenesysAgentCoordinator

ATTR_CODE = "code"
ATTR_NOTES = "notes"
SERVICE_DECLINE = "decline"
SERVICE_SUBMIT_WRAP_UP = "submit_wrap_up"


def _coordinator(call: ServiceCall) -> GenesysAgentCoordinator:
    entry: GenesysAgentConfigEntry = async_get_config_entry(
        call.hass, DOMAIN, call.data.get(ATTR_CONFIG_ENTRY_ID)
    )
    return entry.runtime_data


async def _async_decline(call: ServiceCall) -> None:
    await _coordinator(call).async_decline()


async def _async_submit_wrap_up(call: ServiceCall) -> None:
    await _coordinator(call).async_submit_wrapup(call.data[ATTR_CODE], call.data.get(ATTR_NOTES))


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions once, for every entry."""
    entry = probatio.Optional(ATTR_CONFIG_ENTRY_ID)
    hass.services.async_register(
        DOMAIN, SERVICE_DECLINE, _async_decline, schema=probatio.Schema({entry: str})
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_SUBMIT_WRAP_UP,
        _async_submit_wrap_up,
        schema=probatio.Schema(
            {entry: str, probatio.Required(ATTR_CODE): str, probatio.Optional(ATTR_NOTES): str}
        ),
    )
