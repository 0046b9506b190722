"""The agent's realtime session as a push-driven coordinator."""

from typing import override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .const import DOMAIN, LOGGER
from .genesys_cloud import (
    Agent,
    AgentSession,
    ChannelTopic,
    GenesysAuthError,
    GenesysClient,
    GenesysError,
    GenesysMuteNotConfirmedError,
    GenesysNoActiveCallError,
    GenesysRateLimitError,
    GenesysSubscriptionError,
    SessionSnapshot,
)
from .genesys_cloud.softphone.phone import Softphone
from .softphone import async_start_softphone

type GenesysAgentConfigEntry = ConfigEntry[GenesysAgentCoordinator]


class GenesysAgentCoordinator(DataUpdateCoordinator[SessionSnapshot]):
    """Holds one agent's session; the notifications websocket pushes every change.

    There is no polling: the session resyncs through REST after every (re)connect.
    """

    config_entry: GenesysAgentConfigEntry
    agent: Agent

    def __init__(
        self, hass: HomeAssistant, entry: GenesysAgentConfigEntry, client: GenesysClient
    ) -> None:
        """Create the coordinator and its (not yet started) session."""
        super().__init__(hass, LOGGER, config_entry=entry, name=DOMAIN, always_update=False)
        self.session = AgentSession(client, listener=self._async_handle_snapshot)
        # Home Assistant as the agent's WebRTC phone, when the option is on (softphone.py).
        self.softphone: Softphone | None = None
        self._was_connected = True
        self._rejected_topics: tuple[ChannelTopic, ...] = ()

    @override
    async def _async_setup(self) -> None:
        """Log in to the realtime session; fail setup with a reason the user can act on."""
        try:
            self.agent = await self.session.async_start()
            self.softphone = await self._async_start_softphone()
        except GenesysAuthError as err:
            raise translated(ConfigEntryAuthFailed, "authentication_failed") from err
        except GenesysSubscriptionError as err:
            raise translated(ConfigEntryError, "subscription_refused", error=str(err)) from err
        except GenesysError as err:
            raise translated(ConfigEntryNotReady, "cannot_connect", error=str(err)) from err
        # Home Assistant closes its HTTP session on stop without unloading entries: stop first,
        # so the closing session is not taken for a drop.
        self.config_entry.async_on_unload(
            self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._async_on_hass_stop)
        )

    async def _async_on_hass_stop(self, event: Event) -> None:
        await self._async_stop_connections()

    async def _async_stop_connections(self) -> None:
        """The softphone's streaming socket, then the session's websocket."""
        if self.softphone is not None:
            await self.softphone.async_stop()
        await self.session.async_stop()

    async def _async_start_softphone(self) -> Softphone | None:
        """The softphone, if on; a failure to register stops the session too (setup retries)."""
        try:
            return await async_start_softphone(
                self.hass, self.config_entry, self.session, self.async_update_listeners
            )
        except BaseException:
            await self.session.async_stop()
            raise

    @override
    async def _async_update_data(self) -> SessionSnapshot:
        """Return the session's state; only called once, at setup."""
        return self.session.snapshot

    @callback
    def _async_handle_snapshot(self, snapshot: SessionSnapshot) -> None:
        """Publish a pushed change, logging once each way when the socket drops and heals."""
        if snapshot.auth_failed:
            LOGGER.warning("Genesys Cloud refused the login; reauthentication is needed")
            self.config_entry.async_start_reauth(self.hass)
        elif snapshot.connected != self._was_connected:
            if snapshot.connected:
                LOGGER.info("The Genesys Cloud session is back")
            else:
                LOGGER.info("The Genesys Cloud session is down; reconnecting")
        self._was_connected = snapshot.connected
        if snapshot.rejected_topics != self._rejected_topics:
            self._rejected_topics = snapshot.rejected_topics
            self._async_report_rejected_topics()
        self.async_set_updated_data(snapshot)

    @property
    def _issue_id(self) -> str:
        return f"topics_rejected_{self.config_entry.entry_id}"

    @callback
    def _async_report_rejected_topics(self) -> None:
        """A repair issue and a warning naming what Genesys refused; gone once it is granted."""
        if not self._rejected_topics:
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id)
            return
        details = "; ".join(
            f"{topic.id}: {topic.rejection_reason or 'rejected'}"
            + (
                f" (missing {', '.join(topic.missing_permissions)})"
                if topic.missing_permissions
                else ""
            )
            for topic in self._rejected_topics
        )
        LOGGER.warning("Genesys Cloud refused notifications the integration needs: %s", details)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="topics_rejected",
            translation_placeholders={"details": details},
        )

    async def async_set_mute(self, muted: bool) -> None:
        """Mute or unmute the agent's live call; raise a translated error the user can read."""
        try:
            # The softphone gates its outgoing audio too, then sets the same server flag.
            await (self.softphone or self.session).async_set_mute(muted)
        except GenesysNoActiveCallError as err:
            raise translated(ServiceValidationError, "no_active_call") from err
        except GenesysMuteNotConfirmedError as err:
            raise translated(HomeAssistantError, "mute_not_confirmed") from err
        except GenesysRateLimitError as err:
            seconds = str(round(err.retry_after))
            raise translated(HomeAssistantError, "rate_limited", seconds=seconds) from err
        except GenesysAuthError as err:
            raise translated(HomeAssistantError, "authentication_failed") from err
        except GenesysError as err:
            raise translated(HomeAssistantError, "mute_failed", error=str(err)) from err

    @override
    async def async_shutdown(self) -> None:
        """Close the websocket and stop reconnecting."""
        await super().async_shutdown()
        await self._async_stop_connections()
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id)


def translated[E: HomeAssistantError](
    error_type: type[E], translation_key: str, **placeholders: str
) -> E:
    """An error whose message the user reads in their language (exceptions in en.json)."""
    return error_type(
        translation_domain=DOMAIN,
        translation_key=translation_key,
        translation_placeholders=placeholders or None,
    )
