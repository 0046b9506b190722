"""Call control over the API as Genesys answers it: answer, decline, hang up, hold, wrap-up,
voicemail; every refusal is an ErrorBody, changes nothing and is in the audit log."""

from typing import Any

from aiohttp import ClientSession

from genesys_emulator import Emulator
from genesys_emulator.state import DEFAULT_WRAPUP_CODES
from genesys_emulator.testing import login_with_pkce

from .helpers import Notifications, api, participant, participant_path

CALLS = ".conversations.calls"


async def _call(
    session: ClientSession, emu: Emulator, token: dict[str, Any], conversation_id: str
) -> dict[str, Any]:
    _, conversation = await api(
        session, emu, "GET", f"/conversations/calls/{conversation_id}", token
    )
    assert isinstance(conversation, dict)
    return conversation


async def _leg(
    session: ClientSession,
    emu: Emulator,
    token: dict[str, Any],
    conversation_id: str,
    purpose: str = "agent",
) -> dict[str, Any]:
    return participant(await _call(session, emu, token, conversation_id), purpose)


async def _patch(
    session: ClientSession,
    emu: Emulator,
    token: dict[str, Any],
    conversation_id: str,
    leg: dict[str, Any],
    body: Any,
) -> tuple[int, Any]:
    path = participant_path(conversation_id, leg["id"])
    response, answer = await api(session, emu, "PATCH", path, token, body)
    return response.status, answer


async def _accepted(
    session: ClientSession,
    emu: Emulator,
    token: dict[str, Any],
    conversation_id: str,
    leg: dict[str, Any],
    body: Any,
) -> None:
    """PATCH, and insist on Genesys' 202 with no body."""
    assert await _patch(session, emu, token, conversation_id, leg, body) == (202, None)


async def _next_leg(events: Notifications, purpose: str = "agent") -> dict[str, Any]:
    return participant((await events.event(CALLS))["eventBody"], purpose)


def _refused(answer: tuple[int, Any], status: int, code: str) -> None:
    assert (answer[0], answer[1]["code"]) == (status, code), answer


def _patches(emu: Emulator) -> list[tuple[Any, int]]:
    """The participant PATCHes and replaces the agent sent, with their answers."""
    return [
        (r.body, r.status)
        for r in emu.control.audit_log(emu.demo_agent.id)
        if r.method in {"PATCH", "POST"} and "/participants/" in r.path
    ]


async def _wrapping_up(
    session: ClientSession, emu: Emulator, token: dict[str, Any], queue_name: str = "Support"
) -> tuple[str, dict[str, Any]]:
    """An answered ACD call the customer has hung up on: the agent's leg awaits wrap-up."""
    conversation_id = await emu.control.start_inbound_call(queue_name=queue_name)
    await emu.control.answer(conversation_id)
    await emu.control.customer_hangup(conversation_id)
    return conversation_id, await _leg(session, emu, token, conversation_id)


# ---------------------------------------------------------------- answer, decline, hang up


async def test_answer_connects_only_an_alerting_leg(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    conversation_id = await emulator.control.start_inbound_call()
    leg = await _next_leg(agent_events)
    assert leg["state"] == "alerting"
    answer = {"state": "connected"}
    await _accepted(session, emulator, agent_token, conversation_id, leg, answer)
    body = (await agent_events.event(CALLS))["eventBody"]
    assert participant(body, "agent")["state"] == "connected"
    assert participant(body, "acd")["disconnectType"] == "transfer"

    again = await _patch(session, emulator, agent_token, conversation_id, leg, answer)
    _refused(again, 400, "bad.request")
    await emulator.control.customer_hangup(conversation_id)
    after = await _patch(session, emulator, agent_token, conversation_id, leg, answer)
    _refused(after, 400, "conversation.error.call.disconnected")
    assert _patches(emulator) == [(answer, 202), (answer, 400), (answer, 400)]


async def test_a_dialing_call_cannot_be_answered_or_held_but_can_be_hung_up(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    conversation_id = await emulator.control.start_outbound_call()
    leg = await _next_leg(agent_events)
    assert leg["state"] == "dialing"
    for body in ({"state": "connected"}, {"held": True}):
        _refused(
            await _patch(session, emulator, agent_token, conversation_id, leg, body),
            400,
            "bad.request",
        )
    external = await _leg(session, emulator, agent_token, conversation_id, "external")
    assert external["state"] == "contacting"
    hang_up = {"state": "disconnected"}
    await _accepted(session, emulator, agent_token, conversation_id, leg, hang_up)
    body = (await agent_events.event(CALLS))["eventBody"]
    assert participant(body, "agent")["disconnectType"] == "client"
    assert participant(body, "external")["disconnectType"] == "peer"
    assert (await _next_leg(agent_events))["state"] == "terminated"


async def test_declining_an_acd_offer_leaves_the_caller_in_the_queue(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    conversation_id = await emulator.control.start_inbound_call()
    leg = await _next_leg(agent_events)
    decline = {"state": "disconnected"}
    await _accepted(session, emulator, agent_token, conversation_id, leg, decline)
    body = (await agent_events.event(CALLS))["eventBody"]
    agent = participant(body, "agent")
    assert (agent["state"], agent["disconnectType"], agent["wrapupRequired"]) == (
        "disconnected",
        "client",
        False,
    )
    assert "startAcwTime" not in agent
    assert participant(body, "customer")["state"] == "connected"
    assert participant(body, "acd")["state"] == "connected"
    assert (await _next_leg(agent_events))["state"] == "terminated"
    _, listing = await api(session, emulator, "GET", "/conversations/calls", agent_token)
    assert listing["entities"] == []


async def test_hold_resume_and_hang_up_a_held_call(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    conversation_id = await emulator.control.start_inbound_call()
    leg = await _next_leg(agent_events)
    hold = {"held": True}
    ringing = await _patch(session, emulator, agent_token, conversation_id, leg, hold)
    _refused(ringing, 400, "conversation.error.hold.alerting")
    assert (await _leg(session, emulator, agent_token, conversation_id))["held"] is False
    await emulator.control.answer(conversation_id)
    await _next_leg(agent_events)

    await _accepted(session, emulator, agent_token, conversation_id, leg, hold)
    held = await _next_leg(agent_events)
    assert (held["held"], "startHoldTime" in held) == (True, True)
    resume = {"held": False}
    await _accepted(session, emulator, agent_token, conversation_id, leg, resume)
    assert "startHoldTime" not in await _next_leg(agent_events)
    await _patch(session, emulator, agent_token, conversation_id, leg, hold)
    await _next_leg(agent_events)

    hang_up = {"state": "disconnected"}
    await _accepted(session, emulator, agent_token, conversation_id, leg, hang_up)
    body = (await agent_events.event(CALLS))["eventBody"]
    agent = participant(body, "agent")
    assert (agent["state"], agent["disconnectType"], agent["held"]) == (
        "disconnected",
        "client",
        False,
    )
    assert (agent["wrapupRequired"], agent["wrapupPrompt"]) == (True, "optional")
    assert participant(body, "customer")["disconnectType"] == "peer"
    late = await _patch(session, emulator, agent_token, conversation_id, leg, resume)
    _refused(late, 400, "conversation.error.call.disconnected")
    assert [status for _, status in _patches(emulator)] == [400, 202, 202, 202, 202, 400]


# ---------------------------------------------------------------- wrap-up


async def test_wrap_up_with_a_code_of_the_queue(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    conversation_id, leg = await _wrapping_up(session, emulator, agent_token, "Billing")
    assert (leg["state"], leg["wrapupRequired"], leg["wrapupPrompt"]) == (
        "disconnected",
        True,
        "optional",
    )
    path = f"/routing/queues/{leg['queue']['id']}/wrapupcodes"
    _, codes = await api(session, emulator, "GET", path, agent_token)
    assert [c["name"] for c in codes["entities"]] == list(DEFAULT_WRAPUP_CODES)
    resolved = next(c for c in codes["entities"] if c["name"] == "Resolved")
    for _ in range(3):  # ringing, connected, hung up
        await agent_events.event(CALLS)
    # Notes and tags are the agent's words: the emulator keeps them as sent.
    wrapup = {"wrapup": {"code": resolved["id"], "notes": "Refund issued", "tags": ["refund"]}}
    await _accepted(session, emulator, agent_token, conversation_id, leg, wrapup)
    done = await _next_leg(agent_events)
    assert done["wrapup"] == {
        **done["wrapup"],
        "code": resolved["id"],
        "notes": "Refund issued",
        "tags": ["refund"],
    }
    assert (done["state"], done["wrapupRequired"], "endAcwTime" in done) == (
        "disconnected",
        False,
        True,
    )
    assert (await _next_leg(agent_events))["state"] == "terminated"
    rest = await _leg(session, emulator, agent_token, conversation_id)
    assert rest["wrapup"]["name"] == "Resolved"


async def test_an_optional_wrap_up_can_be_skipped_once(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    conversation_id, leg = await _wrapping_up(session, emulator, agent_token)
    skip = {"wrapupSkipped": True}
    await _accepted(session, emulator, agent_token, conversation_id, leg, skip)
    skipped = await _leg(session, emulator, agent_token, conversation_id)
    assert (skipped["state"], skipped["wrapupSkipped"], skipped["wrapupRequired"]) == (
        "terminated",
        True,
        False,
    )
    again = await _patch(session, emulator, agent_token, conversation_id, leg, skip)
    _refused(again, 400, "bad.request")


async def test_a_mandatory_wrap_up_needs_one_of_the_queues_codes(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    queue = await emulator.control.configure_queue(
        "Escalations", wrapup_prompt="mandatory", wrapup_codes=["Fixed", "Not fixed"]
    )
    other_queue_code = emulator.org.queue("Support").wrapup_codes[0].id
    conversation_id, leg = await _wrapping_up(session, emulator, agent_token, "Escalations")
    assert leg["wrapupPrompt"] == "mandatory"
    refusals: list[tuple[Any, str]] = [
        ({"wrapupSkipped": True}, "conversation.error.wrapup.cannot.skip"),
        ({"wrapup": {}}, "conversation.error.wrapup.code.required"),
        ({"wrapup": {"code": ""}}, "conversation.error.wrapup.code.required"),
        ({"wrapup": {"code": other_queue_code}}, "bad.request"),
        ({"wrapup": {"code": 5}}, "bad.request"),
        ({"wrapup": {"code": queue.wrapup_codes[0].id, "tags": "x"}}, "bad.request"),
        ({"wrapup": "Fixed"}, "bad.request"),
    ]
    for body, code in refusals:
        answer = await _patch(session, emulator, agent_token, conversation_id, leg, body)
        _refused(answer, 400, code)
    assert answer[1]["message"] == "The request could not be understood by the server: " + (
        "wrapup must be an object"
    )
    waiting = await _leg(session, emulator, agent_token, conversation_id)
    assert (waiting["state"], waiting["wrapupRequired"], "wrapup" in waiting) == (
        "disconnected",
        True,
        False,
    )
    fixed = {"wrapup": {"code": queue.wrapup_codes[0].id}}
    await _accepted(session, emulator, agent_token, conversation_id, leg, fixed)
    assert (await _leg(session, emulator, agent_token, conversation_id))["state"] == "terminated"
    assert [status for _, status in _patches(emulator)] == [400] * len(refusals) + [202]


async def test_wrap_up_is_refused_until_the_call_ends_and_after_a_missed_call(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    conversation_id = await emulator.control.start_inbound_call()
    leg = await _leg(session, emulator, agent_token, conversation_id)
    code = emulator.org.queue("Support").wrapup_codes[0].id
    bodies = ({"wrapupSkipped": True}, {"wrapup": {"code": code}})
    for body in bodies:
        ringing = await _patch(session, emulator, agent_token, conversation_id, leg, body)
        _refused(ringing, 400, "bad.request")
    await emulator.control.answer(conversation_id)
    for body in bodies:
        talking = await _patch(session, emulator, agent_token, conversation_id, leg, body)
        _refused(talking, 400, "bad.request")

    # The customer gives up while it rings: nothing to wrap up, the call is over for the agent.
    missed = await emulator.control.start_inbound_call()
    await emulator.control.customer_hangup(missed)
    gone = await _leg(session, emulator, agent_token, missed)
    assert (gone["state"], gone["disconnectType"], gone["wrapupRequired"]) == (
        "terminated",
        "peer",
        False,
    )
    after = await _patch(session, emulator, agent_token, missed, gone, {"wrapupSkipped": True})
    _refused(after, 400, "bad.request")


async def test_wrap_up_codes_page_and_filter(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    names = ["Sold", "Not interested", "Call back later", "Callback booked", "Wrong number"]
    queue = await emulator.control.configure_queue("Sales", wrapup_codes=names)
    path = f"/routing/queues/{queue.id}/wrapupcodes"
    _, first = await api(session, emulator, "GET", path + "?pageSize=2", agent_token)
    assert [c["name"] for c in first["entities"]] == names[:2]
    assert (first["total"], first["pageCount"], first["pageNumber"]) == (5, 3, 1)
    assert first["nextUri"] == f"/api/v2{path}?pageSize=2&pageNumber=2"
    assert "previousUri" not in first
    _, last = await api(session, emulator, "GET", path + "?pageSize=2&pageNumber=3", agent_token)
    assert [c["name"] for c in last["entities"]] == names[4:]
    assert "nextUri" not in last
    assert last["previousUri"] == f"/api/v2{path}?pageSize=2&pageNumber=2"
    _, calls = await api(session, emulator, "GET", path + "?name=call*", agent_token)
    assert [c["name"] for c in calls["entities"]] == names[2:4]
    _, sold = await api(session, emulator, "GET", path + "?name=sold", agent_token)
    assert sold["entities"] == [
        {"id": queue.wrapup_codes[0].id, "name": "Sold", "selfUri": sold["entities"][0]["selfUri"]}
    ]
    for query, status, code in (
        ("?pageSize=0", 400, "bad.request"),
        ("?pageNumber=x", 400, "bad.request"),
    ):
        response, error = await api(session, emulator, "GET", path + query, agent_token)
        assert (response.status, error["code"]) == (status, code)
    response, error = await api(
        session, emulator, "GET", "/routing/queues/unknown/wrapupcodes", agent_token
    )
    assert (response.status, error["code"]) == (404, "not.found")

    acd_call = await emulator.control.start_inbound_call(queue_name="Sales")
    direct_call = await emulator.control.start_direct_call()
    for conversation_id, purpose, expected in (
        (acd_call, "agent", names),
        (direct_call, "user", []),
    ):
        leg = await _leg(session, emulator, agent_token, conversation_id, purpose)
        path = participant_path(conversation_id, leg["id"]) + "/wrapupcodes"
        _, codes = await api(session, emulator, "GET", path, agent_token)
        assert [c["name"] for c in codes] == expected


# ---------------------------------------------------------------- direct calls and voicemail


async def test_a_direct_call_declined_to_voicemail(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    conversation_id = await emulator.control.start_direct_call(ani="tel:+15550123")
    ringing = (await agent_events.event(CALLS))["eventBody"]
    assert [p["purpose"] for p in ringing["participants"]] == ["external", "user"]
    leg = participant(ringing, "user")
    assert (leg["state"], leg["direction"], leg["wrapupRequired"]) == ("alerting", "inbound", False)
    assert "queue" not in leg
    assert participant(ringing, "external")["address"] == "tel:+15550123"

    path = participant_path(conversation_id, leg["id"]) + "/replace"
    response, answer = await api(session, emulator, "POST", path, agent_token, {"voicemail": True})
    assert (response.status, answer) == (202, None)
    body = (await agent_events.event(CALLS))["eventBody"]
    user = participant(body, "user")
    assert (user["state"], user["disconnectType"]) == ("disconnected", "transfer")
    assert participant(body, "voicemail")["state"] == "connected"
    assert participant(body, "external")["state"] == "connected"
    assert (await _next_leg(agent_events, "user"))["state"] == "terminated"
    _, listing = await api(session, emulator, "GET", "/conversations/calls", agent_token)
    assert listing["entities"] == []
    response, error = await api(session, emulator, "POST", path, agent_token, {"voicemail": True})
    assert (response.status, error["code"]) == (400, "conversation.error.call.disconnected")


async def test_a_direct_call_answered_and_hung_up_has_no_wrap_up(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    conversation_id = await emulator.control.start_direct_call()
    leg = await _next_leg(agent_events, "user")
    for body in ({"state": "connected"}, {"state": "disconnected"}):
        await _accepted(session, emulator, agent_token, conversation_id, leg, body)
    assert (await _next_leg(agent_events, "user"))["state"] == "connected"
    body = (await agent_events.event(CALLS))["eventBody"]
    assert participant(body, "user")["disconnectType"] == "client"
    assert participant(body, "external")["disconnectType"] == "peer"
    assert (await _next_leg(agent_events, "user"))["state"] == "terminated"


async def test_replace_refusals_change_nothing(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    acd_call = await emulator.control.start_inbound_call()
    agent = await _leg(session, emulator, agent_token, acd_call)
    direct_call = await emulator.control.start_direct_call()
    user = participant_path(
        direct_call, (await _leg(session, emulator, agent_token, direct_call, "user"))["id"]
    )
    refusals: list[tuple[str, Any, int, str]] = [
        (participant_path(acd_call, agent["id"]), {"voicemail": True}, 400, "bad.request"),
        (user, {}, 400, "bad.request"),
        (user, {"voicemail": False}, 400, "bad.request"),
        (user, {"voicemail": "yes"}, 400, "bad.request"),
        (user, {"address": "tel:+1"}, 400, "bad.request"),
        (participant_path(direct_call, "unknown"), {"voicemail": True}, 404, "not.found"),
    ]
    for path, body, status, code in refusals:
        response, error = await api(session, emulator, "POST", path + "/replace", agent_token, body)
        assert (response.status, error["code"]) == (status, code), body
    supervisor = await login_with_pkce(session, emulator, login_hint=emulator.supervisor.email)
    response, error = await api(
        session, emulator, "POST", user + "/replace", supervisor, {"voicemail": True}
    )
    assert (response.status, error["code"]) == (
        404,
        "conversation.error.not.conversation.participant",
    )
    assert (await _leg(session, emulator, agent_token, acd_call))["state"] == "alerting"
    assert (await _leg(session, emulator, agent_token, direct_call, "user"))["state"] == "alerting"
    assert [status for _, status in _patches(emulator)] == [s for _, _, s, _ in refusals]
