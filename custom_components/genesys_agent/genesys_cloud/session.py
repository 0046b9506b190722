"""The agent's realtime session: state from pushes and REST reads, and serialized mutes.

Ordering. Genesys' envelopes carry no sequence number (``version`` is the schema's), and every
conversation event is a whole snapshot. After every (re)connect the session re-reads the agent's
calls, presence and routing status through REST, with the new socket already open; events that
arrive while any REST read is in flight are held back and applied after it, in order. Every change
made before the REST read began produced an event on the open socket, so replaying the held events
ends in the newest state. On top of that, an agent's leg only moves forward through its life
(live, then ended awaiting wrap-up, then over): a snapshot that would move it back is refused.
"""

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
import contextlib
from dataclasses import dataclass, field, replace
import json
import logging
from types import MappingProxyType

from .backoff import backoff_delay
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
    MuteSource,
    Notification,
    Participant,
    PresenceState,
    RoutingState,
    parse_presence,
    parse_routing_status,
)
from .notifications import NotificationStream
from .state import AgentState, derive_agent_state

_LOGGER = logging.getLogger(__package__)

# A 429 on a mute is retried once if Genesys asks for at most this long a wait.
MAX_RATE_LIMIT_WAIT = 5.0
# How many ended legs are remembered to refuse stale snapshots.
ENDED_LEGS_KEPT = 256
SOCKET_CLOSING_TOPIC = "v2.system.socket_closing"
_NO_CONVERSATIONS: Mapping[str, CallConversation] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """Everything the session knows, replaced (never mutated) on every change."""

    agent: Agent | None = None
    conversations: Mapping[str, CallConversation] = _NO_CONVERSATIONS
    agent_state: AgentState = field(default_factory=AgentState)
    presence: PresenceState | None = None
    routing_status: RoutingState | None = None
    # The socket is up and the state was re-read after it came up.
    connected: bool = False
    # Genesys refused the login for good: the session stopped; a new login is needed.
    auth_failed: bool = False
    # Who made the last mute change of the current call (None: no change seen yet).
    last_mute_source: MuteSource | None = None


type SnapshotListener = Callable[[SessionSnapshot], None]


def _leg_stage(leg: Participant) -> int:
    """How far a leg is through its life: live (0), ended awaiting wrap-up (1), over (2)."""
    if not leg.is_terminal:
        return 0
    return 1 if leg.awaits_wrapup else 2


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
        self._stream: NotificationStream | None = None
        self._task: asyncio.Task[None] | None = None
        # Whether the current socket has spoken: only then a drop resets the backoff.
        self._heard_since_connect = False
        self._rest_reads = 0
        self._held_back: list[Notification] = []
        # Legs that ended, and how far (see _leg_stage), oldest first.
        self._ended_legs: OrderedDict[str, int] = OrderedDict()
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
        """Read the agent, open the websocket, resync, and keep it alive in the background.

        Raises the client's typed errors when the first connection fails.
        """
        agent = await self.client.async_get_me()
        self._user_id = agent.id
        self._snapshot = replace(self._snapshot, agent=agent)
        prefix = f"v2.users.{agent.id}"
        stream = NotificationStream(
            self.client,
            [f"{prefix}.conversations.calls", f"{prefix}.presence", f"{prefix}.routingStatus"],
        )
        self._stream = stream
        try:
            await self._connect()
        except BaseException:
            await stream.async_close()
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
        if self._stream is not None:
            await self._stream.async_close()

    # ------------------------------------------------------------------ connection

    async def _connect(self, *, fresh_channel: bool = False) -> None:
        """A socket first, then the REST resync, so nothing falls between the two."""
        assert self._stream is not None
        self._heard_since_connect = False
        await self._stream.async_open(fresh_channel=fresh_channel)
        await self._resync()

    async def _resync(self) -> None:
        """Replace everything known with what REST says now; nothing stale survives."""
        async with self._rest_read():
            calls, agent = await asyncio.gather(
                self.client.async_get_active_calls(),
                self.client.async_get_me(),
                return_exceptions=True,  # both finish before either error is raised
            )
            if isinstance(calls, BaseException):
                raise calls
            if isinstance(agent, BaseException):
                raise agent
            conversations = {
                conversation.id: conversation for conversation in calls if self._admit(conversation)
            }
            self._publish(
                conversations=MappingProxyType(conversations),
                agent=agent,
                presence=agent.presence,
                routing_status=agent.routing_status,
                connected=True,
                auth_failed=False,
            )

    @contextlib.asynccontextmanager
    async def _rest_read(self) -> AsyncIterator[None]:
        """Hold events back while REST is read; apply them after, in order."""
        self._rest_reads += 1
        try:
            yield
        finally:
            self._rest_reads -= 1
            if not self._rest_reads:
                held_back, self._held_back = self._held_back, []
                for notification in held_back:
                    self._apply(notification)

    async def _run(self) -> None:
        """Read the socket; reconnect with capped, jittered exponential backoff when it fails."""
        assert self._stream is not None
        failures = 0
        while True:
            try:
                if not self._stream.is_open:
                    await self._connect()
                fresh_channel = await self._read_until_handover()
                # Socket closing or channel renewal: the new socket is up before the old closes.
                await self._connect(fresh_channel=fresh_channel)
            except GenesysAuthError:
                _LOGGER.debug("Genesys refused the login; the session stops")
                await self._stream.async_close()
                self._publish(connected=False, auth_failed=True)
                return
            except Exception as err:  # the loop must outlive anything; it reconnects
                if isinstance(err, GenesysError):
                    _LOGGER.debug("The session's connection failed: %s", type(err).__name__)
                else:
                    _LOGGER.exception("Unexpected error in the Genesys Cloud session")
                await self._stream.async_close()
                self._publish(connected=False)
                failures = 1 if self._heard_since_connect else failures + 1
                await asyncio.sleep(self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        return backoff_delay(failures, self.backoff_initial, self.backoff_max)

    async def _read_until_handover(self) -> bool:
        """Apply frames until a new socket is due (True: on a new channel)."""
        assert self._stream is not None
        while True:
            text = await self._stream.async_receive(self.heartbeat_timeout)
            if text is None:
                return True
            self._heard_since_connect = True
            if self._handle_frame(text):
                return False

    # ------------------------------------------------------------------ frames

    def _handle_frame(self, text: str) -> bool:
        """Apply one frame (or hold it back); True when Genesys announces the socket's closing."""
        try:
            notification = Notification.from_json(json.loads(text))
        except (ValueError, GenesysResponseError):
            _LOGGER.debug("Ignored a malformed frame of %d characters", len(text))
            return False
        if notification.topic == SOCKET_CLOSING_TOPIC:
            return True
        if not notification.topic.startswith(f"v2.users.{self._user_id}."):
            return False  # heartbeats, pongs, and anything not about this agent
        if self._rest_reads:
            self._held_back.append(notification)
        else:
            self._apply(notification)
        return False

    def _apply(self, notification: Notification) -> None:
        topic = notification.topic.removeprefix(f"v2.users.{self._user_id}.")
        try:
            match topic:
                case "conversations.calls":
                    self._apply_conversation(CallConversation.from_json(notification.body))
                case "presence":
                    self._publish(presence=parse_presence(notification.body))
                case "routingStatus":
                    self._publish(routing_status=parse_routing_status(notification.body))
        except GenesysResponseError as err:
            _LOGGER.debug("Ignored an unreadable %s event: %s", topic, err)

    def _admit(self, conversation: CallConversation) -> bool | None:
        """Whether to keep a snapshot (True) or drop its conversation as over (False).

        None: not the agent's, or older than what is known. Remembers how far ended legs got,
        so that no older snapshot moves them back.
        """
        leg = conversation.user_participant(self._user_id)
        if leg is None:
            return None
        stage = _leg_stage(leg)
        if stage < self._ended_legs.get(leg.id, 0):
            return None
        if stage:
            self._ended_legs[leg.id] = stage
            while len(self._ended_legs) > ENDED_LEGS_KEPT:
                self._ended_legs.popitem(last=False)
        return stage < 2

    def _apply_conversation(self, conversation: CallConversation) -> None:
        keep = self._admit(conversation)
        if keep is None:
            return
        conversations = dict(self._snapshot.conversations)
        if keep:
            conversations[conversation.id] = conversation
        else:
            conversations.pop(conversation.id, None)
        self._publish(conversations=MappingProxyType(conversations))

    def _publish(self, **changes: object) -> None:
        """Replace the snapshot, derive the agent's state, and tell the listener."""
        snapshot = replace(self._snapshot, **changes)  # type: ignore[arg-type]
        old = self._snapshot.agent_state
        new = derive_agent_state(self._user_id, snapshot.conversations.values())
        source = snapshot.last_mute_source
        if new.participant_id != old.participant_id:
            source = None  # another call (or none): no change of its mute seen yet
        elif new.muted != old.muted:
            ours = self._pending_mute == (new.participant_id, new.muted)
            self._pending_mute_seen |= ours
            source = MuteSource.INTEGRATION if ours else MuteSource.ELSEWHERE
        self._snapshot = replace(snapshot, agent_state=new, last_mute_source=source)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        try:
            self._listener(self._snapshot)
        except Exception:
            _LOGGER.exception("The session's listener failed")

    # ------------------------------------------------------------------ mute

    async def async_set_mute(self, muted: bool) -> None:
        """Mute or unmute the agent's own leg of the live call, and wait for Genesys to confirm.

        Presses are serialized and coalesced: while one PATCH is in flight, later presses wait,
        and only the last of them is sent. A press superseded by a later one returns without
        error once the one in flight is done.
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
            except GenesysMuteNotConfirmedError:
                if generation == self._mute_generation:
                    raise  # superseded presses stay quiet: the last one decides
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
        async with self._rest_read():
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
