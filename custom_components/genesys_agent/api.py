"""Tokens for the Genesys Cloud client from Home Assistant's OAuth2 session."""

from typing import cast, override

from aiohttp import ClientError
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_TOKEN
from homeassistant.exceptions import OAuth2TokenRequestBaseError, OAuth2TokenRequestReauthError
from homeassistant.helpers.config_entry_oauth2_flow import OAuth2Session

from .genesys_cloud import AbstractAuth, GenesysAuthError, GenesysConnectionError


class ConfigEntryAuth(AbstractAuth):
    """Hand the client the entry's access token, refreshing it through Home Assistant."""

    def __init__(self, oauth_session: OAuth2Session) -> None:
        """Wrap the entry's OAuth2 session."""
        self._oauth_session = oauth_session

    @override
    async def async_get_access_token(self) -> str:
        """Return a valid access token, refreshed when it is about to expire."""
        try:
            await self._oauth_session.async_ensure_token_valid()
        except OAuth2TokenRequestReauthError as err:
            raise GenesysAuthError("The refresh token was refused") from err
        except (OAuth2TokenRequestBaseError, ClientError, TimeoutError) as err:
            raise GenesysConnectionError("The token refresh failed") from err
        return cast(str, self._oauth_session.token[CONF_ACCESS_TOKEN])

    @override
    def access_token_expires_at(self) -> float | None:
        """Home Assistant's record of when the access token expires."""
        expires_at = self._oauth_session.token.get("expires_at")
        return float(expires_at) if isinstance(expires_at, int | float) else None

    @override
    async def async_refresh_access_token(self) -> str:
        """Refresh now: Genesys refused the current token (expired early or revoked)."""
        session = self._oauth_session
        entry = session.config_entry
        try:
            token = await session.implementation.async_refresh_token(session.token)
        except OAuth2TokenRequestReauthError as err:
            entry.async_start_reauth(session.hass)
            raise GenesysAuthError("The refresh token was refused") from err
        except (OAuth2TokenRequestBaseError, ClientError, TimeoutError) as err:
            raise GenesysConnectionError("The token refresh failed") from err
        session.hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_TOKEN: token}
        )
        return cast(str, token[CONF_ACCESS_TOKEN])
