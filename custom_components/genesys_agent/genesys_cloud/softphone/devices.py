"""The host's ALSA sound devices, read from ``/proc/asound`` (no library, no device opened).

``/proc/asound/cards`` names each card (``" 1 [Headset        ]: USB-Audio - Jabra Evolve"``),
``/proc/asound/pcm`` each of its PCM devices and their directions (``"01-00: USB Audio : USB
Audio : playback 1 : capture 1"``). A device is offered as ``plughw:CARD=<id>,DEV=<n>``:
ALSA's plug layer converts to the 48 kHz stereo the softphone uses, and the card's id, unlike
its number, survives a reboot or a replugged headset.
"""

from dataclasses import dataclass
from pathlib import Path
import re

PROC_ASOUND = Path("/proc/asound")
_CARD = re.compile(r"^\s*(\d+)\s+\[(\S+)\s*\]:\s*(.*?)\s*$")


@dataclass(frozen=True, slots=True)
class AlsaDevice:
    """One PCM device of one card."""

    device: str
    label: str
    playback: bool
    capture: bool


def list_alsa_devices(root: Path = PROC_ASOUND) -> list[AlsaDevice]:
    """Every PCM device the host has (empty without ALSA, e.g. in a container). Blocking I/O."""
    try:
        cards_text = (root / "cards").read_text(encoding="utf-8", errors="replace")
        pcm_text = (root / "pcm").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    cards: dict[int, tuple[str, str]] = {}
    for line in cards_text.splitlines():
        if match := _CARD.match(line):
            number, card_id, description = match.groups()
            name = description.split(" - ", 1)[-1]
            cards[int(number)] = (card_id, name)
    devices = []
    for line in pcm_text.splitlines():
        address, _, rest = line.partition(":")
        card_number, _, device_number = address.strip().partition("-")
        fields = [field.strip() for field in rest.split(":")]
        if not (card_number.isdigit() and device_number.isdigit()) or len(fields) < 2:
            continue
        card = cards.get(int(card_number))
        if card is None:
            continue
        card_id, card_name = card
        devices.append(
            AlsaDevice(
                device=f"plughw:CARD={card_id},DEV={int(device_number)}",
                label=f"{card_name}: {fields[1] or fields[0]}",
                playback=any(f.startswith("playback") for f in fields[2:]),
                capture=any(f.startswith("capture") for f in fields[2:]),
            )
        )
    return devices
