"""The platform API: shapes, headers and Genesys' errors."""

from typing import Any

from aiohttp import ClientSession
import pytest

from genesys_emulator import Emulator
from genesys_emulator.testing import login_with_pkce

from .helpers import api, participant, participant_path

ERROR_FIELDS = {
    "message",
    "code",
    "status",
    "messageWithParams",
    "messageParams",
    "contextId",
    "details",
    "errors",
}


async def _connected_call(
    session: ClientSession, emu: Emulator, token: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    conversation_id = await emu.control.start_inbound_call()
    await emu.control.answer(conversation_id)
    _, conversation = await api(
        session, emu, "GET", f"/conversations/calls/{conversation_id}", token
    )
    return conversation_id, conversation


async def test_users_me_expands_presence_and_routing_status(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    response, me = await api(session, emulator, "GET", "/users/me", agent_token)
    assert not {"station", "presence", "routingStatus"} & set(me)
    assert me["chat"]["jabberId"].endswith(".orgspan.com")
    await emulator.control.set_presence(emulator.demo_agent.id, "Busy")
    await emulator.control.set_routing_status(emulator.demo_agent.id, "IDLE")
    response, me = await api(
        session, emulator, "GET", "/users/me?expand=presence,routingStatus", agent_token
    )
    assert me["presence"]["presenceDefinition"]["systemPresence"] == "Busy"
    assert me["routingStatus"]["status"] == "IDLE"
    assert response.headers["inin-ratelimit-allowed"] == "300"
    assert response.headers["inin-ratelimit-count"] == "2"


async def test_station_presence_and_routing_reads(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    agent = emulator.demo_agent
    response, station = await api(
        session, emulator, "GET", f"/stations/{agent.station_id}", agent_token
    )
    assert (station["userId"], station["status"]) == (agent.id, "ASSOCIATED")
    _, presence = await api(
        session, emulator, "GET", f"/users/{agent.id}/presences/purecloud", agent_token
    )
    assert presence["presenceDefinition"]["systemPresence"] == "Available"
    _, routing = await api(
        session, emulator, "GET", f"/users/{agent.id}/routingstatus", agent_token
    )
    assert routing == {**routing, "userId": agent.id, "status": "OFF_QUEUE"}
    for path in (
        "/stations/unknown",
        f"/users/{agent.id}/presences/teams",
        "/users/unknown/routingstatus",
        "/no/such/route",
    ):
        response, error = await api(session, emulator, "GET", path, agent_token)
        assert (response.status, error["code"]) == (404, "not.found"), path
        assert set(error) == ERROR_FIELDS


async def test_users_without_station(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    token = await login_with_pkce(session, emulator, login_hint=emulator.supervisor.email)
    _, me = await api(session, emulator, "GET", "/users/me?expand=station", token)
    assert me["station"] == {}
    response, error = await api(
        session, emulator, "POST", "/conversations/calls", token, {"phoneNumber": "+1555"}
    )
    assert (response.status, error["code"]) == (400, "conversation.error.no.user.station")
    station = await emulator.control.create_station(emulator.supervisor.id)
    _, me = await api(session, emulator, "GET", "/users/me?expand=station", token)
    assert me["station"]["effectiveStation"]["id"] == station.id


async def test_list_and_get_calls(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    _, listing = await api(session, emulator, "GET", "/conversations/calls", agent_token)
    assert (listing["entities"], listing["total"]) == ([], 0)
    conversation_id, conversation = await _connected_call(session, emulator, agent_token)
    _, listing = await api(session, emulator, "GET", "/conversations/calls", agent_token)
    assert [c["id"] for c in listing["entities"]] == [conversation_id]
    assert [p["purpose"] for p in conversation["participants"]] == ["customer", "acd", "agent"]
    agent = participant(conversation, "agent")
    assert agent["user"]["id"] == emulator.demo_agent.id
    assert agent["state"] == "connected"
    assert participant(conversation, "acd")["disconnectType"] == "transfer"
    assert conversation["selfUri"].endswith(conversation_id)


async def test_place_call(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    response, created = await api(
        session, emulator, "POST", "/conversations/calls", agent_token, {"phoneNumber": "+1555"}
    )
    assert response.status == 200
    _, conversation = await api(
        session, emulator, "GET", f"/conversations/calls/{created['id']}", agent_token
    )
    assert participant(conversation, "external")["address"] == "tel:+1555"
    assert participant(conversation, "agent")["state"] == "dialing"
    response, error = await api(session, emulator, "POST", "/conversations/calls", agent_token, {})
    assert (response.status, error["code"]) == (400, "bad.request")


async def test_patch_mute_hold_and_hang_up(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    conversation_id, conversation = await _connected_call(session, emulator, agent_token)
    agent = participant(conversation, "agent")
    path = participant_path(conversation_id, agent["id"])
    for body in ({"muted": True}, {"held": True}, {"held": False}):
        response, answer = await api(session, emulator, "PATCH", path, agent_token, body)
        assert (response.status, answer) == (202, None)
    _, conversation = await api(
        session, emulator, "GET", f"/conversations/calls/{conversation_id}", agent_token
    )
    agent = participant(conversation, "agent")
    assert (agent["muted"], agent["held"]) == (True, False)

    response, _ = await api(
        session, emulator, "PATCH", path, agent_token, {"state": "disconnected"}
    )
    assert response.status == 202
    _, conversation = await api(
        session, emulator, "GET", f"/conversations/calls/{conversation_id}", agent_token
    )
    assert participant(conversation, "agent")["disconnectType"] == "client"
    assert participant(conversation, "customer")["state"] == "disconnected"
    response, error = await api(session, emulator, "PATCH", path, agent_token, {"muted": False})
    assert (response.status, error["code"]) == (400, "conversation.error.call.disconnected")

    response, _ = await api(session, emulator, "PATCH", path, agent_token, {"wrapupSkipped": True})
    assert response.status == 202
    _, listing = await api(session, emulator, "GET", "/conversations/calls", agent_token)
    assert listing["entities"] == []


async def test_answer_by_patch_and_hold_while_alerting(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    conversation_id = await emulator.control.start_inbound_call()
    _, conversation = await api(
        session, emulator, "GET", f"/conversations/calls/{conversation_id}", agent_token
    )
    path = participant_path(conversation_id, participant(conversation, "agent")["id"])
    response, error = await api(session, emulator, "PATCH", path, agent_token, {"held": True})
    assert (response.status, error["code"]) == (400, "conversation.error.hold.alerting")
    response, _ = await api(session, emulator, "PATCH", path, agent_token, {"state": "connected"})
    assert response.status == 202
    response, error = await api(
        session, emulator, "PATCH", path, agent_token, {"state": "connected"}
    )
    assert (response.status, error["code"]) == (400, "bad.request")


async def test_the_agent_may_mute_the_customer(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    conversation_id, conversation = await _connected_call(session, emulator, agent_token)
    customer = participant(conversation, "customer")
    path = participant_path(conversation_id, customer["id"])
    response, _ = await api(session, emulator, "PATCH", path, agent_token, {"muted": True})
    assert response.status == 202
    assert participant(emulator.control.state()["conversations"][0], "customer")["muted"] is True


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"muted": "yes"}, 400, "bad.request"),
        ({"state": "parked"}, 400, "bad.request"),
        ([1, 2], 400, "bad.request"),
    ],
)
async def test_patch_refuses_bad_bodies(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    body: Any,
    status: int,
    code: str,
) -> None:
    conversation_id, conversation = await _connected_call(session, emulator, agent_token)
    path = participant_path(conversation_id, participant(conversation, "agent")["id"])
    response, error = await api(session, emulator, "PATCH", path, agent_token, body)
    assert (response.status, error["code"]) == (status, code)


async def test_patch_not_json(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    conversation_id, _ = await _connected_call(session, emulator, agent_token)
    url = emulator.base_url + "/api/v2" + participant_path(conversation_id, "x")
    headers = {"Authorization": f"Bearer {agent_token['access_token']}"}
    async with session.patch(url, data=b"{", headers=headers) as response:
        assert (response.status, (await response.json())["code"]) == (400, "bad.request")


async def test_patch_who_may_change_what(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    conversation_id, conversation = await _connected_call(session, emulator, agent_token)
    agent = participant(conversation, "agent")
    path = participant_path(conversation_id, agent["id"])
    mute = {"muted": True}

    supervisor = await login_with_pkce(session, emulator, login_hint=emulator.supervisor.email)
    response, error = await api(session, emulator, "PATCH", path, supervisor, mute)
    assert (response.status, error["code"]) == (
        404,
        "conversation.error.not.conversation.participant",
    )
    response, error = await api(
        session, emulator, "PATCH", participant_path("unknown", agent["id"]), agent_token, mute
    )
    assert (response.status, error["code"]) == (404, "not.found")
    response, error = await api(
        session, emulator, "PATCH", participant_path(conversation_id, "unknown"), agent_token, mute
    )
    assert (response.status, error["code"]) == (404, "not.found")

    trainee = await emulator.control.create_user(
        "Tia Trainee", "tia@example.com", permissions=frozenset()
    )
    await emulator.control.create_station(trainee.id)
    token = await login_with_pkce(session, emulator, login_hint="tia@example.com")
    response, error = await api(session, emulator, "PATCH", path, token, mute)
    assert (response.status, error["code"]) == (403, "missing.permissions")
    assert "conversation:participant:wrapup" in error["message"]
    assert error["messageParams"]["permissions"] in error["message"]

    _, client = await _client_credentials(session, emulator)
    response, error = await api(session, emulator, "PATCH", path, client, mute)
    assert (response.status, error["code"]) == (400, "not.a.user")
    response, _ = await api(
        session, emulator, "GET", f"/conversations/calls/{conversation_id}", client
    )
    assert response.status == 200


async def _client_credentials(session: ClientSession, emu: Emulator) -> tuple[int, dict[str, Any]]:
    form = {
        "grant_type": "client_credentials",
        "client_id": emu.demo_client.id,
        "client_secret": emu.demo_client.secret,
    }
    async with session.post(emu.base_url + "/login/oauth/token", data=form) as response:
        return response.status, await response.json()


async def test_audit_log_records_api_calls(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    conversation_id, conversation = await _connected_call(session, emulator, agent_token)
    path = participant_path(conversation_id, participant(conversation, "agent")["id"])
    await api(session, emulator, "PATCH", path, agent_token, {"muted": True})
    await api(session, emulator, "GET", "/users/me", "bogus")
    records = emulator.control.audit_log(emulator.demo_agent.id)
    assert [(r.method, r.status) for r in records] == [("GET", 200), ("PATCH", 202)]
    assert records[-1].body == {"muted": True}
    assert records[-1].path == "/api/v2" + path
    assert emulator.audit[-1].user_id is None
    assert emulator.audit[-1].status == 401
