"""Selects: the agent's presence, and the wrap-up code of the call just ended.

Presence options are the org's active definitions: each system presence (translated, "On
Queue" included) followed by the org's secondary presences under it, shown by their own labels
in Home Assistant's language (else US English). Secondary labels are the org's words and are
shown as they are.
"""

from typing import override

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import GenesysAgentConfigEntry, GenesysAgentCoordinator
from .entity import GenesysAgentEntity
from .genesys_cloud import PresenceDefinition, PresenceState

# Commands are serialized by the session; one at a time here too.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GenesysAgentConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the presence and wrap-up code selects."""
    coordinator = entry.runtime_data
    async_add_entities([GenesysPresenceSelect(coordinator), GenesysWrapupCodeSelect(coordinator)])


def presence_options(definitions: tuple[PresenceDefinition, ...], language: str) -> dict[str, str]:
    """Option -> definition id: system presences by key, each followed by its secondaries."""
    order = list(PresenceState)

    def rank(definition: PresenceDefinition) -> tuple[int, bool]:
        system = definition.system_presence
        return (order.index(system) if system else len(order), definition.secondary)

    options: dict[str, str] = {}
    for definition in sorted(definitions, key=rank):
        if definition.deactivated or definition.system_presence is None:
            continue
        if definition.secondary:
            option = definition.label(language) or definition.id
            if option in options:
                option = f"{option} ({definition.system_presence.value})"
        else:
            option = definition.system_presence.value
        options.setdefault(option, definition.id)
    return options


class GenesysPresenceSelect(GenesysAgentEntity, SelectEntity):
    """The agent's Genesys Cloud presence; a choice sets it, the presence event confirms it."""

    def __init__(self, coordinator: GenesysAgentCoordinator) -> None:
        """Create the select."""
        super().__init__(coordinator, SelectEntityDescription(key="presence"))
        self._options_of: tuple[tuple[PresenceDefinition, ...], str] | None = None
        self._options_cached: dict[str, str] = {}

    @property
    def _options(self) -> dict[str, str]:
        """Computed again only when the org's presences or the language change: every pushed
        event asks for them, and sorting the org's presences each time showed in floods."""
        definitions, language = self.coordinator.presence_definitions, self.hass.config.language
        cached = self._options_of
        if cached is None or cached[0] is not definitions or cached[1] != language:
            self._options_of = (definitions, language)
            self._options_cached = presence_options(definitions, language)
        return self._options_cached

    @property
    @override
    def available(self) -> bool:
        """Available once the org's presences are known."""
        return super().available and bool(self.coordinator.presence_definitions)

    @property
    @override
    def options(self) -> list[str]:
        """The org's presences."""
        return list(self._options)

    @property
    @override
    def current_option(self) -> str | None:
        """The presence Genesys reports."""
        current = self.coordinator.data.presence_definition_id
        return next((o for o, i in self._options.items() if i == current), None)

    @override
    async def async_select_option(self, option: str) -> None:
        """Set the presence."""
        await self.coordinator.async_set_presence(self._options[option])


class GenesysWrapupCodeSelect(GenesysAgentEntity, SelectEntity):
    """The wrap-up code of the call in wrap-up: choosing one submits it and ends wrap-up."""

    def __init__(self, coordinator: GenesysAgentCoordinator) -> None:
        """Create the select."""
        super().__init__(coordinator, SelectEntityDescription(key="wrap_up_code"))

    @property
    def _codes(self) -> dict[str, str]:
        """Name -> id of the codes of the queue whose wrap-up the agent owes now."""
        coordinator = self.coordinator
        leg = coordinator.data.agent_leg
        if leg is None or not leg.awaits_wrapup or leg.queue_id != coordinator.wrapup_codes_queue:
            return {}
        return {code.name: code.id for code in reversed(coordinator.wrapup_codes)}

    @property
    @override
    def available(self) -> bool:
        """Available only in wrap-up, once the queue's codes are known."""
        return super().available and bool(self._codes)

    @property
    @override
    def options(self) -> list[str]:
        """The queue's wrap-up codes."""
        return sorted(self._codes, key=str.casefold)

    @property
    @override
    def current_option(self) -> str | None:
        """None: a code is chosen once, which ends wrap-up."""
        return None

    @override
    async def async_select_option(self, option: str) -> None:
        """Submit the code."""
        await self.coordinator.async_submit_wrapup(self._codes[option])
