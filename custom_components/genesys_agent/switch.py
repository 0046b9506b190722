"""Switches of the agent's call: microphone mute (on = muted) and hold (on = on hold)."""

from collections.abc import Mapping
from typing import Any, override

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import GenesysAgentConfigEntry, GenesysAgentCoordinator
from .entity import GenesysAgentEntity
from .genesys_cloud import CallState
from .genesys_cloud.commands import MUTE

# Commands are serialized by the session itself; one at a time here too.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GenesysAgentConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the mute and hold switches."""
    coordinator = entry.runtime_data
    async_add_entities([GenesysMuteSwitch(coordinator), GenesysHoldSwitch(coordinator)])


class GenesysMuteSwitch(GenesysAgentEntity, SwitchEntity):
    """Mutes the agent's own participant on the live call, server-side.

    The switch's state is what Genesys confirms, never a wish: an agent who sees "muted" can trust
    that the customer no longer hears them. The frontend moves its toggle at once by itself; a
    press Genesys has not confirmed within about a second shows as ``pending`` (and the toggle
    falls back to the truth meanwhile); a refused press writes the state again at once, so the
    toggle shows the truth without waiting for the frontend's own two-second fallback.
    """

    def __init__(self, coordinator: GenesysAgentCoordinator) -> None:
        """Create the switch."""
        super().__init__(coordinator, SwitchEntityDescription(key="microphone_muted"))

    @property
    @override
    def is_on(self) -> bool:
        """Muted, as Genesys last confirmed it."""
        return self.coordinator.data.agent_state.muted

    @property
    @override
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """Whether a press is still waiting for Genesys to confirm it."""
        return {"pending": MUTE in self.coordinator.data.pending_commands}

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Mute the live call."""
        await self._async_set_muted(True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Unmute the live call."""
        await self._async_set_muted(False)

    async def _async_set_muted(self, muted: bool) -> None:
        try:
            await self.coordinator.async_set_mute(muted)
        except HomeAssistantError:
            self._async_write_state_again()
            raise

    @callback
    def _async_write_state_again(self) -> None:
        """Write the unchanged state as a new one, so the frontend drops its optimistic toggle."""
        self._attr_force_update = True
        try:
            self.async_write_ha_state()
        finally:
            self._attr_force_update = False


class GenesysHoldSwitch(GenesysAgentEntity, SwitchEntity):
    """Holds the agent's connected call: on = on hold, as Genesys reports it."""

    def __init__(self, coordinator: GenesysAgentCoordinator) -> None:
        """Create the switch."""
        super().__init__(coordinator, SwitchEntityDescription(key="hold"))

    @property
    @override
    def is_on(self) -> bool:
        """On hold, once Genesys says so."""
        return self.coordinator.data.agent_state.call_state is CallState.ON_HOLD

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Hold the call."""
        await self.coordinator.async_set_held(True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Resume the call."""
        await self.coordinator.async_set_held(False)
