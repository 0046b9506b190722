"""Diagnostics: the session's state, with tokens and personal data left out."""

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant

from .coordinator import GenesysAgentConfigEntry

TO_REDACT = {CONF_TOKEN, "remote_address"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: GenesysAgentConfigEntry
) -> dict[str, Any]:
    """The entry and the live session; participants by an allow-list of non-personal fields."""
    coordinator = entry.runtime_data
    snapshot = coordinator.data
    softphone = coordinator.softphone
    return {
        # ICE state, codec, packets, the source: the phone reports no address and no id.
        "softphone": await softphone.async_diagnostics() if softphone is not None else None,
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
        },
        "session": {
            "connected": snapshot.connected,
            "auth_failed": snapshot.auth_failed,
            "presence": snapshot.presence,
            "presence_definition_id": snapshot.presence_definition_id,
            # The org's presences and the queue's codes are counted, not listed: their labels
            # are the org's own words.
            "presence_definitions": len(coordinator.presence_definitions),
            "wrapup_codes": len(coordinator.wrapup_codes),
            "routing_status": snapshot.routing_status,
            "last_mute_source": snapshot.last_mute_source,
            "agent_state": async_redact_data(asdict(snapshot.agent_state), TO_REDACT),
            "conversations": [
                {
                    "id": conversation.id,
                    "participants": [
                        {
                            "id": leg.id,
                            "purpose": leg.purpose,
                            "state": leg.state,
                            "direction": leg.direction,
                            "muted": leg.muted,
                            "held": leg.held,
                            "wrapup_prompt": leg.wrapup_prompt,
                            "awaits_wrapup": leg.awaits_wrapup,
                        }
                        for leg in conversation.participants
                    ],
                }
                for conversation in snapshot.conversations.values()
            ],
        },
    }
