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
    snapshot = entry.runtime_data.data
    softphone = entry.runtime_data.softphone
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
                        }
                        for leg in conversation.participants
                    ],
                }
                for conversation in snapshot.conversations.values()
            ],
        },
    }
