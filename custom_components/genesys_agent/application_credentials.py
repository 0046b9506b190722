"""Application credentials: Genesys Cloud's login host depends on the entry's region.

``AuthorizationServer`` carries no per-entry context, so, as core's ``onedrive_for_business``
does, the region's environment travels in a ContextVar set around the flow's implementation step
and around setup. Implementations are built anew on every lookup, so each one captures the
environment in force when it was made.
"""

import base64
from collections.abc import Generator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast, override

from homeassistant.components.application_credentials import ClientCredential
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import LocalOAuth2ImplementationWithPkce

from .const import MY_REDIRECT_URL
from .genesys_cloud import REGIONS, Environment

_environment_context: ContextVar[Environment] = ContextVar("genesys_agent_environment")


@contextmanager
def environment_context(environment: Environment) -> Generator[None]:
    """Make the OAuth implementations built inside this block use ``environment``."""
    token = _environment_context.set(environment)
    try:
        yield
    finally:
        _environment_context.reset(token)


class GenesysOAuth2Implementation(LocalOAuth2ImplementationWithPkce):
    """Authorization code with PKCE against one region's login host.

    Genesys' token endpoint wants a confidential client's id and secret as HTTP Basic
    credentials; a PKCE-only client (no secret) sends its id in the form instead.
    """

    def __init__(
        self, hass: HomeAssistant, auth_domain: str, credential: ClientCredential, env: Environment
    ) -> None:
        """Bind the credential to the environment's login endpoints."""
        super().__init__(
            hass,
            auth_domain,
            credential.client_id,
            env.authorize_url,
            env.token_url,
            credential.client_secret,
        )
        self.environment = env

    @override
    async def _token_request(self, data: dict[str, Any]) -> dict[str, Any]:
        """Post a token request the way Genesys' login service expects it."""
        headers: dict[str, str] = {}
        if self.client_secret:
            pair = f"{self.client_id}:{self.client_secret}".encode()
            headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
        else:
            data = {**data, "client_id": self.client_id}
        session = async_get_clientsession(self.hass)
        # A ClientResponseError raised here is mapped by the base class (refresh) or the
        # flow (code exchange) onto HA's token errors: 4xx means reauth, 5xx/429 transient.
        async with session.post(self.token_url, data=data, headers=headers) as resp:
            resp.raise_for_status()
            return cast(dict[str, Any], await resp.json())


async def async_get_auth_implementation(
    hass: HomeAssistant, auth_domain: str, credential: ClientCredential
) -> GenesysOAuth2Implementation:
    """Return an implementation for the environment in context (US East by default)."""
    environment = _environment_context.get(REGIONS["us_east_1"])
    return GenesysOAuth2Implementation(hass, auth_domain, credential, environment)


async def async_get_description_placeholders(hass: HomeAssistant) -> dict[str, str]:
    """Placeholders for the application credentials dialog."""
    return {
        "redirect_url": MY_REDIRECT_URL,
        "oauth_client_url": "https://help.mypurecloud.com/articles/create-an-oauth-client/",
    }
