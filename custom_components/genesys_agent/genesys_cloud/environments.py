"""Genesys Cloud's regions and their hosts, plus environments given by a base URL."""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Environment:
    """Where one Genesys Cloud environment's REST API and login service live."""

    key: str
    name: str
    api_url: str
    login_url: str

    @property
    def authorize_url(self) -> str:
        """The browser login page (authorization code grant)."""
        return f"{self.login_url}/oauth/authorize"

    @property
    def token_url(self) -> str:
        """The token endpoint (every grant)."""
        return f"{self.login_url}/oauth/token"

    @property
    def streaming_url(self) -> str:
        """The streaming (XMPP over websocket) service: ``streaming.`` beside ``api.``.

        A custom base URL (the emulator) serves it itself, over ws or wss as its scheme says.
        """
        if self.api_url.startswith("https://api."):
            return self.api_url.replace("https://api.", "wss://streaming.", 1)
        return "ws" + self.api_url.removeprefix("http")


# The SDK's PureCloudRegionHosts keys and their domains.
_REGION_DOMAINS = {
    "us_east_1": "mypurecloud.com",
    "us_east_2": "use2.us-gov-pure.cloud",
    "us_west_2": "usw2.pure.cloud",
    "ca_central_1": "cac1.pure.cloud",
    "sa_east_1": "sae1.pure.cloud",
    "mx_central_1": "mxc1.pure.cloud",
    "eu_west_1": "mypurecloud.ie",
    "eu_west_2": "euw2.pure.cloud",
    "eu_central_1": "mypurecloud.de",
    "eu_central_2": "euc2.pure.cloud",
    "eusc_de_east_1": "edee1.eusc-pure.cloud",
    "me_central_1": "mec1.pure.cloud",
    "ap_south_1": "aps1.pure.cloud",
    "ap_southeast_1": "apse1.pure.cloud",
    "ap_southeast_2": "mypurecloud.com.au",
    "ap_northeast_1": "mypurecloud.jp",
    "ap_northeast_2": "apne2.pure.cloud",
    "ap_northeast_3": "apne3.pure.cloud",
}

REGIONS: Mapping[str, Environment] = MappingProxyType(
    {
        key: Environment(key, domain, f"https://api.{domain}", f"https://login.{domain}")
        for key, domain in _REGION_DOMAINS.items()
    }
)


def custom_environment(base_url: str) -> Environment:
    """An environment serving the API at ``base_url`` and the login under ``/login``."""
    base = base_url.rstrip("/")
    return Environment("custom", base, base, f"{base}/login")
