"""A local emulator of the parts of Genesys Cloud that genesys_agent uses.

``Emulator(EmulatorConfig(...))``, ``await emulator.start()``, then point a client at
``emulator.base_url``; ``emulator.control`` drives calls and faults; ``await emulator.stop()``.
"""

from .config import EmulatorConfig
from .server import Emulator

__all__ = ["Emulator", "EmulatorConfig"]
