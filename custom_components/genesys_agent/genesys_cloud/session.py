"""The agent's realtime session: the connection loop, with the state and commands it feeds.

The socket is opened before every REST resync, so nothing falls between the two; how frames and
REST reads are ordered into one state is the tracker's business (``tracker.py``), and how commands
are sent and confirmed the runner's (``commands.py``).
"""

import asyncio
import contextlib
from dataclasses import replace
import logging
import time

from . import call_commands
from .call_commands import LegCommand, leg_command, presence_command
from .client import GenesysClient
from .commands import MUTE, CommandRunner
from .exceptions import (
    GenesysAuthError,
    GenesysError,
    GenesysForbiddenError,
    GenesysSubscriptionError,
)
from .models import Agent, ChannelTopic, PresenceDefinition, WrapupCode
from .notifications import NotificationStream
from .reconnect import ReconnectPacer
from .tracker import SessionSnapshot, SnapshotListener, StateTracker

_LOGGER = logging.getLogger(__package__)

# The agent's topics the session subscribes to, after ``v2.users.{id}.``.
CALLS_TOPIC = "conversations.calls"
PRESENCE_TOPIC = "presence"
ROUTING_STATUS_TOPIC = "routingStatus"
TOPICS = (CALLS_TOPIC, PRESENCE_TOPIC, ROUTING_STATUS_TOPIC)

# The access token is refreshed this long before it expires (or halfway, for short lifetimes).
TOKEN_REFRESH_MARGIN = 60.0


class AgentSession:
    """One agent's live view of Genesys Cloud, and the only way to change their call."""

    def __init__(
        self,
        client: GenesysClient,
        *,
        listener: SnapshotListener,
        heartbeat_timeout: float = 75.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 300.0,
        mute_confirm_timeout: float = 1.0,
        token_refresh_floor: float = 10.0,
    ) -> None:
        """Prepare the session; ``async_start`` connects it."""
        self.client = client
        self.heartbeat_timeout = heartbeat_timeout
        # However a skewed clock reads the token's expiry, refreshes stay this far apart.
        self.token_refresh_floor = token_refresh_floor
        self.pacer = ReconnectPacer(backoff_initial=backoff_initial, backoff_max=backoff_max)
        self.tracker = StateTracker(listener)
        self.commands = CommandRunner(client, self.tracker, confirm_timeout=mute_confirm_timeout)
        self._stream: NotificationStream | None = None
        self._task: asyncio.Task[None] | None = None
        self._token_keeper: asyncio.Task[None] | None = None
        # Read on first use, forgotten on every (re)connect: they may have changed meanwhile.
        self._presence_definitions: tuple[PresenceDefinition, ...] | None = None
        self._wrapup_codes: dict[str, tuple[WrapupCode, ...]] = {}

    @property
    def snapshot(self) -> SessionSnapshot:
        """The latest state."""
        return self.tracker.snapshot

    async def async_start(self) -> Agent:
        """Read the agent, open the websocket, resync, and keep it alive in the background.

        Raises the client's typed errors when the first connection fails.
        """
        agent = await self.client.async_get_me()
        self.tracker.set_agent(agent)
        stream = NotificationStream(
            self.client, [f"{self.tracker.topic_prefix}{topic}" for topic in TOPICS]
        )
        self._stream = stream
        try:
            await self._connect()
        except BaseException:
            await stream.async_close()
            raise
        self._task = asyncio.create_task(self._run(), name=f"{__package__} session")
        self._token_keeper = asyncio.create_task(
            self._keep_token_fresh(), name=f"{__package__} token refresh"
        )
        return agent

    async def async_stop(self) -> None:
        """Stop reconnecting and refreshing, and close the websocket."""
        for task in (self._token_keeper, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._token_keeper = None
        if self._stream is not None:
            await self._stream.async_close()

    # ------------------------------------------------------------------ connection

    async def _connect(self, *, fresh_channel: bool = False) -> None:
        """A socket first, then the REST resync, so nothing falls between the two."""
        assert self._stream is not None
        self._presence_definitions = None
        self._wrapup_codes.clear()
        await self._stream.async_open(fresh_channel=fresh_channel)
        rejected = tuple(
            replace(topic, id=topic.id.removeprefix(self.tracker.topic_prefix))
            for topic in self._stream.rejected_topics
        )
        if rejected != self.snapshot.rejected_topics:
            self.tracker.publish(rejected_topics=rejected)
        await self._resync()

    async def _resync(self) -> None:
        """Replace everything known with what REST says now; nothing stale survives."""
        async with self.tracker.rest_read():
            calls, agent = await asyncio.gather(
                self.client.async_get_active_calls(),
                self.client.async_get_me(),
                return_exceptions=True,  # both finish before either error is raised
            )
            if isinstance(calls, BaseException):
                raise calls
            if isinstance(agent, BaseException):
                raise agent
            self.tracker.apply_resync(calls, agent)

    async def _run(self) -> None:
        """Read the socket; reconnect when it fails, paced by the attempts that failed."""
        assert self._stream is not None
        while True:
            try:
                fresh_channel = await self._read_until_handover()
            except Exception as err:  # the loop must outlive anything; it reconnects
                self._log_failure(err)
                await self._stream.async_close()
                self.tracker.publish(connected=False)
                fresh_channel = False
            # A new socket: after a drop, or (socket closing, channel renewal) taking over
            # before the old one closes.
            if not await self._reconnect(fresh_channel=fresh_channel):
                return

    async def _reconnect(self, *, fresh_channel: bool) -> bool:
        """Connect and resync until it works (True), or Genesys refuses for good (False)."""
        assert self._stream is not None
        while True:
            await self.pacer.wait_for_turn()
            try:
                await self._connect(fresh_channel=fresh_channel)
            except GenesysAuthError:
                await self._stop_for_login()
                return False
            except GenesysSubscriptionError as err:
                # The same request would be refused again: stop, and say why on every topic.
                refused = ChannelTopic("", rejected=True, rejection_reason=str(err))
                await self._stop(
                    rejected_topics=tuple(replace(refused, id=topic) for topic in TOPICS)
                )
                return False
            except Exception as err:  # the loop must outlive anything; it retries
                self._log_failure(err)
                await self._stream.async_close()
                self.tracker.publish(connected=False)
                self.pacer.failed()
                fresh_channel = False
            else:
                self.pacer.succeeded()
                return True

    async def _stop_for_login(self) -> None:
        """Genesys refused the login for good: stop, and say a new login is needed."""
        _LOGGER.debug("Genesys refused the login; the session stops")
        await self._stop(auth_failed=True)

    async def _stop(self, **why: object) -> None:
        """Stop reconnecting and refreshing, close, and publish why (snapshot fields)."""
        assert self._stream is not None
        for task in (self._task, self._token_keeper):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        await self._stream.async_close()
        self.tracker.publish(connected=False, **why)

    async def _keep_token_fresh(self) -> None:
        """Refresh the access token before it expires, so a revoked login is noticed in time.

        Without this, a socket that stays up makes no request, and a revoked refresh token
        would only show at the next press.
        """
        while (expires_at := self.client.access_token_expires_at()) is not None:
            left = expires_at - time.time()
            await asyncio.sleep(
                max(left - TOKEN_REFRESH_MARGIN, left / 2, self.token_refresh_floor)
            )
            if self.client.access_token_expires_at() != expires_at:
                continue  # refreshed meanwhile, after a 401
            try:
                await self.client.async_refresh_token()
            except GenesysAuthError:
                await self._stop_for_login()
                return
            except GenesysError as err:
                _LOGGER.debug("The token refresh failed: %s", type(err).__name__)

    @staticmethod
    def _log_failure(err: Exception) -> None:
        if isinstance(err, GenesysError):
            _LOGGER.debug("The session's connection failed: %s", type(err).__name__)
        else:
            _LOGGER.exception("Unexpected error in the Genesys Cloud session")

    async def _read_until_handover(self) -> bool:
        """Apply frames until a new socket is due (True: on a new channel)."""
        assert self._stream is not None
        while True:
            text = await self._stream.async_receive(self.heartbeat_timeout)
            if text is None:
                return True
            if self.tracker.handle_frame(text):
                return False
            # Buffered frames are read without waiting: a flood must not hold the event loop.
            await asyncio.sleep(0)

    # ------------------------------------------------------------------ commands

    async def async_set_mute(self, muted: bool) -> None:
        """Mute or unmute the agent's own leg of the live call, and wait for Genesys to confirm.

        Presses are serialized and coalesced: while one is in flight, later presses wait, and
        only the last of them is sent. A press superseded by a later one returns without error
        once the one in flight is done.
        """
        await self._run_on_leg(MUTE, call_commands.mute(self.client, muted))

    async def async_answer(self) -> None:
        """Answer the ringing call."""
        await self._run_on_leg("answer", call_commands.answer(self.client))

    async def async_decline(self) -> None:
        """Decline the ringing call (a direct call goes to voicemail)."""
        await self._run_on_leg("decline", call_commands.decline(self.client))

    async def async_hang_up(self) -> None:
        """Hang up the connected, held or dialing call."""
        await self._run_on_leg("hang_up", call_commands.hang_up(self.client))

    async def async_set_held(self, held: bool) -> None:
        """Hold or resume the connected call; the last of rapid presses wins, as for mute."""
        await self._run_on_leg("hold", call_commands.hold(self.client, held))

    async def async_skip_wrapup(self) -> None:
        """Skip the wrap-up of the call just ended, where the queue allows it."""
        await self._run_on_leg("wrapup", call_commands.skip_wrapup(self.client))

    async def async_submit_wrapup(self, code_id: str, notes: str | None = None) -> None:
        """Finish the wrap-up of the call just ended with one of its queue's codes (and notes)."""
        leg = self.snapshot.agent_leg
        codes = self._wrapup_codes.get(leg.queue_id) if leg and leg.queue_id else None
        await self._run_on_leg(
            "wrapup", call_commands.submit_wrapup(self.client, code_id, codes, notes)
        )

    async def _run_on_leg(self, kind: str, command: LegCommand) -> None:
        await self.commands.run(kind, leg_command(self.client, self.tracker, command))

    async def async_set_presence(self, definition_id: str) -> None:
        """Set the agent's presence to one of the org's definitions."""
        definitions = self._presence_definitions
        known = {d.id for d in definitions} if definitions is not None else None
        await self.commands.run(
            "presence", presence_command(self.client, self.tracker, definition_id, known)
        )

    # ------------------------------------------------------------------ reads

    async def async_get_presence_definitions(self) -> tuple[PresenceDefinition, ...]:
        """The org's active presence definitions (read once per connection)."""
        if self._presence_definitions is None:
            self._presence_definitions = tuple(await self.client.async_get_presence_definitions())
        return self._presence_definitions

    async def async_get_wrapup_codes(self, queue_id: str) -> tuple[WrapupCode, ...]:
        """A queue's wrap-up codes (read once per connection).

        A role that may not read the queue (403) gets the codes Genesys offers the agent's own
        leg of that queue's call instead, as the agent desktop reads them.
        """
        if queue_id not in self._wrapup_codes:
            try:
                codes = await self.client.async_get_queue_wrapup_codes(queue_id)
            except GenesysForbiddenError:
                snapshot = self.snapshot
                leg = snapshot.agent_leg
                conversation_id = snapshot.agent_state.conversation_id
                if leg is None or leg.queue_id != queue_id or conversation_id is None:
                    raise
                codes = await self.client.async_get_participant_wrapup_codes(
                    conversation_id, leg.id
                )
            self._wrapup_codes[queue_id] = tuple(codes)
        return self._wrapup_codes[queue_id]
