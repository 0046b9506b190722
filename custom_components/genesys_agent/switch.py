"""Switches of the agent's call: microphone mute (on = muted) and hold (on = on hold)."""

from typing import Any, override

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import GenesysAgentConfigEntry, GenesysAgentCoordinator, translated
from .entity import GenesysAgentEntity
from .genesys_cloud import CallState

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

    The switch shows the wanted state at once (optimistic) while Genesys confirms it by event;
    if Genesys refuses or never confirms, the error reaches the user and the switch falls back
    to the state Genesys reports.
    """

    def __init__(self, coordinator: GenesysAgentCoordinator) -> None:
        """Create the switch."""
        super().__init__(coordinator, SwitchEntityDescription(key="microphone_muted"))
        self._wanted: bool | None = None

    @property
    @override
    def is_on(self) -> bool:
        """Muted: the wanted state while a press is being confirmed, else Genesys' flag."""
        if self._wanted is not None:
            return self._wanted
        return bool(self.coordinator.data.agent_state.muted)

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Mute the live call."""
        await self._async_set_muted(True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Unmute the live call."""
        await self._async_set_muted(False)

    async def _async_set_muted(self, muted: bool) -> None:
        # Refuse before showing anything: with no call the switch must not flicker on.
        if not self.coordinator.data.agent_state.can_mute:
            raise translated(ServiceValidationError, "no_active_call")
        self._wanted = muted
        self.async_write_ha_state()
        try:
            await self.coordinator.async_set_mute(muted)
        finally:
            self._wanted = None
            self.async_write_ha_state()


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
