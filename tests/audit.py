"""What the integration asked the emulator to change, and the agent's leg as the emulator has it."""

from typing import Any

from genesys_emulator import Emulator
from genesys_emulator.state import AuditRecord


def call_control_requests(emulator: Emulator) -> list[AuditRecord]:
    """Call-control and presence requests sent through the API (reads and channels excluded)."""
    return [
        r
        for r in emulator.audit
        if r.source == "api" and r.method in ("PATCH", "POST") and "/notifications/" not in r.path
    ]


def user_leg(emulator: Emulator, conversation_id: str) -> dict[str, Any]:
    """The user's own participant (``agent`` or, on a direct call, ``user``)."""
    conversation = next(
        c for c in emulator.control.state()["conversations"] if c["id"] == conversation_id
    )
    leg: dict[str, Any] = next(
        p for p in conversation["participants"] if p["purpose"] in ("agent", "user")
    )
    return leg
