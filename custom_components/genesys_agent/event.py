"""The call event entity: ringing, answered, ended, muted, unmuted, for automations."""

from typing import override

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import GenesysAgentConfigEntry, GenesysAgentCoordinator
from .entity import GenesysAgentEntity
from .genesys_cloud import CallEventType, diff_call_events

# Read-only; the coordinator pushes every change.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GenesysAgentConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the call event entity."""
    async_add_entities([CallEventEntity(entry.runtime_data)])


class CallEventEntity(GenesysAgentEntity, EventEntity):
    """Fires an event for each change of the agent's call, as the pushes arrive."""

    def __init__(self, coordinator: GenesysAgentCoordinator) -> None:
        """Start from the state at setup: a call already in progress fires nothing."""
        super().__init__(coordinator, EventEntityDescription(key="call_event"))
        self._attr_event_types = [event_type.value for event_type in CallEventType]
        self._last_state = coordinator.data.agent_state

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Fire what changed since the previous snapshot, each event written on its own."""
        state = self.coordinator.data.agent_state
        events = diff_call_events(self._last_state, state)
        self._last_state = state
        for event in events:
            self._trigger_event(
                event.type.value,
                {"conversation_id": event.conversation_id},
            )
            super()._handle_coordinator_update()
        if not events:
            super()._handle_coordinator_update()  # availability may have changed
