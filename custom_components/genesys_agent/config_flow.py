"""Config flow: pick the Genesys Cloud region, then log in with OAuth2 (code + PKCE)."""

from collections.abc import Mapping
import logging
from typing import Any, override

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_TOKEN
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import AbstractOAuth2FlowHandler
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio as vol

from .application_credentials import async_redirect_uri_to_register, environment_context
from .const import (
    CONF_BASE_URL,
    CONF_REGION,
    CONF_SHOW_CALLER_NUMBER,
    CUSTOM_REGION,
    DOMAIN,
    LOGGER,
)
from .environment import entry_environment
from .genesys_cloud import (
    REGIONS,
    AbstractAuth,
    Agent,
    GenesysAuthError,
    GenesysClient,
    GenesysError,
    GenesysForbiddenError,
)
from .softphone import async_options_schema

# The folded form section holding the custom base URL.
SECTION_ADVANCED = "advanced"


class _TokenAuth(AbstractAuth):
    """The token the login just produced; there is nothing to refresh yet."""

    def __init__(self, access_token: str) -> None:
        self._access_token = access_token

    @override
    async def async_get_access_token(self) -> str:
        return self._access_token

    @override
    async def async_refresh_access_token(self) -> str:
        raise GenesysAuthError("The new token was refused")


class GenesysAgentFlowHandler(AbstractOAuth2FlowHandler, domain=DOMAIN):
    """Log an agent in to their Genesys Cloud region."""

    DOMAIN = DOMAIN

    def __init__(self) -> None:
        """Start with no region chosen."""
        super().__init__()
        self._environment_data: dict[str, str] = {}

    @property
    @override
    def logger(self) -> logging.Logger:
        """Return the integration's logger."""
        return LOGGER

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlowHandler:
        """Return the options flow."""
        return OptionsFlowHandler()

    @staticmethod
    def _region_schema(defaults: Mapping[str, Any]) -> vol.Schema:
        """Genesys' regions; a custom base URL (emulator, private cloud) in a folded section.

        ``defaults`` are what the entry has: an entry on a custom URL shows that URL, unfolded,
        and no region (none was chosen); a new entry starts on US East.
        """
        base_url = defaults.get(CONF_BASE_URL, "")
        region = defaults.get(CONF_REGION, "us_east_1")
        region_default = {"default": region} if region in REGIONS else {}
        return vol.Schema(
            {
                vol.Optional(CONF_REGION, **region_default): SelectSelector(
                    SelectSelectorConfig(
                        options=list(REGIONS),
                        translation_key=CONF_REGION,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Required(SECTION_ADVANCED): section(
                    vol.Schema(
                        {
                            vol.Optional(CONF_BASE_URL, default=base_url): TextSelector(
                                TextSelectorConfig(type=TextSelectorType.URL)
                            )
                        }
                    ),
                    {"collapsed": not base_url},
                ),
            }
        )

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the region, then send the agent to its login page."""
        return await self._async_step_region("user", user_input, {})

    async def _async_step_region(
        self, step_id: str, user_input: dict[str, Any] | None, defaults: Mapping[str, Any]
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            base_url = user_input.get(SECTION_ADVANCED, {}).get(CONF_BASE_URL, "").strip()
            if not base_url and user_input.get(CONF_REGION) not in REGIONS:
                errors["base"] = "region_required"
            elif not base_url:
                self._environment_data = {CONF_REGION: user_input[CONF_REGION]}
            elif base_url.startswith(("http://", "https://")):
                self._environment_data = {
                    CONF_REGION: CUSTOM_REGION,
                    CONF_BASE_URL: base_url.rstrip("/"),
                }
            else:
                errors["base"] = "invalid_base_url"
            if not errors:
                if self.source == SOURCE_RECONFIGURE:
                    return await self._async_log_in_again(self._get_reconfigure_entry())
                return await self.async_step_pick_implementation()
        return self.async_show_form(
            step_id=step_id,
            data_schema=self._region_schema(defaults),
            errors=errors,
            description_placeholders={"redirect_url": async_redirect_uri_to_register(self.hass)},
        )

    @override
    async def async_step_pick_implementation(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Build the OAuth implementation against the chosen region's login host."""
        with environment_context(entry_environment(self._environment_data)):
            return await super().async_step_pick_implementation(user_input)

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Genesys refused the refresh token: the agent must log in again."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Tell the agent why, then log in to the same region."""
        if user_input is None:
            return self.async_show_form(step_id="reauth_confirm")
        return await self._async_log_in_again(self._get_reauth_entry())

    async def _async_log_in_again(self, entry: ConfigEntry) -> ConfigFlowResult:
        """Log in with the entry's own application credential (and region, for reauth)."""
        if not self._environment_data:
            self._environment_data = _environment_fields(entry.data)
        return await self.async_step_pick_implementation(
            {"implementation": entry.data["auth_implementation"]}
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the region (or the custom URL) and log in again as the same agent."""
        entry = self._get_reconfigure_entry()
        return await self._async_step_region("reconfigure", user_input, entry.data)

    @override
    async def async_oauth_create_entry(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Find out who logged in before creating or updating the entry."""
        client = GenesysClient(
            async_get_clientsession(self.hass),
            entry_environment(self._environment_data),
            _TokenAuth(data[CONF_TOKEN][CONF_ACCESS_TOKEN]),
        )
        try:
            agent: Agent = await client.async_get_me()
        except GenesysAuthError:
            return self.async_abort(reason="invalid_auth")
        except GenesysForbiddenError:
            return self.async_abort(reason="missing_permissions")
        except GenesysError:
            LOGGER.debug("Reading the logged-in user failed", exc_info=True)
            return self.async_abort(reason="cannot_connect")

        await self.async_set_unique_id(agent.id)
        data = {**data, **self._environment_data}
        if self.source == SOURCE_REAUTH:
            self._abort_if_unique_id_mismatch(reason="wrong_account")
            return self.async_update_reload_and_abort(self._get_reauth_entry(), data=data)
        if self.source == SOURCE_RECONFIGURE:
            self._abort_if_unique_id_mismatch(reason="wrong_account")
            return self.async_update_reload_and_abort(self._get_reconfigure_entry(), data=data)
        self._abort_if_unique_id_configured()
        # Not the agent's name: Home Assistant's own log lines quote the title.
        return self.async_create_entry(title="Genesys Cloud agent", data=data)


def _environment_fields(data: Mapping[str, Any]) -> dict[str, str]:
    return {key: data[key] for key in (CONF_REGION, CONF_BASE_URL) if key in data}


class OptionsFlowHandler(OptionsFlowWithReload):
    """Choices that change what the entities show."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Whether caller numbers (personal data) appear in attributes; the softphone's choices."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_SHOW_CALLER_NUMBER,
                    default=self.config_entry.options.get(CONF_SHOW_CALLER_NUMBER, False),
                ): bool,
                **await async_options_schema(self.hass, self.config_entry.options),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema)
