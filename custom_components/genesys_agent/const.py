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

# Entry options of the WebRTC softphone (Home Assistant as the agent's Genesys phone).
CONF_SOFTPHONE: Final = "softphone"
CONF_SOFTPHONE_CAPTURE: Final = "softphone_capture"
CONF_SOFTPHONE_PLAYBACK: Final = "softphone_playback"
CONF_SOFTPHONE_ANSWER: Final = "softphone_answer"
# Capture values that are no device: a test tone, or silence (a host without a microphone).
CAPTURE_TONE: Final = "tone"
CAPTURE_SILENCE: Final = "silence"
# Playback value that plays nothing (the caller's audio is read and dropped).
PLAYBACK_NONE: Final = "none"

# The OAuth scopes commands need: a 403 on a command raises a repair naming its scope.
CONVERSATIONS_SCOPE: Final = "conversations"
PRESENCE_SCOPE: Final = "presence"
SCOPES_URL: Final = "https://github.com/genesys-agent/genesys_agent#install"
