"""Binary sensors: the server-side ("remote") mute flag, and whether the agent is on a call."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import GenesysAgentConfigEntry
from .entity import GenesysAgentEntity
from .genesys_cloud import CallState, MuteSource, SessionSnapshot

# Read-only; the coordinator pushes every change.
PARALLEL_UPDATES = 0

ON_CALL_STATES = frozenset({CallState.CONNECTED, CallState.ON_HOLD, CallState.DIALING})


@dataclass(frozen=True, kw_only=True)
class GenesysBinarySensorDescription(BinarySensorEntityDescription):
    """How a binary sensor reads the session snapshot."""

    is_on_fn: Callable[[SessionSnapshot], bool]
    # Whether this integration made the last change, or the desktop or a supervisor did.
    reports_mute_source: bool = False


BINARY_SENSORS = (
    GenesysBinarySensorDescription(
        key="remote_muted",
        is_on_fn=lambda snapshot: snapshot.agent_state.muted,
        reports_mute_source=True,
    ),
    GenesysBinarySensorDescription(
        key="on_call",
        is_on_fn=lambda snapshot: snapshot.agent_state.call_state in ON_CALL_STATES,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GenesysAgentConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors."""
    async_add_entities(
        GenesysBinarySensor(entry.runtime_data, description) for description in BINARY_SENSORS
    )


class GenesysBinarySensor(GenesysAgentEntity, BinarySensorEntity):
    """A binary sensor whose value comes from the session snapshot."""

    entity_description: GenesysBinarySensorDescription

    @property
    @override
    def is_on(self) -> bool:
        """The current value: off, never unknown, when there is no call."""
        return self.entity_description.is_on_fn(self.coordinator.data)

    @property
    @override
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """For the remote mute: who made the last change."""
        if not self.entity_description.reports_mute_source:
            return None
        source: MuteSource | None = self.coordinator.data.last_mute_source
        return {"changed_by": source.value if source else None}
