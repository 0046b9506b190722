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

# The OAuth scopes commands need: a 403 on a command raises a repair naming its scope.
CONVERSATIONS_SCOPE: Final = "conversations"
PRESENCE_SCOPE: Final = "presence"
SCOPES_URL: Final = "https://github.com/genesys-agent/genesys_agent#install"
