"""Sensors: call state, presence and routing status."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_SHOW_CALLER_NUMBER
from .coordinator import GenesysAgentConfigEntry, GenesysAgentCoordinator
from .entity import GenesysAgentEntity
from .genesys_cloud import CallState, PresenceState, RoutingState, SessionSnapshot
from .genesys_cloud.softphone.phone import MediaState

# Read-only; the coordinator pushes every change.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class GenesysSensorDescription(SensorEntityDescription):
    """How a sensor reads its value (and attributes) from the session."""

    value_fn: Callable[[SessionSnapshot], str | None]
    attributes_fn: Callable[[GenesysAgentCoordinator], Mapping[str, Any]] | None = None


def call_attributes(coordinator: GenesysAgentCoordinator) -> Mapping[str, Any]:
    """Conversation, direction, queue and start; the remote number only if the user allows."""
    state = coordinator.data.agent_state
    attributes: dict[str, Any] = {
        "conversation_id": state.conversation_id,
        "direction": state.direction.value if state.direction else None,
        "queue": state.queue_name,
        "connected_since": state.connected_since.isoformat() if state.connected_since else None,
    }
    if coordinator.config_entry.options.get(CONF_SHOW_CALLER_NUMBER, False):
        attributes["remote_number"] = phone_number(state.remote_address)
    return attributes


def phone_number(address: str | None) -> str | None:
    """The number a person reads: Genesys' ``tel:+1…`` URI without its scheme."""
    if address is None:
        return None
    scheme, colon, rest = address.partition(":")
    return rest if colon and scheme.lower() == "tel" else address


SENSORS: tuple[GenesysSensorDescription, ...] = (
    GenesysSensorDescription(
        key="call_state",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in CallState],
        value_fn=lambda snapshot: snapshot.agent_state.call_state.value,
        attributes_fn=call_attributes,
    ),
    GenesysSensorDescription(
        key="presence",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in PresenceState],
        value_fn=lambda snapshot: snapshot.presence.value if snapshot.presence else None,
    ),
    GenesysSensorDescription(
        key="routing_status",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in RoutingState],
        value_fn=lambda snapshot: (
            snapshot.routing_status.value if snapshot.routing_status else None
        ),
    ),
)

# The softphone's media: idle, connecting, connected or failed (genesys_cloud.softphone.phone).
SOFTPHONE_MEDIA = SensorEntityDescription(
    key="softphone_media",
    device_class=SensorDeviceClass.ENUM,
    options=[state.value for state in MediaState],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GenesysAgentConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors (the softphone's media state only while the softphone runs)."""
    coordinator = entry.runtime_data
    async_add_entities(GenesysSensor(coordinator, description) for description in SENSORS)
    if coordinator.softphone is not None:
        async_add_entities([GenesysSoftphoneSensor(coordinator, SOFTPHONE_MEDIA)])


class GenesysSensor(GenesysAgentEntity, SensorEntity):
    """A sensor whose value comes from the session snapshot."""

    entity_description: GenesysSensorDescription

    @property
    @override
    def native_value(self) -> str | None:
        """The current value."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    @override
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """The description's attributes, if it has any."""
        attributes_fn = self.entity_description.attributes_fn
        return attributes_fn(self.coordinator) if attributes_fn else None


class GenesysSoftphoneSensor(GenesysAgentEntity, SensorEntity):
    """The softphone's media state; the phone pushes every change through the coordinator."""

    @property
    @override
    def native_value(self) -> str | None:
        """The media state."""
        phone = self.coordinator.softphone
        return phone.media_state.value if phone is not None else None
