"""Answer, decline, hang up, hold, wrap-up and presence, over real sockets to the emulator.

Each command is checked by what Genesys (the emulator) holds afterwards and by the session's own
state; each refusal by its typed reason and by the emulator's audit showing nothing was sent.
"""

import pytest

from custom_components.genesys_agent.genesys_cloud import (
    AgentSession,
    CallState,
    CommandRefusal,
    GenesysClient,
    GenesysCommandNotAllowedError,
    GenesysForbiddenError,
    GenesysNoActiveCallError,
    PresenceState,
)
from genesys_emulator import Emulator

from ..audit import call_control_requests, user_leg
from .helpers import connected_call, until


async def ringing_call(emulator: Emulator, session: AgentSession, **options: str) -> str:
    conversation_id = await emulator.control.start_inbound_call(**options)
    await until(lambda: session.snapshot.agent_state.call_state is CallState.RINGING)
    return conversation_id


async def test_answer_a_ringing_call(emulator: Emulator, session: AgentSession) -> None:
    conversation_id = await ringing_call(emulator, session)
    await session.async_answer()
    # Confirmed by the event before the command returns.
    assert session.snapshot.agent_state.call_state is CallState.CONNECTED
    assert user_leg(emulator, conversation_id)["state"] == "connected"
    assert [r.body for r in call_control_requests(emulator)] == [{"state": "connected"}]


async def test_hold_and_resume(emulator: Emulator, session: AgentSession) -> None:
    conversation_id = await connected_call(emulator, session)
    await session.async_set_held(True)
    assert session.snapshot.agent_state.call_state is CallState.ON_HOLD
    assert user_leg(emulator, conversation_id)["held"] is True
    await session.async_set_held(True)  # already held: nothing to send
    await session.async_set_held(False)
    assert session.snapshot.agent_state.call_state is CallState.CONNECTED
    assert user_leg(emulator, conversation_id)["held"] is False
    assert [r.body for r in call_control_requests(emulator)] == [{"held": True}, {"held": False}]


async def test_hang_up_then_wrap_up_with_a_code(emulator: Emulator, session: AgentSession) -> None:
    conversation_id = await connected_call(emulator, session)
    await session.async_hang_up()
    assert session.snapshot.agent_state.call_state is CallState.WRAP_UP
    leg = session.snapshot.agent_leg
    assert leg is not None
    assert leg.queue_id is not None
    codes = await session.async_get_wrapup_codes(leg.queue_id)
    assert "Resolved" in [code.name for code in codes]
    resolved = next(code for code in codes if code.name == "Resolved")
    await session.async_submit_wrapup(resolved.id)
    assert session.snapshot.agent_state.call_state is CallState.IDLE
    wrapup = user_leg(emulator, conversation_id)["wrapup"]
    assert isinstance(wrapup, dict)
    assert wrapup["code"] == resolved.id


async def test_skip_an_optional_wrap_up(emulator: Emulator, session: AgentSession) -> None:
    conversation_id = await connected_call(emulator, session)
    await emulator.control.customer_hangup(conversation_id)
    await until(lambda: session.snapshot.agent_state.call_state is CallState.WRAP_UP)
    await session.async_skip_wrapup()
    assert session.snapshot.agent_state.call_state is CallState.IDLE
    assert [r.body for r in call_control_requests(emulator)] == [{"wrapupSkipped": True}]


async def test_a_mandatory_wrap_up_is_not_skipped_and_an_unknown_code_not_sent(
    emulator: Emulator, session: AgentSession
) -> None:
    await emulator.control.configure_queue("Billing", wrapup_prompt="mandatory")
    conversation_id = await ringing_call(emulator, session, queue_name="Billing")
    await emulator.control.answer(conversation_id)
    await emulator.control.customer_hangup(conversation_id)
    await until(lambda: session.snapshot.agent_state.call_state is CallState.WRAP_UP)
    with pytest.raises(GenesysCommandNotAllowedError) as refused:
        await session.async_skip_wrapup()
    assert refused.value.reason is CommandRefusal.WRAP_UP_CANNOT_BE_SKIPPED
    leg = session.snapshot.agent_leg
    assert leg is not None
    assert leg.queue_id is not None
    await session.async_get_wrapup_codes(leg.queue_id)
    with pytest.raises(GenesysCommandNotAllowedError) as refused:
        await session.async_submit_wrapup("not-a-code-of-billing")
    assert refused.value.reason is CommandRefusal.UNKNOWN_WRAP_UP_CODE
    assert call_control_requests(emulator) == []
    assert session.snapshot.agent_state.call_state is CallState.WRAP_UP


async def test_genesys_refusals_are_typed(emulator: Emulator, client: GenesysClient) -> None:
    """What Genesys itself refuses (news the session may not have had) carries its reason."""
    await emulator.control.configure_queue("Billing", wrapup_prompt="mandatory")
    conversation_id = await emulator.control.start_inbound_call(queue_name="Billing")
    participant_id = str(user_leg(emulator, conversation_id)["id"])
    with pytest.raises(GenesysCommandNotAllowedError) as refused:
        await client.async_set_held(conversation_id, participant_id, True)
    assert refused.value.reason is CommandRefusal.NOT_CONNECTED
    assert refused.value.code == "conversation.error.hold.alerting"
    await emulator.control.answer(conversation_id)
    await emulator.control.customer_hangup(conversation_id)
    with pytest.raises(GenesysCommandNotAllowedError) as refused:
        await client.async_skip_wrapup(conversation_id, participant_id)
    assert refused.value.reason is CommandRefusal.WRAP_UP_CANNOT_BE_SKIPPED


async def test_decline_an_acd_call(emulator: Emulator, session: AgentSession) -> None:
    conversation_id = await ringing_call(emulator, session)
    await session.async_decline()
    assert session.snapshot.agent_state.call_state is CallState.IDLE
    assert user_leg(emulator, conversation_id)["state"] in ("disconnected", "terminated")
    # The caller waits in the queue for another agent.
    conversation = next(
        c for c in emulator.control.state()["conversations"] if c["id"] == conversation_id
    )
    customer = next(p for p in conversation["participants"] if p["purpose"] == "customer")
    assert customer["state"] == "connected"
    assert [(r.method, r.body) for r in call_control_requests(emulator)] == [
        ("PATCH", {"state": "disconnected"})
    ]


async def test_decline_a_direct_call_sends_it_to_voicemail(
    emulator: Emulator, session: AgentSession
) -> None:
    conversation_id = await emulator.control.start_direct_call()
    await until(lambda: session.snapshot.agent_state.call_state is CallState.RINGING)
    await session.async_decline()
    assert session.snapshot.agent_state.call_state is CallState.IDLE
    (request,) = call_control_requests(emulator)
    assert request.method == "POST"
    assert request.path.endswith("/replace")
    assert request.body == {"voicemail": True}
    conversation = next(
        c for c in emulator.control.state()["conversations"] if c["id"] == conversation_id
    )
    assert "voicemail" in [p["purpose"] for p in conversation["participants"]]


async def test_every_call_command_is_refused_in_the_wrong_state(
    emulator: Emulator, session: AgentSession
) -> None:
    """Nothing is sent when the state forbids the command."""
    idle = {
        session.async_answer: CommandRefusal.NOT_RINGING,
        session.async_decline: CommandRefusal.NOT_RINGING,
        session.async_hang_up: CommandRefusal.NOT_CONNECTED,
        session.async_skip_wrapup: CommandRefusal.NOT_IN_WRAP_UP,
    }
    for command, reason in idle.items():
        with pytest.raises(GenesysCommandNotAllowedError) as refused:
            await command()
        assert refused.value.reason is reason
    for held in (True, False):
        with pytest.raises(GenesysCommandNotAllowedError):
            await session.async_set_held(held)
    with pytest.raises(GenesysCommandNotAllowedError):
        await session.async_submit_wrapup("any")
    await ringing_call(emulator, session)
    for command, reason in {
        session.async_hang_up: CommandRefusal.NOT_CONNECTED,
        session.async_skip_wrapup: CommandRefusal.NOT_IN_WRAP_UP,
    }.items():
        with pytest.raises(GenesysCommandNotAllowedError) as refused:
            await command()
        assert refused.value.reason is reason
    with pytest.raises(GenesysCommandNotAllowedError) as refused:
        await session.async_set_held(True)
    assert refused.value.reason is CommandRefusal.NOT_CONNECTED
    with pytest.raises(GenesysNoActiveCallError):
        await session.async_set_mute(True)
    await session.async_answer()
    with pytest.raises(GenesysCommandNotAllowedError) as refused:
        await session.async_answer()
    assert refused.value.reason is CommandRefusal.NOT_RINGING
    assert [r.body for r in call_control_requests(emulator)] == [{"state": "connected"}]


async def test_hanging_up_one_call_is_confirmed_while_another_is_followed(
    emulator: Emulator, session: AgentSession
) -> None:
    """The hang-up's leg is no longer the followed one once it ends; it still confirms."""
    first = await connected_call(emulator, session)
    await session.async_set_held(True)
    second = await emulator.control.start_inbound_call()
    await emulator.control.answer(second)
    await until(
        lambda: session.snapshot.agent_state.conversation_id == second
        and session.snapshot.agent_state.call_state is CallState.CONNECTED
    )
    await session.async_hang_up()
    assert user_leg(emulator, second)["state"] == "disconnected"
    assert user_leg(emulator, first)["state"] == "connected"


async def test_presence_definitions_and_a_round_trip(
    emulator: Emulator, session: AgentSession
) -> None:
    definitions = await session.async_get_presence_definitions()
    systems = {d.system_presence for d in definitions if not d.secondary}
    assert PresenceState.ON_QUEUE in systems
    assert PresenceState.AVAILABLE in systems
    focus = next(d for d in definitions if d.label("en") == "Focus time")
    assert focus.secondary
    assert focus.system_presence is PresenceState.BUSY
    assert focus.label("de") == "Konzentriertes Arbeiten"
    assert all(not d.deactivated for d in definitions)

    await session.async_set_presence(focus.id)
    assert session.snapshot.presence_definition_id == focus.id
    assert session.snapshot.presence is PresenceState.BUSY
    (request,) = call_control_requests(emulator)
    assert request.body == {"presenceDefinition": {"id": focus.id}}

    # A change made on the desktop shows up.
    on_queue = next(d for d in definitions if d.system_presence is PresenceState.ON_QUEUE)
    await emulator.control.set_presence_definition(emulator.demo_agent.id, on_queue.id)
    await until(lambda: session.snapshot.presence_definition_id == on_queue.id)
    assert session.snapshot.presence is PresenceState.ON_QUEUE

    with pytest.raises(GenesysCommandNotAllowedError) as refused:
        await session.async_set_presence("not-a-presence")
    assert refused.value.reason is CommandRefusal.UNKNOWN_PRESENCE
    await session.async_set_presence(on_queue.id)  # already: nothing sent
    assert len(call_control_requests(emulator)) == 1


@pytest.mark.parametrize("command", ["answer", "hold", "hang_up", "presence"])
async def test_each_command_whose_event_is_lost_is_read_back(
    emulator: Emulator, session: AgentSession, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """No event arrives (the socket hears nothing): REST shows the change, the command returns."""
    if command == "answer":
        await ringing_call(emulator, session)
    elif command != "presence":
        await connected_call(emulator, session)
    definitions = await session.async_get_presence_definitions()
    busy = next(d for d in definitions if d.system_presence is PresenceState.BUSY)
    monkeypatch.setattr(session.tracker, "handle_frame", lambda text: False)
    session.commands.confirm_timeout = 0.3
    match command:
        case "answer":
            await session.async_answer()
            assert session.snapshot.agent_state.call_state is CallState.CONNECTED
        case "hold":
            await session.async_set_held(True)
            assert session.snapshot.agent_state.call_state is CallState.ON_HOLD
        case "hang_up":
            await session.async_hang_up()
            assert session.snapshot.agent_state.call_state is CallState.WRAP_UP
        case "presence":
            await session.async_set_presence(busy.id)
            assert session.snapshot.presence_definition_id == busy.id
            assert session.snapshot.presence is PresenceState.BUSY
    assert len(call_control_requests(emulator)) == 1


async def test_a_role_that_may_not_read_the_queue_gets_the_legs_wrap_up_codes(
    emulator: Emulator, session: AgentSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation_id = await connected_call(emulator, session)
    await emulator.control.customer_hangup(conversation_id)
    await until(lambda: session.snapshot.agent_state.call_state is CallState.WRAP_UP)

    async def forbidden(queue_id: str) -> list[object]:
        # The emulator checks no queue permission: Genesys' 403 for a role without it.
        raise GenesysForbiddenError("missing.permissions", status=403)

    monkeypatch.setattr(session.client, "async_get_queue_wrapup_codes", forbidden)
    leg = session.snapshot.agent_leg
    assert leg is not None
    assert leg.queue_id is not None
    codes = await session.async_get_wrapup_codes(leg.queue_id)
    assert "Resolved" in [code.name for code in codes]
    reads = [r.path for r in emulator.audit if r.method == "GET" and "wrapupcodes" in r.path]
    assert reads == [
        f"/api/v2/conversations/calls/{conversation_id}/participants/{leg.id}/wrapupcodes"
    ]
