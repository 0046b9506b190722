"""Constants for the Genesys Cloud Agent integration."""

from typing import Final

DOMAIN: Final = "genesys_agent"
