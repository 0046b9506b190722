"""The agent's desk: the demo's Lovelace dashboard, one sections view.

Each section is a list of cards, so a new entity is one more card appended to a section. The
call-control cards and the softphone's carry a ``visibility`` condition on their entity: the
frontend treats an entity that does not exist as ``unavailable``, so a card appears once its
platform is built (the softphone's, while the softphone is on) and needs no edit here.
"""

from typing import Any

DASHBOARD = "genesys-agent"
TITLE = "Genesys Agent"


def _heading(text: str, icon: str) -> dict[str, Any]:
    return {"type": "heading", "heading": text, "icon": icon}


def _control(entity_id: str, name: str) -> dict[str, Any]:
    """A tile shown only while its entity exists (and is available); a button presses on a tap,
    a select gets its options on the card, full width."""
    card: dict[str, Any] = {"type": "tile", "entity": entity_id, "name": name}
    if entity_id.startswith("button."):
        # A tap presses the button (a tile's own default is the more-info dialog).
        card["tap_action"] = {
            "action": "perform-action",
            "perform_action": "button.press",
            "target": {"entity_id": entity_id},
        }
    if entity_id.startswith("select."):
        card |= {"features": [{"type": "select-options"}], "grid_options": {"columns": "full"}}
    condition = {"condition": "state", "entity": entity_id, "state_not": "unavailable"}
    return {**card, "visibility": [condition]}


def mute_section(agent: str) -> dict[str, Any]:
    """The large mute control, what Genesys says about the mute, and the softphone's audio."""
    return {
        "type": "grid",
        "cards": [
            _heading("Microphone", "mdi:microphone"),
            {
                "type": "button",
                "entity": f"switch.{agent}_microphone_muted",
                "name": "Mute",
                "icon": "mdi:microphone-off",
                "show_state": True,
                "icon_height": "96px",
                "tap_action": {"action": "toggle"},
                "hold_action": {"action": "more-info"},
                "grid_options": {"columns": "full", "rows": 4},
            },
            {
                "type": "tile",
                "entity": f"binary_sensor.{agent}_remote_mute",
                "name": "Muted in Genesys",
                "grid_options": {"columns": 6},
            },
            {
                "type": "tile",
                "entity": f"binary_sensor.{agent}_remote_mute",
                "name": "Mute changed by",
                "state_content": "changed_by",
                "icon": "mdi:account-voice",
                "grid_options": {"columns": 6},
            },
            # Where the call's audio is: on Home Assistant's softphone, or on another client.
            {
                **_control(f"sensor.{agent}_softphone_media", "Softphone"),
                "grid_options": {"columns": "full"},
            },
        ],
    }


def call_section(agent: str) -> dict[str, Any]:
    """The call: its state, since when it is connected, its queue and direction."""
    call = f"sensor.{agent}_call_state"
    return {
        "type": "grid",
        "cards": [
            _heading("Call", "mdi:phone"),
            {
                "type": "tile",
                "entity": call,
                "name": "Call",
                # The state and how long it has lasted (ringing for, on hold for, ...).
                "state_content": ["state", "last_changed"],
                "grid_options": {"columns": "full"},
            },
            {
                "type": "entities",
                "entities": [
                    {
                        # Only while there is a connection to time (null would read as 1970).
                        "type": "conditional",
                        "conditions": [{"entity": call, "state": ["connected", "on_hold"]}],
                        "row": {
                            "type": "attribute",
                            "entity": call,
                            "attribute": "connected_since",
                            "name": "Connected since",
                            "icon": "mdi:timer-outline",
                            "time_format": "relative",
                        },
                    },
                    {
                        "type": "attribute",
                        "entity": call,
                        "attribute": "queue",
                        "name": "Queue",
                        "icon": "mdi:account-group",
                    },
                    {
                        "type": "attribute",
                        "entity": call,
                        "attribute": "direction",
                        "name": "Direction",
                        "icon": "mdi:phone-in-talk",
                    },
                    {"entity": f"binary_sensor.{agent}_on_call", "name": "On a call"},
                ],
            },
            # Call control, built in parallel: each card appears once its entity exists.
            _control(f"button.{agent}_answer", "Answer"),
            _control(f"button.{agent}_hang_up", "Hang up"),
            _control(f"switch.{agent}_hold", "Hold"),
            _control(f"select.{agent}_wrap_up_code", "Wrap-up code"),
            _control(f"button.{agent}_skip_wrap_up", "Skip wrap-up"),
        ],
    }


def agent_section(agent: str) -> dict[str, Any]:
    """Presence and routing, and the calls of the day."""
    return {
        "type": "grid",
        "cards": [
            _heading("Agent", "mdi:headset"),
            {"type": "tile", "entity": f"sensor.{agent}_presence", "name": "Presence"},
            {"type": "tile", "entity": f"sensor.{agent}_routing_status", "name": "Routing"},
            _control(f"select.{agent}_presence", "Set presence"),
            {
                "type": "logbook",
                "target": {
                    "entity_id": [
                        f"sensor.{agent}_call_state",
                        f"switch.{agent}_microphone_muted",
                        f"event.{agent}_call",
                    ]
                },
                "hours_to_show": 24,
                "grid_options": {"columns": "full", "rows": 5},
            },
        ],
    }


def dashboard_config(agent: str) -> dict[str, Any]:
    """The whole dashboard for the agent whose entity ids start with ``agent``."""
    return {
        "title": TITLE,
        "views": [
            {
                "title": "Desk",
                "path": "desk",
                "type": "sections",
                "max_columns": 3,
                "sections": [mute_section(agent), call_section(agent), agent_section(agent)],
            }
        ],
    }
