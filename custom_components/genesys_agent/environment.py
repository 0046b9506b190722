"""Which Genesys Cloud environment a config entry (or a flow's input) points at."""

from collections.abc import Mapping
from typing import Any

from .const import CONF_BASE_URL, CONF_REGION, CUSTOM_REGION
from .genesys_cloud import REGIONS, Environment, custom_environment


def entry_environment(data: Mapping[str, Any]) -> Environment:
    """Return the region's environment, or the one at a custom base URL."""
    if data[CONF_REGION] == CUSTOM_REGION:
        return custom_environment(data[CONF_BASE_URL])
    return REGIONS[data[CONF_REGION]]
