"""The commands on the agent's call and presence, each saying what it sends and what confirms it.

Every call command acts on the agent's own leg of the followed call (the leg rules of
``state.py``), only in the call states that allow it: answer and decline while ringing; hold,
resume and hang up while connected (hang up also while dialing); wrap-up while in wrap-up. In any
other state it raises ``GenesysCommandNotAllowedError`` (mute: ``GenesysNoActiveCallError``)
before anything is sent. A command that would change nothing (hold a held call) sends nothing.

Confirmation looks at the leg the command was sent to, found by its ids, not at whatever call is
followed when the event comes: after a hang-up the agent may be following another call.

Declining follows Genesys' WebRTC SDK: an ACD offer (``purpose: agent``) is disconnected and goes
back to the queue; a direct call (``purpose: user``) is replaced by the user's voicemail
(``POST …/replace {"voicemail": true}``), so the caller can leave a message.
"""

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from .client import GenesysClient
from .commands import CommandFactory, PreparedCommand
from .exceptions import (
    CommandRefusal,
    GenesysCommandNotAllowedError,
    GenesysCommandNotConfirmedError,
    GenesysError,
    GenesysMuteNotConfirmedError,
    GenesysNoActiveCallError,
)
from .models import CallState, Participant, WrapupCode
from .state import MUTABLE_STATES
from .tracker import SessionSnapshot, StateTracker

_RINGING = frozenset({CallState.RINGING})
_TALKING = frozenset({CallState.CONNECTED, CallState.ON_HOLD})
_WRAP_UP = frozenset({CallState.WRAP_UP})


def _ended(leg: Participant | None) -> bool:
    """The leg hung up, or its conversation is over for the agent (dropped by the tracker)."""
    return leg is None or leg.is_terminal


def _wrapped_up(leg: Participant | None) -> bool:
    return leg is None or not leg.awaits_wrapup


def _refused(reason: CommandRefusal) -> Callable[[], GenesysError]:
    return lambda: GenesysCommandNotAllowedError(reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class LegCommand:
    """One command on the agent's own leg: when it may be sent, what it sends, what confirms it."""

    name: str
    allowed: Collection[CallState]
    refused: Callable[[], GenesysError]
    # Sends the command to (conversation id, the leg).
    send: Callable[[str, Participant], Awaitable[None]]
    # The leg (None: its conversation is over) shows the command took.
    done: Callable[[Participant | None], bool]
    # A refusal the leg itself calls for, in an allowed state (a mandatory wrap-up's skip).
    refusal_for: Callable[[Participant], CommandRefusal | None] = lambda leg: None
    # The command ends the leg (hang up, decline, wrap-up): its end confirms, never loses it.
    ends_leg: bool = False
    not_confirmed: type[GenesysCommandNotConfirmedError] = GenesysCommandNotConfirmedError
    # The mute this command sets, so the tracker attributes the change to us.
    sets_mute: bool | None = None


def leg_command(
    client: GenesysClient, tracker: StateTracker, command: LegCommand
) -> CommandFactory:
    """The factory of ``command``, checked against the state when its turn comes."""

    def prepare(snapshot: SessionSnapshot) -> PreparedCommand | None:
        state = snapshot.agent_state
        leg = snapshot.agent_leg
        if leg is None or state.call_state not in command.allowed:
            raise command.refused()
        if (refusal := command.refusal_for(leg)) is not None:
            raise GenesysCommandNotAllowedError(refusal)
        if command.done(leg):
            return None
        conversation_id, participant_id = state.conversation_id, leg.id
        assert conversation_id is not None

        def target(s: SessionSnapshot) -> Participant | None:
            return s.leg(conversation_id, participant_id)

        async def read_back() -> None:
            tracker.apply_conversation(await client.async_get_call(conversation_id))

        return PreparedCommand(
            send=lambda: command.send(conversation_id, leg),
            confirmed=lambda s: command.done(target(s)),
            lost=(lambda s: False) if command.ends_leg else (lambda s: _ended(target(s))),
            read_back=read_back,
            not_confirmed=lambda timeout: command.not_confirmed(
                f"Genesys did not confirm the {command.name} within {timeout:g} s"
            ),
            lost_error=lambda: GenesysNoActiveCallError(
                f"The call ended before the {command.name} took"
            ),
            expected_mute=None
            if command.sets_mute is None
            else (participant_id, command.sets_mute),
        )

    return prepare


def mute(client: GenesysClient, muted: bool) -> LegCommand:
    """Mute or unmute."""
    return LegCommand(
        name="mute",
        allowed=MUTABLE_STATES,
        refused=lambda: GenesysNoActiveCallError("There is no connected call to mute"),
        send=lambda c, leg: client.async_set_mute(c, leg.id, muted),
        done=lambda leg: leg is not None and leg.muted == muted,
        not_confirmed=GenesysMuteNotConfirmedError,
        sets_mute=muted,
    )


def answer(client: GenesysClient) -> LegCommand:
    """Answer the ringing call."""
    return LegCommand(
        name="answer",
        allowed=_RINGING,
        refused=_refused(CommandRefusal.NOT_RINGING),
        send=lambda c, leg: client.async_answer(c, leg.id),
        done=lambda leg: leg is not None and leg.state == "connected",
    )


def decline(client: GenesysClient) -> LegCommand:
    """Decline the ringing call: back to the queue, or a direct call to voicemail."""

    async def send(conversation_id: str, leg: Participant) -> None:
        if leg.purpose == "user":
            await client.async_send_to_voicemail(conversation_id, leg.id)
        else:
            await client.async_disconnect(conversation_id, leg.id)

    return LegCommand(
        name="decline",
        allowed=_RINGING,
        refused=_refused(CommandRefusal.NOT_RINGING),
        send=send,
        done=_ended,
        ends_leg=True,
    )


def hang_up(client: GenesysClient) -> LegCommand:
    """Hang up the connected, held or dialing call."""
    return LegCommand(
        name="hang-up",
        allowed=_TALKING | {CallState.DIALING},
        refused=_refused(CommandRefusal.NOT_CONNECTED),
        send=lambda c, leg: client.async_disconnect(c, leg.id),
        done=_ended,
        ends_leg=True,
    )


def hold(client: GenesysClient, held: bool) -> LegCommand:
    """Hold or resume the connected call."""
    return LegCommand(
        name="hold" if held else "resume",
        allowed=_TALKING,
        refused=_refused(CommandRefusal.NOT_CONNECTED),
        send=lambda c, leg: client.async_set_held(c, leg.id, held),
        done=lambda leg: leg is not None and leg.held == held,
    )


def skip_wrapup(client: GenesysClient) -> LegCommand:
    """Skip the wrap-up the agent owes, where the queue allows it."""
    return LegCommand(
        name="wrap-up",
        allowed=_WRAP_UP,
        refused=_refused(CommandRefusal.NOT_IN_WRAP_UP),
        refusal_for=lambda leg: (
            CommandRefusal.WRAP_UP_CANNOT_BE_SKIPPED if leg.wrapup_prompt == "mandatory" else None
        ),
        send=lambda c, leg: client.async_skip_wrapup(c, leg.id),
        done=_wrapped_up,
        ends_leg=True,
    )


def submit_wrapup(
    client: GenesysClient,
    code_id: str,
    codes: Collection[WrapupCode] | None,
    notes: str | None = None,
) -> LegCommand:
    """Finish wrap-up with ``code_id``, which must be one of ``codes`` (when they are known)."""
    unknown = codes is not None and all(code.id != code_id for code in codes)
    return LegCommand(
        name="wrap-up",
        allowed=_WRAP_UP,
        refused=_refused(CommandRefusal.NOT_IN_WRAP_UP),
        refusal_for=lambda leg: CommandRefusal.UNKNOWN_WRAP_UP_CODE if unknown else None,
        send=lambda c, leg: client.async_submit_wrapup(c, leg.id, code_id, notes),
        done=_wrapped_up,
        ends_leg=True,
    )


def presence_command(
    client: GenesysClient,
    tracker: StateTracker,
    definition_id: str,
    known_ids: Collection[str] | None,
) -> CommandFactory:
    """Set the agent's presence to one of the org's definitions; its event confirms it."""

    def prepare(snapshot: SessionSnapshot) -> PreparedCommand | None:
        if known_ids is not None and definition_id not in known_ids:
            raise GenesysCommandNotAllowedError(CommandRefusal.UNKNOWN_PRESENCE)
        if snapshot.presence_definition_id == definition_id:
            return None
        user_id = tracker.user_id

        async def read_back() -> None:
            presence, current = await client.async_get_presence_and_definition(user_id)
            tracker.publish(presence=presence, presence_definition_id=current)

        return PreparedCommand(
            send=lambda: client.async_set_presence(user_id, definition_id),
            confirmed=lambda s: s.presence_definition_id == definition_id,
            read_back=read_back,
            not_confirmed=lambda timeout: GenesysCommandNotConfirmedError(
                f"Genesys did not confirm the presence within {timeout:g} s"
            ),
        )

    return prepare
