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
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import http
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import (
    AUTH_CALLBACK_PATH,
    HEADER_FRONTEND_BASE,
    MY_AUTH_CALLBACK_PATH,
    LocalOAuth2ImplementationWithPkce,
)
from homeassistant.helpers.network import NoURLAvailableError, get_url

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


@callback
def async_redirect_uri_to_register(hass: HomeAssistant) -> str:
    """The redirect URI this instance will send Genesys, for the user to allow in the OAuth client.

    The choice is ``config_entry_oauth2_flow.async_get_redirect_uri``'s: My Home Assistant's when
    the ``my`` integration is loaded, else the URL the browser uses (the frontend's
    ``HA-Frontend-Base`` header on flow requests) and ``/auth/external/callback``. The credentials
    dialog asks over the websocket, which carries no such header but the page's ``Origin``.
    """
    if "my" in hass.config.components:
        return MY_AUTH_CALLBACK_PATH
    if (request := http.current_request.get()) is not None and (
        base := request.headers.get(HEADER_FRONTEND_BASE) or request.headers.get("Origin")
    ):
        return f"{base.rstrip('/')}{AUTH_CALLBACK_PATH}"
    try:
        return f"{get_url(hass, allow_cloud=False)}{AUTH_CALLBACK_PATH}"
    except NoURLAvailableError:
        return f"<your Home Assistant URL>{AUTH_CALLBACK_PATH}"


async def async_get_description_placeholders(hass: HomeAssistant) -> dict[str, str]:
    """Placeholders for the application credentials dialog."""
    return {
        "redirect_url": async_redirect_uri_to_register(hass),
        "oauth_client_url": "https://help.mypurecloud.com/articles/create-an-oauth-client/",
    }
