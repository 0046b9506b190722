"""The agent's realtime session: notifications websocket, resync, and serialized mutes.

The socket pushes whole conversation snapshots. After every (re)connect the session re-reads
the agent's calls, presence and routing status through REST before it reads the socket again,
so frames that arrived meanwhile are applied after the resync, in order. Genesys' envelopes
carry no sequence number; the one reordering that matters, an older snapshot reviving a leg
that already ended, is refused by remembering ended legs.
"""

import asyncio
from collections import OrderedDict
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
import json
import logging
import random
import time

from aiohttp import ClientError, ClientWebSocketResponse, ClientWSTimeout, WSMsgType
from aiohttp.client_exceptions import WSServerHandshakeError

from .client import GenesysClient
from .exceptions import (
    GenesysAuthError,
    GenesysError,
    GenesysMuteNotConfirmedError,
    GenesysNoActiveCallError,
    GenesysRateLimitError,
    GenesysResponseError,
)
from .models import (
    Agent,
    CallConversation,
    Channel,
    MuteSource,
    Notification,
    PresenceState,
    RoutingState,
    parse_presence,
    parse_routing_status,
)
from .state import AgentState, derive_agent_state

_LOGGER = logging.getLogger(__package__)

MAX_FRAME_BYTES = 1 << 20
# A 429 on a mute is retried once if Genesys asks for at most this long a wait.
MAX_RATE_LIMIT_WAIT = 5.0
# Renew a channel when this share of its lifetime has passed (Genesys: 24 h).
CHANNEL_RENEW_AT = 0.9
# How many ended legs are remembered to refuse stale snapshots.
ENDED_LEGS_KEPT = 256
SOCKET_CLOSING_TOPIC = "v2.system.socket_closing"


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """Everything the session knows, replaced (never mutated) on every change."""

    agent: Agent | None = None
    conversations: dict[str, CallConversation] = field(default_factory=dict)
    agent_state: AgentState = field(default_factory=AgentState)
    presence: PresenceState | None = None
    routing_status: RoutingState | None = None
    connected: bool = False
    auth_failed: bool = False
    last_mute_source: MuteSource | None = None


type SnapshotListener = Callable[[SessionSnapshot], None]


class AgentSession:
    """One agent's live view of Genesys Cloud, and the only way to change their mute."""

    def __init__(
        self,
        client: GenesysClient,
        *,
        listener: SnapshotListener,
        heartbeat_timeout: float = 75.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 300.0,
        mute_confirm_timeout: float = 5.0,
    ) -> None:
        """Prepare the session; ``async_start`` connects it."""
        self.client = client
        self._listener = listener
        self.heartbeat_timeout = heartbeat_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.mute_confirm_timeout = mute_confirm_timeout
        self._snapshot = SessionSnapshot()
        self._user_id = ""
        self._channel: Channel | None = None
        self._channel_renew_at = 0.0
        self._socket: ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._ended_legs: OrderedDict[str, None] = OrderedDict()
        self._changed = asyncio.Event()
        self._mute_lock = asyncio.Lock()
        self._mute_generation = 0
        self._pending_mute: tuple[str, bool] | None = None
        # Whether an event showed the pending mute; someone else may change it again right after.
        self._pending_mute_seen = False

    @property
    def snapshot(self) -> SessionSnapshot:
        """The latest state."""
        return self._snapshot

    async def async_start(self) -> Agent:
        """Read the agent, connect the websocket, resync, and keep it alive in the background.

        Raises the client's typed errors when the first connection fails.
        """
        agent = await self.client.async_get_me()
        self._user_id = agent.id
        self._snapshot = replace(self._snapshot, agent=agent)
        try:
            await self._connect(fresh_channel=True)
        except BaseException:
            await self._close_socket()
            raise
        self._task = asyncio.create_task(self._run(), name=f"{__package__} session")
        return agent

    async def async_stop(self) -> None:
        """Stop reconnecting and close the websocket."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close_socket()

    # ------------------------------------------------------------------ connection

    def _topics(self) -> list[str]:
        prefix = f"v2.users.{self._user_id}"
        return [f"{prefix}.conversations.calls", f"{prefix}.presence", f"{prefix}.routingStatus"]

    async def _connect(self, *, fresh_channel: bool) -> None:
        """Socket on a valid channel (a new one if needed), then a resync; connected after."""
        if fresh_channel or self._channel is None or time.monotonic() >= self._channel_renew_at:
            await self._create_channel()
        try:
            socket = await self._open_socket()
        except WSServerHandshakeError:
            # The channel is gone (expired, evicted, or Genesys restarted): make another.
            await self._create_channel()
            socket = await self._open_socket()
        previous, self._socket = self._socket, socket
        if previous is not None:
            await previous.close()
        await self._resync()

    async def _create_channel(self) -> None:
        channel = await self.client.async_create_channel()
        await self.client.async_subscribe(channel.id, self._topics())
        lifetime = (
            (channel.expires - datetime.now(UTC)).total_seconds() if channel.expires else 86400
        )
        self._channel = channel
        self._channel_renew_at = time.monotonic() + max(lifetime, 0) * CHANNEL_RENEW_AT

    async def _open_socket(self) -> ClientWebSocketResponse:
        assert self._channel is not None
        async with asyncio.timeout(self.client.request_timeout):
            return await self.client.session.ws_connect(
                self._channel.connect_uri,
                heartbeat=None,
                timeout=ClientWSTimeout(ws_close=self.client.request_timeout),
                max_msg_size=MAX_FRAME_BYTES,
            )

    async def _close_socket(self) -> None:
        socket, self._socket = self._socket, None
        if socket is not None:
            await socket.close()

    async def _resync(self) -> None:
        """Replace everything known with what REST says now; nothing stale survives."""
        calls, agent = await asyncio.gather(
            self.client.async_get_active_calls(), self.client.async_get_me()
        )
        conversations: dict[str, CallConversation] = {}
        for conversation in calls:
            if self._keep(conversation):
                conversations[conversation.id] = conversation
        self._publish(
            conversations=conversations,
            agent=agent,
            presence=agent.presence,
            routing_status=agent.routing_status,
            connected=True,
            auth_failed=False,
        )

    async def _run(self) -> None:
        """Read the socket; reconnect with capped, jittered exponential backoff when it fails."""
        failures = 0
        fresh_channel = False
        while True:
            try:
                if self._socket is None:
                    await self._connect(fresh_channel=fresh_channel)
                    failures = 0
                fresh_channel = await self._read_until_handover()
                # Socket closing or channel renewal: connect anew before dropping the old one.
                await self._connect(fresh_channel=fresh_channel)
            except GenesysAuthError:
                _LOGGER.debug("Genesys refused the login; the session stops")
                await self._close_socket()
                self._publish(connected=False, auth_failed=True)
                return
            except (GenesysError, ClientError, TimeoutError) as err:
                _LOGGER.debug("The session's connection failed: %s", type(err).__name__)
                await self._close_socket()
                self._publish(connected=False)
                failures += 1
                await asyncio.sleep(self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        """Capped exponential backoff with jitter, so many clients never retry in step."""
        delay = min(self.backoff_initial * 2 ** (failures - 1), self.backoff_max)
        return float(delay * random.uniform(0.8, 1.0))  # noqa: S311 - not cryptographic

    async def _read_until_handover(self) -> bool:
        """Apply frames until Genesys hands over (True: a fresh channel is due)."""
        socket = self._socket
        assert socket is not None
        while True:
            renew_in = self._channel_renew_at - time.monotonic()
            try:
                async with asyncio.timeout(max(0.0, min(self.heartbeat_timeout, renew_in))):
                    message = await socket.receive()
            except TimeoutError:
                if time.monotonic() >= self._channel_renew_at:
                    return True
                raise GenesysError("no heartbeat from Genesys: the socket is dead") from None
            # Genesys sends text frames only; aiohttp answers protocol pings itself.
            if message.type is not WSMsgType.TEXT:
                raise GenesysError(f"the websocket ended ({message.type.name})")
            if self._handle_frame(message.data):
                return False

    # ------------------------------------------------------------------ frames

    def _handle_frame(self, text: str) -> bool:
        """Apply one frame; True when Genesys announces the socket's closing."""
        try:
            notification = Notification.from_json(json.loads(text))
        except (ValueError, GenesysResponseError):
            _LOGGER.debug("Ignored a malformed frame of %d characters", len(text))
            return False
        topic = notification.topic
        if topic == SOCKET_CLOSING_TOPIC:
            return True
        prefix = f"v2.users.{self._user_id}."
        if not topic.startswith(prefix):
            return False
        try:
            match topic.removeprefix(prefix):
                case "conversations.calls":
                    self._apply_conversation(CallConversation.from_json(notification.body))
                case "presence":
                    self._publish(presence=parse_presence(notification.body))
                case "routingStatus":
                    self._publish(routing_status=parse_routing_status(notification.body))
        except GenesysResponseError as err:
            _LOGGER.debug("Ignored an unreadable %s event: %s", topic.removeprefix(prefix), err)
        return False

    def _keep(self, conversation: CallConversation) -> bool:
        """Whether a snapshot is the agent's, current, and still matters."""
        leg = conversation.user_participant(self._user_id)
        if leg is None:
            return False
        if leg.id in self._ended_legs and not leg.is_terminal:
            return False  # an older snapshot of a leg that already ended
        if leg.is_terminal:
            self._ended_legs[leg.id] = None
            while len(self._ended_legs) > ENDED_LEGS_KEPT:
                self._ended_legs.popitem(last=False)
        return not leg.is_terminal or leg.awaits_wrapup

    def _apply_conversation(self, conversation: CallConversation) -> None:
        if conversation.user_participant(self._user_id) is None:
            return  # someone else's conversation
        leg = conversation.user_participant(self._user_id)
        assert leg is not None
        stale = leg.id in self._ended_legs and not leg.is_terminal
        if stale:
            return
        conversations = dict(self._snapshot.conversations)
        if self._keep(conversation):
            conversations[conversation.id] = conversation
        else:
            conversations.pop(conversation.id, None)
        self._publish(conversations=conversations)

    def _publish(self, **changes: object) -> None:
        """Replace the snapshot, derive the agent's state, and tell the listener."""
        snapshot = replace(self._snapshot, **changes)  # type: ignore[arg-type]
        old = self._snapshot.agent_state
        new = derive_agent_state(self._user_id, snapshot.conversations.values())
        source = snapshot.last_mute_source
        if new.participant_id == old.participant_id and new.muted != old.muted:
            ours = self._pending_mute == (new.participant_id, new.muted)
            self._pending_mute_seen |= ours
            source = MuteSource.INTEGRATION if ours else MuteSource.ELSEWHERE
        self._snapshot = replace(snapshot, agent_state=new, last_mute_source=source)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        self._listener(self._snapshot)

    # ------------------------------------------------------------------ mute

    async def async_set_mute(self, muted: bool) -> None:
        """Mute or unmute the agent's own leg of the live call, and wait for Genesys to confirm.

        Presses are serialized and coalesced: while one PATCH is in flight, later presses wait,
        and only the last of them is sent. A press superseded by a later one returns at once.
        """
        self._mute_generation += 1
        generation = self._mute_generation
        async with self._mute_lock:
            if generation != self._mute_generation:
                return
            state = self._snapshot.agent_state
            if not state.can_mute:
                raise GenesysNoActiveCallError("There is no connected call to mute")
            if state.muted == muted:
                return
            assert state.conversation_id is not None
            assert state.participant_id is not None
            self._pending_mute = (state.participant_id, muted)
            self._pending_mute_seen = False
            try:
                await self._patch_mute(state.conversation_id, state.participant_id, muted)
                await self._wait_for_mute(state.conversation_id, state.participant_id, muted)
            finally:
                self._pending_mute = None

    async def _patch_mute(self, conversation_id: str, participant_id: str, muted: bool) -> None:
        try:
            await self.client.async_set_mute(conversation_id, participant_id, muted)
        except GenesysRateLimitError as err:
            if err.retry_after > MAX_RATE_LIMIT_WAIT:
                raise
            await asyncio.sleep(err.retry_after)
            await self.client.async_set_mute(conversation_id, participant_id, muted)

    async def _wait_for_mute(self, conversation_id: str, participant_id: str, muted: bool) -> None:
        """Genesys answers 202; the next event tells whether the mute took, else a REST read."""
        try:
            async with asyncio.timeout(self.mute_confirm_timeout):
                while not self._mute_is(participant_id, muted):
                    await self._changed.wait()
        except TimeoutError:
            _LOGGER.debug("No event confirmed the mute; reading the call instead")
        else:
            return
        # The event may be lost (socket down, Genesys hiccup): ask, so the state is true again.
        self._apply_conversation(await self.client.async_get_call(conversation_id))
        if not self._mute_is(participant_id, muted):
            raise GenesysMuteNotConfirmedError(
                f"Genesys did not confirm the mute within {self.mute_confirm_timeout:g} s"
            )

    def _mute_is(self, participant_id: str, muted: bool) -> bool:
        """Whether the agent's leg shows (or showed) ``muted``; raises if the call is gone."""
        state = self._snapshot.agent_state
        if state.participant_id != participant_id:
            raise GenesysNoActiveCallError("The call ended before the mute took")
        return self._pending_mute_seen or state.muted == muted
