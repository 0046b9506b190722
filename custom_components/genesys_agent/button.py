"""Buttons for the agent's call: answer, hang up, skip wrap-up.

Each is available only while it can act, so a dashboard shows what is possible now.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import override

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import GenesysAgentConfigEntry, GenesysAgentCoordinator
from .entity import GenesysAgentEntity
from .genesys_cloud import CallState, SessionSnapshot

# Commands are serialized by the session; one press at a time here too.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class GenesysButtonDescription(ButtonEntityDescription):
    """When a button can act, and what a press does."""

    can_press: Callable[[SessionSnapshot], bool]
    press_fn: Callable[[GenesysAgentCoordinator], Awaitable[None]]


def _in(*states: CallState) -> Callable[[SessionSnapshot], bool]:
    return lambda snapshot: snapshot.agent_state.call_state in states


def _can_skip_wrapup(snapshot: SessionSnapshot) -> bool:
    leg = snapshot.agent_leg
    return (
        snapshot.agent_state.call_state is CallState.WRAP_UP
        and leg is not None
        and leg.wrapup_prompt != "mandatory"
    )


BUTTONS: tuple[GenesysButtonDescription, ...] = (
    GenesysButtonDescription(
        key="answer",
        can_press=_in(CallState.RINGING),
        press_fn=lambda coordinator: coordinator.async_answer(),
    ),
    GenesysButtonDescription(
        key="hang_up",
        can_press=_in(CallState.CONNECTED, CallState.ON_HOLD, CallState.DIALING),
        press_fn=lambda coordinator: coordinator.async_hang_up(),
    ),
    GenesysButtonDescription(
        key="skip_wrap_up",
        can_press=_can_skip_wrapup,
        press_fn=lambda coordinator: coordinator.async_skip_wrapup(),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GenesysAgentConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the call buttons."""
    async_add_entities(GenesysButton(entry.runtime_data, description) for description in BUTTONS)


class GenesysButton(GenesysAgentEntity, ButtonEntity):
    """One action on the agent's call."""

    entity_description: GenesysButtonDescription

    @property
    @override
    def available(self) -> bool:
        """Available only while the press can act."""
        return super().available and self.entity_description.can_press(self.coordinator.data)

    @override
    async def async_press(self) -> None:
        """Act on the call; a refusal reaches the user as a translated error."""
        await self.entity_description.press_fn(self.coordinator)
