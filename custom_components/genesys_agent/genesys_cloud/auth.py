"""How the client gets its access token: asked of the caller, so it can refresh it its way."""

from abc import ABC, abstractmethod


class AbstractAuth(ABC):
    """Supplies bearer tokens (Home Assistant's OAuth2 session does, in the integration).

    Both methods raise ``GenesysAuthError`` when the login is refused for good (the user must
    sign in again) and ``GenesysConnectionError`` when the token service cannot be reached.
    """

    @abstractmethod
    async def async_get_access_token(self) -> str:
        """Return a valid access token, refreshing it first when it is about to expire."""

    @abstractmethod
    async def async_refresh_access_token(self) -> str:
        """Refresh now and return the new token: Genesys refused the current one (401)."""

    def access_token_expires_at(self) -> float | None:
        """When the current access token expires (Unix time); None when unknown.

        Knowing it, the session refreshes the token shortly before, so a revoked login is
        noticed within the token's lifetime rather than at the next request.
        """
        return None
