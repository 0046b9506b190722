"""The softphone's owner: one object that makes the agent's WebRTC station ring in this process.

``Softphone`` runs beside an ``AgentSession`` when the agent's station is a Genesys Cloud WebRTC
phone (``inin_webrtc_softphone``). It owns the streaming transport, the signalling and the call's
media (aiortc, imported in a worker thread when the softphone starts, never before), and follows
the session's state for everything the streaming service does not say: the call's mute, its end,
and later calls on a persistent connection.

Answering. A propose is proceeded at once when the answer mode says so (``ALWAYS``; ``GENESYS``
when the propose carries ``inin-autoanswer``, as the SDK does), otherwise only on
``async_answer`` (the answer button or service). With the Genesys desktop open as a second
WebRTC client, ``MANUAL`` leaves every call to whichever client the agent answers on. A station
with ``webRtcPersistentEnabled`` keeps its peer connection after a call; Genesys then rings later
calls without a propose (renegotiating the same connection), and they are answered by REST, as
the SDK answers them.

The mute gate. What leaves the house is never more than what Genesys shows:

- the gate is closed (digital silence from the next frame) while Genesys shows the agent muted
  (a mute from anywhere: this home, the desktop, a supervisor), and while no call is connected
  (a persistent connection carries no audio between calls);
- a mute press closes it at once, before Genesys confirms, and keeps it closed while the press
  is in flight; if Genesys refuses or never confirms, the gate follows Genesys' flag again;
- an unmute press opens it only when Genesys confirms the unmute (the event): until then
  Genesys shows muted, so the audio stays silent. Unmute therefore costs one round trip more
  than mute; a switch that says "unmuted" is always sending.

Media state: ``IDLE`` (no call's media), ``CONNECTING`` (an offer answered, ICE checking),
``CONNECTED`` (ICE connected; also between calls on a persistent connection), ``FAILED``
(ICE failed or the media could not start, e.g. a device that cannot open: ``last_error``),
``ELSEWHERE`` (Genesys shows the agent's call talking, but its audio is not on this phone: taken
on another client, or carried on after Home Assistant restarted mid-call and Genesys sent no
re-invite; the call goes on server-side and can be picked up elsewhere).

Restarts. ``resource`` names this phone's XMPP resource; the integration derives it from the
config entry, so after a restart the phone binds the same full JID and a re-invite the gateway
sends for the call in progress reaches it (and is answered: the audio resumes here).

Choices where the reference is UNCONFIRMED: the station is read once, at start (a changed
station needs a restart of the softphone); the eager persistent set-up propose
(``inin-priv-answer-mode="Auto"``) is proceeded unless the mode is ``MANUAL``; a call whose leg
Genesys shows ended is terminated here too if the gateway has not done it (not on a persistent
connection, which outlives its calls).
"""

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
import logging
from typing import TYPE_CHECKING, Any, Protocol

from ..exceptions import GenesysError, GenesysMediaError, GenesysNoActiveCallError
from ..models import CallState, Station
from ..session import AgentSession
from ..tracker import SessionSnapshot
from .media_protocol import MediaSession
from .models import AudioSource, IceServer
from .signalling import (
    PendingSession,
    PendingSessionHandledElsewhere,
    PendingSessionRetracted,
    SessionFailed,
    SessionOffered,
    SessionTerminated,
    SignallingEvent,
    SoftphoneSignalling,
)
from .transport import StreamingTransport

if TYPE_CHECKING:
    from .media import GateTransition, MediaStats

_LOGGER = logging.getLogger(__package__)

# States of the agent's call in which the agent's audio reaches the other party.
_TALKING = frozenset({CallState.CONNECTED, CallState.ON_HOLD, CallState.DIALING})
_ICE_STATES = {
    "new": "connecting",
    "checking": "connecting",
    "connected": "connected",
    "completed": "connected",
    "failed": "failed",
}


class MediaState(StrEnum):
    """The softphone's media, as the media-state sensor shows it."""

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"
    ELSEWHERE = "elsewhere"


class AnswerMode(StrEnum):
    """When Home Assistant takes an offered call on its own."""

    MANUAL = "manual"
    """Only when told (the answer button or service)."""
    GENESYS = "genesys"
    """When Genesys asks for auto-answer (outbound calls, the agent's auto-answer setting)."""
    ALWAYS = "always"
    """Every offered call, at once."""


@dataclass(frozen=True, slots=True)
class SoftphoneOptions:
    """What the user chose: the outgoing audio, the playback device, when to answer."""

    source: AudioSource = field(default_factory=AudioSource.silence)
    # An ALSA playback device; None drains the caller's audio.
    output_device: str | None = None
    answer_mode: AnswerMode = AnswerMode.GENESYS


class PhoneMedia(MediaSession, Protocol):
    """A media session with the gate and stats this owner drives (``AiortcMediaSession``)."""

    @property
    def muted(self) -> bool:
        """Whether the outgoing audio is silenced."""

    def set_muted(self, muted: bool) -> object:
        """Silence the outgoing audio from the next frame on, or let it through."""

    @property
    def last_transition(self) -> GateTransition | None:
        """The gate's latest mute or unmute, timed."""

    async def stats(self) -> MediaStats:
        """ICE state, codec, packets each way, the source."""


# Makes one call's media: (options, ICE state listener) → media session.
type PhoneMediaFactory = Callable[[SoftphoneOptions, Callable[[str], None]], PhoneMedia]


@dataclass(eq=False, slots=True)
class _CallMedia:
    """The media of one signalling session and what became of it."""

    session_id: str
    media: PhoneMedia
    conversation_id: str | None
    info_sent: bool = False
    # Genesys showed its call talking: once it shows it ended, the media ends too.
    talked: bool = False


class Softphone:
    """The agent's WebRTC phone: registered on the streaming service, answering, muting."""

    def __init__(
        self,
        session: AgentSession,
        options: SoftphoneOptions,
        *,
        listener: Callable[[], None] | None = None,
        media_factory: PhoneMediaFactory | None = None,
        **transport_options: Any,
    ) -> None:
        """Prepare; ``async_start`` registers the phone. ``listener`` hears every change."""
        self._session = session
        self.options = options
        self._listener = listener
        self._media_factory = media_factory
        self._transport_options = transport_options
        self._transport: StreamingTransport | None = None
        self._signalling: SoftphoneSignalling | None = None
        self.station: Station | None = None
        self._pending: dict[str, PendingSession] = {}
        # The session (and its conversation) whose offer is being answered.
        self._offered: tuple[str, str | None] = ("", None)
        self._call: _CallMedia | None = None
        # Media a re-invite replaced, still carrying the call until the new media does.
        self._retiring: set[PhoneMedia] = set()
        self._state = MediaState.IDLE
        self.last_error: GenesysError | None = None
        self._mute_presses = 0
        self._answered_by_rest: str | None = None
        self._follower: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ life

    @property
    def running(self) -> bool:
        """Registered on the streaming service (the agent has a WebRTC station)."""
        return self._transport is not None

    @property
    def persistent(self) -> bool:
        """The station keeps one peer connection across calls."""
        return self.station is not None and self.station.persistent

    @property
    def media_state(self) -> MediaState:
        """Idle, connecting, connected or failed."""
        return self._state

    @property
    def media(self) -> PhoneMedia | None:
        """The current call's media (also between calls on a persistent connection)."""
        return self._call.media if self._call is not None else None

    @property
    def ringing(self) -> bool:
        """Genesys proposes a call this phone has not taken yet."""
        return bool(self._pending)

    @property
    def signalling_sessions(self) -> int:
        """How many signalling sessions the phone knows (pending or established)."""
        return 0 if self._signalling is None else len(self._signalling.session_ids)

    @property
    def gate_closed(self) -> bool:
        """Whether the outgoing audio is digital silence now."""
        return self._call is None or self._call.media.muted

    async def async_start(self) -> bool:
        """Register when the agent's station is a WebRTC station; False (and idle) otherwise.

        Raises the client's typed errors when the streaming service cannot be reached.
        """
        agent = self._session.snapshot.agent
        seen = agent.station if agent is not None else None
        if seen is None or not seen.is_webrtc:
            _LOGGER.info("The agent's station is not a WebRTC phone; the softphone stays off")
            return False
        self.station = await self._session.client.async_get_station(seen.id)
        if self._media_factory is None:
            await asyncio.to_thread(_prepare_media)
            self._media_factory = _aiortc_media
        transport = StreamingTransport(
            self._session.client,
            self._session.client.auth,
            state_listener=lambda _: self._notify(),
            **self._transport_options,
        )
        self._signalling = SoftphoneSignalling(transport, self._new_media, self._on_event)
        try:
            await transport.async_start()
        except BaseException:
            await self._signalling.async_close()
            self._signalling = None
            raise
        self._transport = transport
        self._follower = asyncio.create_task(self._follow(), name=f"{__package__} phone")
        self._follow_snapshot(self._session.snapshot)
        return True

    async def async_stop(self) -> None:
        """Hang up the media and leave the streaming service."""
        for task in [self._follower, *self._tasks]:
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in [self._follower, *self._tasks] if t is not None), return_exceptions=True
        )
        self._follower = None
        if self._signalling is not None:
            await self._signalling.async_close()
            self._signalling = None
        if self._transport is not None:
            await self._transport.async_stop()
            self._transport = None
        self._call, self._pending = None, {}
        self._retiring.clear()
        self._set_state(MediaState.IDLE)

    # ------------------------------------------------------------------ commands

    async def async_answer(self) -> None:
        """Take the ringing call on this phone: proceed on its propose, or answer it by REST.

        Raises ``GenesysNoActiveCallError`` when nothing rings on this phone.
        """
        state = self._session.snapshot.agent_state
        ringing = state.conversation_id if state.call_state is CallState.RINGING else None
        pending = next(
            (
                p
                for p in self._pending.values()
                if ringing is None or p.conversation_id in (ringing, None)
            ),
            None,
        )
        if pending is not None:
            await self._proceed(pending)
        elif ringing is not None and self._carries_later_calls():
            await self._answer_by_rest(ringing)
        else:
            raise GenesysNoActiveCallError("No call rings on the softphone")

    async def async_set_mute(self, muted: bool) -> None:
        """Mute (the gate closes at once) or unmute (it opens when Genesys confirms) the call.

        The server-side flag is set by the session's mute command; its errors are raised.
        """
        if not muted:
            await self._session.async_set_mute(False)
            self._apply_gate(self._session.snapshot)  # confirmed: open before the switch says so
            return
        self._mute_presses += 1
        self._apply_gate(self._session.snapshot)
        try:
            await self._session.async_set_mute(True)
        finally:
            self._mute_presses -= 1
            self._apply_gate(self._session.snapshot)

    async def async_diagnostics(self) -> dict[str, Any]:
        """The softphone's state for diagnostics: no addresses, no ids."""
        stats = await self._call.media.stats() if self._call is not None else None
        transport = self._transport
        return {
            "running": self.running,
            "streaming_connected": transport is not None and transport.connected,
            "persistent_connection": self.persistent,
            "answer_mode": self.options.answer_mode.value,
            "media_state": self._state.value,
            "gate_closed": self.gate_closed,
            "ice_state": stats.ice_state if stats else None,
            "codec": stats.codec if stats else None,
            # "relay": the call's media goes through Genesys' TURN server.
            "ice_path": stats.path if stats else None,
            "packets_sent": stats.packets_sent if stats else 0,
            "packets_received": stats.packets_received if stats else 0,
            "packets_given_up": stats.packets_given_up if stats else 0,
            "packets_late": stats.packets_late if stats else 0,
            "source": self.options.source.describe(),
            "playback": "alsa" if self.options.output_device else "drained",
            "last_error": type(self.last_error).__name__ if self.last_error else None,
        }

    # ------------------------------------------------------------------ signalling

    def _on_event(self, event: SignallingEvent) -> None:
        match event:
            case PendingSession():
                self._on_pending(event)
            case PendingSessionRetracted() | PendingSessionHandledElsewhere():
                if self._pending.pop(event.session_id, None) is not None:
                    self._notify()
            case SessionOffered():
                self._pending.pop(event.session_id, None)
                # The signalling asks the factory for this session's media right after.
                self._offered = (event.session_id, event.conversation_id)
                if event.renegotiation and self._call is not None:
                    self._call.conversation_id = event.conversation_id
                    self._call.talked = False
            case SessionFailed():
                self._set_state(MediaState.FAILED)
            case SessionTerminated():
                if self._call is not None and self._call.session_id == event.session_id:
                    self._call = None
                    if self._state is not MediaState.FAILED:
                        self._set_state(self._without_media(self._session.snapshot))

    def _on_pending(self, pending: PendingSession) -> None:
        mode = self.options.answer_mode
        eager = pending.priv_answer_mode == "Auto" and mode is not AnswerMode.MANUAL
        auto = mode is AnswerMode.ALWAYS or (mode is AnswerMode.GENESYS and pending.auto_answer)
        self._pending[pending.session_id] = pending
        if eager or auto:
            self._spawn(self._proceed_quietly(pending))
        self._notify()

    async def _proceed(self, pending: PendingSession) -> None:
        assert self._signalling is not None
        self._pending.pop(pending.session_id, None)
        await self._signalling.proceed(pending.session_id)

    async def _proceed_quietly(self, pending: PendingSession) -> None:
        try:
            await self._proceed(pending)
        except GenesysError as err:
            _LOGGER.warning("The softphone could not take the call: %s", err)

    def _new_media(self) -> MediaSession:
        """The signalling's media factory: one call's media, gated as the state says."""
        assert self._media_factory is not None
        session_id, conversation_id = self._offered
        media = self._media_factory(self.options, lambda s: self._on_ice_state(media, s))
        if self._call is not None and self._call.session_id == session_id:
            self._retiring.add(self._call.media)  # a re-invite: closed by the signalling
        self._call = _CallMedia(session_id, media, conversation_id)
        self.last_error = None
        self._set_state(MediaState.CONNECTING)
        self._apply_gate(self._session.snapshot)
        return _Reporting(media, self._media_failed, self._retiring.discard)

    def _on_ice_state(self, media: PhoneMedia, ice_state: str) -> None:
        call = self._call
        if call is None or call.media is not media:
            return  # a replaced session's last word
        if (mapped := _ICE_STATES.get(ice_state)) is None:
            return
        self._set_state(MediaState(mapped))
        if mapped == "connected" and not call.info_sent and self._signalling is not None:
            call.info_sent = True
            self._spawn(self._send_info(call.session_id))

    async def _send_info(self, session_id: str) -> None:
        assert self._signalling is not None
        try:
            await self._signalling.send_info(session_id)
        except GenesysError as err:
            _LOGGER.debug("The gateway did not hear that the media is active: %s", err)

    def _media_failed(self, err: Exception) -> None:
        self.last_error = (
            err if isinstance(err, GenesysError) else GenesysMediaError(f"media failed: {err}")
        )
        self._set_state(MediaState.FAILED)

    # ------------------------------------------------------------------ the session's state

    async def _follow(self) -> None:
        tracker = self._session.tracker
        while True:
            await tracker.changed()
            self._follow_snapshot(tracker.snapshot)

    def _follow_snapshot(self, snapshot: SessionSnapshot) -> None:
        self._apply_gate(snapshot)
        if self._call is None and self._state is not MediaState.FAILED:
            self._set_state(self._without_media(snapshot))
        state = snapshot.agent_state
        call = self._call
        if call is not None and call.conversation_id is not None:
            if state.conversation_id == call.conversation_id and state.call_state in _TALKING:
                call.talked = True
            elif call.talked and not self.persistent and _ended(snapshot, call.conversation_id):
                _LOGGER.debug("The call ended without a terminate; ending its media")
                call.talked = False
                assert self._signalling is not None
                self._spawn(self._signalling.terminate(call.session_id))
        if (
            state.call_state is CallState.RINGING
            and state.conversation_id is not None
            and state.conversation_id != self._answered_by_rest
            and self.options.answer_mode is AnswerMode.ALWAYS
            and self._carries_later_calls()
            and not self._pending
        ):
            self._spawn(self._answer_by_rest_quietly(state.conversation_id))

    @staticmethod
    def _without_media(snapshot: SessionSnapshot) -> MediaState:
        """No media here: elsewhere while Genesys shows the agent's call talking, else idle."""
        talking = snapshot.agent_state.call_state in _TALKING
        return MediaState.ELSEWHERE if talking else MediaState.IDLE

    def _apply_gate(self, snapshot: SessionSnapshot) -> None:
        """Closed while Genesys shows muted or no call talks, or while a mute press flies.

        Media a re-invite is replacing follows the gate too: it still carries the call.
        """
        if self._call is None:
            return
        state = snapshot.agent_state
        closed = bool(state.muted) or state.call_state not in _TALKING or self._mute_presses > 0
        for media in [self._call.media, *self._retiring]:
            media.set_muted(closed)

    def _carries_later_calls(self) -> bool:
        """A persistent connection is up: Genesys rings later calls on it, with no propose."""
        return self.persistent and self._call is not None and self._state is MediaState.CONNECTED

    async def _answer_by_rest(self, conversation_id: str) -> None:
        """A later call on the persistent connection: the session's answer command, confirmed."""
        if self._session.snapshot.agent_state.conversation_id != conversation_id:
            raise GenesysNoActiveCallError("The call stopped ringing")
        self._answered_by_rest = conversation_id
        await self._session.async_answer()

    async def _answer_by_rest_quietly(self, conversation_id: str) -> None:
        try:
            await self._answer_by_rest(conversation_id)
        except GenesysError as err:
            _LOGGER.warning("The softphone could not answer the call: %s", err)

    # ------------------------------------------------------------------ plumbing

    def _set_state(self, state: MediaState) -> None:
        if state is not self._state:
            self._state = state
            self._notify()

    def _notify(self) -> None:
        if self._listener is None:
            return
        try:
            self._listener()
        except Exception:
            _LOGGER.exception("The softphone's listener failed")

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _ended(snapshot: SessionSnapshot, conversation_id: str) -> bool:
    """Whether Genesys shows the agent's leg of a conversation over (or forgot it)."""
    conversation = snapshot.conversations.get(conversation_id)
    agent = snapshot.agent
    leg = conversation.user_participant(agent.id) if conversation and agent else None
    return leg is None or leg.is_terminal


def _prepare_media() -> None:
    """Import aiortc and av (about a second) and pay their first call's costs: not in the loop."""
    from .media import prepare  # noqa: PLC0415 - aiortc only when the phone runs

    prepare()


def _aiortc_media(options: SoftphoneOptions, on_ice_state: Callable[[str], None]) -> PhoneMedia:
    """One call's aiortc media (the module is loaded by ``async_start``)."""
    from .media import AiortcMediaSession  # noqa: PLC0415 - aiortc only when the phone runs

    return AiortcMediaSession(
        options.source, output_device=options.output_device, on_ice_state=on_ice_state
    )


class _Reporting:
    """Hands the signalling a media session, and tells the owner when answering it failed."""

    def __init__(
        self,
        media: PhoneMedia,
        on_failure: Callable[[Exception], None],
        on_closed: Callable[[PhoneMedia], None],
    ) -> None:
        self._media = media
        self._on_failure = on_failure
        self._on_closed = on_closed

    async def answer(self, offer_sdp: str, ice_servers: list[IceServer]) -> str:
        try:
            return await self._media.answer(offer_sdp, ice_servers)
        except Exception as err:
            self._on_failure(err)  # the signalling keeps only its text
            raise

    async def add_remote_candidate(
        self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        await self._media.add_remote_candidate(candidate, sdp_mid, sdp_mline_index)

    async def carrying(self) -> None:
        await self._media.carrying()

    async def close(self) -> None:
        self._on_closed(self._media)
        await self._media.close()
