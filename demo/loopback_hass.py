"""``python -m demo.loopback_hass ARGS``: Home Assistant's own command line (``hass ARGS``), with
every WebRTC packet of its process kept on 127.0.0.1 (``genesys_emulator.loopback_ice``).

The demo's softphone (aiortc) would otherwise gather ICE candidates on every interface of the
machine. The pin is made here, before Home Assistant imports anything, rather than by a demo
integration in the config folder: it then holds whatever order Home Assistant sets integrations
up in, after a restart from its UI (the demo starts this again), and without a line of YAML a user
could remove; unlike a ``sitecustomize`` on the path, it hides no other. Nothing here ships.
"""

from pathlib import Path
import sys

from homeassistant.__main__ import main as hass

from genesys_emulator.loopback_ice import pin_ice_to_loopback

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Pin ICE, then run Home Assistant with this process's arguments; its exit code."""
    pin_ice_to_loopback()
    # ``-m`` put the repository on the path, whose custom_components package (a regular one)
    # would hide the config folder's: Home Assistant must find its integrations there only.
    sys.path[:] = [entry for entry in sys.path if entry not in ("", str(ROOT))]
    return hass()


if __name__ == "__main__":
    sys.exit(main())
