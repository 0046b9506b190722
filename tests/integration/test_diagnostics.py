"""Diagnostics never carry tokens or personal data."""

import json

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from genesys_emulator import Emulator

from .conftest import wait_for


async def test_diagnostics_redact_tokens_names_and_numbers(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    integration: ConfigEntry,
    emulator: Emulator,
) -> None:
    """A connected call's diagnostics show its state but no secret and no personal data."""
    conversation_id = await emulator.control.start_inbound_call(ani="tel:+13175550100")
    await emulator.control.answer(conversation_id)
    await wait_for(
        hass, lambda: integration.runtime_data.data.agent_state.conversation_id is not None
    )

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, integration)

    text = json.dumps(diagnostics)
    token = integration.data["token"]
    for secret in (
        token["access_token"],
        token["refresh_token"],
        emulator.demo_agent.email,
        emulator.demo_agent.name,
        "+13175550100",
    ):
        assert secret not in text
    assert conversation_id in text
    assert diagnostics["session"]["connected"] is True
    assert diagnostics["session"]["presence_definitions"] > 10
