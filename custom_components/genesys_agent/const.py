"""Constants for the Genesys Cloud Agent integration."""

import logging
from typing import Final

DOMAIN: Final = "genesys_agent"
LOGGER: Final = logging.getLogger(__package__)

CONF_REGION: Final = "region"
CONF_BASE_URL: Final = "base_url"
# Entry options
CONF_SHOW_CALLER_NUMBER: Final = "show_caller_number"

# The region key of an environment given by a base URL (the emulator, private deployments).
CUSTOM_REGION: Final = "custom"

# Redirect URI a user registers on their Genesys Cloud OAuth client.
