"""The agent's realtime session as a push-driven coordinator."""

from collections.abc import Awaitable
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

from .const import CONVERSATIONS_SCOPE, DOMAIN, LOGGER, PRESENCE_SCOPE, SCOPES_URL
from .genesys_cloud import (
    Agent,
    AgentSession,
    ChannelTopic,
    CommandRefusal,
    GenesysAuthError,
    GenesysClient,
    GenesysCommandNotAllowedError,
    GenesysCommandNotConfirmedError,
    GenesysError,
    GenesysForbiddenError,
    GenesysMuteNotConfirmedError,
    GenesysNoActiveCallError,
    GenesysRateLimitError,
    GenesysSubscriptionError,
    PresenceDefinition,
    SessionSnapshot,
    WrapupCode,
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
        # Read for the presence and wrap-up selects; empty until read.
        self.presence_definitions: tuple[PresenceDefinition, ...] = ()
        self.wrapup_codes: tuple[WrapupCode, ...] = ()
        self.wrapup_codes_queue: str | None = None
        self._loading_codes_of: str | None = None

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
        await self.async_load_presence_definitions()
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
        reconnected = snapshot.connected and not self._was_connected
        self._was_connected = snapshot.connected
        if snapshot.rejected_topics != self._rejected_topics:
            self._rejected_topics = snapshot.rejected_topics
            self._async_report_rejected_topics()
        self.async_set_updated_data(snapshot)
        self._async_follow_reads(snapshot, reconnected)

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
        await self._async_command(
            # The softphone gates its outgoing audio too, then sets the same server flag.
            (self.softphone or self.session).async_set_mute(muted),
            CONVERSATIONS_SCOPE,
            no_call="no_active_call",
            failed="mute_failed",
        )

    async def async_answer(self) -> None:
        """Answer the ringing call (on this host's softphone, when it is the agent's phone)."""
        await self._async_command(
            (self.softphone or self.session).async_answer(), CONVERSATIONS_SCOPE
        )

    async def async_decline(self) -> None:
        """Decline the ringing call."""
        await self._async_command(self.session.async_decline(), CONVERSATIONS_SCOPE)

    async def async_hang_up(self) -> None:
        """Hang up the call."""
        await self._async_command(self.session.async_hang_up(), CONVERSATIONS_SCOPE)

    async def async_set_held(self, held: bool) -> None:
        """Hold or resume the call."""
        await self._async_command(self.session.async_set_held(held), CONVERSATIONS_SCOPE)

    async def async_skip_wrapup(self) -> None:
        """Skip the wrap-up."""
        await self._async_command(self.session.async_skip_wrapup(), CONVERSATIONS_SCOPE)

    async def async_submit_wrapup(self, code: str, notes: str | None = None) -> None:
        """Finish the wrap-up with a code of the call's queue, given by its name or id."""
        leg = self.data.agent_leg
        if leg is None or not leg.awaits_wrapup:
            raise translated(ServiceValidationError, CommandRefusal.NOT_IN_WRAP_UP.value)
        codes = await self._async_read(self.async_load_wrapup_codes(leg.queue_id))
        wanted = code.strip().casefold()
        match = next((c for c in codes if c.id == code), None) or next(
            (c for c in codes if c.name.casefold() == wanted), None
        )
        if match is None:
            raise translated(ServiceValidationError, "unknown_wrap_up_code_name", code=code)
        await self._async_command(
            self.session.async_submit_wrapup(match.id, notes), CONVERSATIONS_SCOPE
        )

    async def async_set_presence(self, definition_id: str) -> None:
        """Set the agent's presence to one of the org's definitions."""
        await self._async_command(self.session.async_set_presence(definition_id), PRESENCE_SCOPE)

    async def _async_command(
        self,
        command: Awaitable[None],
        scope: str,
        *,
        no_call: str = "call_ended",
        failed: str = "command_failed",
    ) -> None:
        """Run a session command; every failure becomes a translated error the user can read.

        A 403 means the OAuth client lacks the scope the command needs (or the user the
        permission): a repair names it; the next command that works clears it.
        """
        try:
            await command
        except GenesysCommandNotAllowedError as err:
            raise translated(ServiceValidationError, err.reason.value) from err
        except GenesysNoActiveCallError as err:
            raise translated(ServiceValidationError, no_call) from err
        except GenesysMuteNotConfirmedError as err:
            raise translated(HomeAssistantError, "mute_not_confirmed") from err
        except GenesysCommandNotConfirmedError as err:
            raise translated(HomeAssistantError, "command_not_confirmed") from err
        except GenesysForbiddenError as err:
            self._missing_scope(scope)
            raise translated(HomeAssistantError, "missing_scope", scope=scope) from err
        except GenesysError as err:
            raise _failure(err, failed) from err
        ir.async_delete_issue(self.hass, DOMAIN, self._scope_issue_id(scope))

    async def _async_read[T](self, read: Awaitable[T]) -> T:
        """A REST read for a command, its failure translated."""
        try:
            return await read
        except GenesysError as err:
            raise _failure(err) from err

    def _scope_issue_id(self, scope: str) -> str:
        return f"missing_scope_{scope}_{self.config_entry.entry_id}"

    def _missing_scope(self, scope: str) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._scope_issue_id(scope),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="missing_scope",
            translation_placeholders={"scope": scope, "agent": self.config_entry.title},
            learn_more_url=SCOPES_URL,
        )

    # ------------------------------------------------------------------ reads for entities

    async def async_load_presence_definitions(self) -> None:
        """Read the org's presences for the presence select; a failure leaves it unavailable."""
        try:
            self.presence_definitions = await self.session.async_get_presence_definitions()
        except GenesysError as err:
            LOGGER.debug("Could not read the presence definitions: %s", type(err).__name__)
            self.presence_definitions = ()
        self.async_update_listeners()

    async def async_load_wrapup_codes(self, queue_id: str | None) -> tuple[WrapupCode, ...]:
        """The wrap-up codes of the queue of the call in wrap-up, kept for the select."""
        codes = await self.session.async_get_wrapup_codes(queue_id) if queue_id else ()
        if (codes, queue_id) != (self.wrapup_codes, self.wrapup_codes_queue):
            self.wrapup_codes, self.wrapup_codes_queue = codes, queue_id
            self.async_update_listeners()
        return codes

    async def _async_refresh_wrapup_codes(self, queue_id: str) -> None:
        self._loading_codes_of = queue_id
        try:
            await self.async_load_wrapup_codes(queue_id)
        except GenesysError as err:
            LOGGER.debug("Could not read the queue's wrap-up codes: %s", type(err).__name__)
        finally:
            self._loading_codes_of = None

    @callback
    def _async_follow_reads(self, snapshot: SessionSnapshot, reconnected: bool) -> None:
        """Re-read presences after a reconnect, and a queue's codes when its wrap-up starts."""
        if reconnected:
            self.config_entry.async_create_background_task(
                self.hass, self.async_load_presence_definitions(), "genesys_agent presences"
            )
        leg = snapshot.agent_leg
        if (
            leg is not None
            and leg.awaits_wrapup
            and leg.queue_id
            and (leg.queue_id != self.wrapup_codes_queue or reconnected)
            and leg.queue_id != self._loading_codes_of
        ):
            self.config_entry.async_create_background_task(
                self.hass,
                self._async_refresh_wrapup_codes(leg.queue_id),
                "genesys_agent wrap-up codes",
            )

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


def _failure(err: GenesysError, failed: str = "command_failed") -> HomeAssistantError:
    """A request that failed for a reason the user cannot fix by waiting for another state."""
    if isinstance(err, GenesysRateLimitError):
        return translated(HomeAssistantError, "rate_limited", seconds=str(round(err.retry_after)))
    if isinstance(err, GenesysAuthError):
        return translated(HomeAssistantError, "authentication_failed")
    return translated(HomeAssistantError, failed, error=str(err))
