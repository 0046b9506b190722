"""The base entity: one service device per agent."""

from typing import override

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import GenesysAgentCoordinator
from .genesys_cloud import CALLS_TOPIC, PRESENCE_TOPIC, ROUTING_STATUS_TOPIC

# The notifications each entity's state comes from; every other entity follows the calls.
_TOPIC_BY_KEY = {"presence": PRESENCE_TOPIC, "routing_status": ROUTING_STATUS_TOPIC}


class GenesysAgentEntity(CoordinatorEntity[GenesysAgentCoordinator]):
    """An entity of the agent's device, available while the realtime session is up.

    Also only while Genesys sends the notifications its state comes from: a state nobody pushes
    could be stale.
    """

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: GenesysAgentCoordinator, description: EntityDescription
    ) -> None:
        """Name the entity by its key (also its translation key); tie it to the agent's device."""
        super().__init__(coordinator)
        agent = coordinator.agent
        self.entity_description = description
        self._attr_translation_key = description.key
        self._attr_unique_id = f"{agent.id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, agent.id)},
            name=agent.name or "Genesys Cloud agent",
            manufacturer="Genesys",
            model="Genesys Cloud agent",
            entry_type=DeviceEntryType.SERVICE,
        )
        self._last_written: tuple[object, ...] | None = None
        self._topic = _TOPIC_BY_KEY.get(description.key, CALLS_TOPIC)

    @property
    def available(self) -> bool:
        """Unavailable while the websocket is down or its topic refused: the state may be stale."""
        data = self.coordinator.data
        return super().available and data.connected and data.permits(self._topic)

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Write the state only when what this entity shows changed: floods of events stay cheap."""
        # Capabilities too: a select's options change with the org's presences.
        shown = (
            self.available,
            self.state,
            self.capability_attributes,
            self.extra_state_attributes,
        )
        if shown != self._last_written:
            self._last_written = shown
            self.async_write_ha_state()
