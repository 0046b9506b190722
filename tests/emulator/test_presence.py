"""Presence: the org's definitions on both APIs, the presence PATCH, its events and its errors."""

from typing import Any

from aiohttp import ClientSession

from genesys_emulator import Emulator
from genesys_emulator.state import SYSTEM_PRESENCES
from genesys_emulator.testing import login_with_pkce

from .helpers import Notifications, api


def _presence_path(user_id: str) -> str:
    return f"/users/{user_id}/presences/purecloud"


def _by_label(definitions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["languageLabels"]["en_US"]: d for d in definitions}


async def _client_token(session: ClientSession, emu: Emulator) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": emu.demo_client.id,
        "client_secret": emu.demo_client.secret,
    }
    async with session.post(emu.base_url + "/login/oauth/token", data=form) as response:
        token: str = (await response.json())["access_token"]
    return token


async def test_the_org_lists_system_and_secondary_presences_on_both_apis(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    _, legacy = await api(session, emulator, "GET", "/presencedefinitions", agent_token)
    _, current = await api(session, emulator, "GET", "/presence/definitions", agent_token)
    assert legacy["total"] == current["total"] == len(legacy["entities"]) == 14
    old, new = _by_label(legacy["entities"]), _by_label(current["entities"])
    assert {label: d["id"] for label, d in old.items()} == {
        label: d["id"] for label, d in new.items()
    }
    system = [d for d in legacy["entities"] if d["primary"]]
    assert [d["systemPresence"] for d in system] == list(SYSTEM_PRESENCES)
    assert old["On Queue"]["systemPresence"] == "On Queue"
    assert (new["On Queue"]["systemPresence"], new["On Queue"]["type"]) == ("OnQueue", "System")
    focus = old["Focus time"]
    assert (focus["systemPresence"], focus["primary"], focus["deactivated"]) == (
        "Busy",
        False,
        False,
    )
    assert focus["languageLabels"]["de"] == "Konzentriertes Arbeiten"
    assert (new["Focus time"]["type"], old["Smoke break"]["deactivated"]) == ("User", True)

    for path, flag in (
        ("/presencedefinitions", "deleted"),
        ("/presence/definitions", "deactivated"),
    ):
        _, active = await api(session, emulator, "GET", f"{path}?{flag}=false", agent_token)
        _, off = await api(session, emulator, "GET", f"{path}?{flag}=TRUE", agent_token)
        assert "Smoke break" not in _by_label(active["entities"])
        assert list(_by_label(off["entities"])) == ["Smoke break"]
        response, error = await api(session, emulator, "GET", f"{path}?{flag}=maybe", agent_token)
        assert (response.status, error["code"]) == (400, "bad.request")
        _, one = await api(session, emulator, "GET", f"{path}/{focus['id']}", agent_token)
        assert one["languageLabels"]["en_US"] == "Focus time"
        response, error = await api(session, emulator, "GET", f"{path}/unknown", agent_token)
        assert (response.status, error["code"]) == (404, "not.found")
    _, page = await api(
        session, emulator, "GET", "/presencedefinitions?pageSize=10&pageNumber=2", agent_token
    )
    assert (len(page["entities"]), page["pageCount"]) == (4, 2)


async def test_setting_presence_pushes_it_and_on_queue_moves_routing(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    me = emulator.demo_agent.id
    definitions = _by_label(
        (await api(session, emulator, "GET", "/presencedefinitions", agent_token))[1]["entities"]
    )
    focus = definitions["Focus time"]["id"]
    response, presence = await api(
        session,
        emulator,
        "PATCH",
        _presence_path(me),
        agent_token,
        {"presenceDefinition": {"id": focus}},
    )
    assert response.status == 200
    assert presence["presenceDefinition"]["id"] == focus
    assert presence["presenceDefinition"]["systemPresence"] == "Busy"
    event = (await agent_events.event(".presence"))["eventBody"]
    assert event["presenceDefinition"] == {"id": focus, "systemPresence": "Busy"}
    _, read = await api(session, emulator, "GET", _presence_path(me), agent_token)
    assert read["presenceDefinition"]["id"] == focus

    on_queue = {"presenceDefinition": {"id": definitions["On Queue"]["id"]}}
    await api(session, emulator, "PATCH", _presence_path(me), agent_token, on_queue)
    assert (await agent_events.frame())["topicName"].endswith(".presence")
    routing = await agent_events.frame()
    assert routing["topicName"] == f"v2.users.{me}.routingStatus"
    assert routing["eventBody"]["routingStatus"]["status"] == "IDLE"
    _, status = await api(session, emulator, "GET", f"/users/{me}/routingstatus", agent_token)
    assert status["status"] == "IDLE"

    available = {"presenceDefinition": {"id": definitions["Available"]["id"]}, "message": "back"}
    response, presence = await api(
        session, emulator, "PATCH", _presence_path(me), agent_token, available
    )
    assert (presence["message"], presence["presenceDefinition"]["systemPresence"]) == (
        "back",
        "Available",
    )
    assert (await agent_events.frame())["eventBody"]["message"] == "back"
    routing = await agent_events.frame()
    assert routing["eventBody"]["routingStatus"]["status"] == "OFF_QUEUE"

    response, presence = await api(
        session, emulator, "PATCH", _presence_path(me), agent_token, {"message": "lunch at 1"}
    )
    assert (presence["message"], presence["presenceDefinition"]["id"]) == (
        "lunch at 1",
        definitions["Available"]["id"],
    )


async def test_refused_presence_changes_change_nothing(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    me, supervisor = emulator.demo_agent.id, emulator.supervisor.id
    deactivated = next(d for d in emulator.org.presences.values() if d.deactivated)
    busy = {"presenceDefinition": {"id": emulator.org.system_presence("Busy").id}}
    refusals: list[tuple[str, Any, int, str]] = [
        (_presence_path(me), {"presenceDefinition": {"id": "unknown"}}, 400, "bad.request"),
        (_presence_path(me), {"presenceDefinition": {"id": deactivated.id}}, 400, "bad.request"),
        (_presence_path(me), {}, 400, "bad.request"),
        (_presence_path(me), {"presenceDefinition": {}}, 400, "bad.request"),
        (_presence_path(me), {"presenceDefinition": "Busy"}, 400, "bad.request"),
        (_presence_path(me), {"message": 3}, 400, "bad.request"),
        (_presence_path(me), [busy], 400, "bad.request"),
        (_presence_path(supervisor), busy, 403, "not.authorized"),
        (f"/users/{me}/presences/teams", busy, 404, "not.found"),
        (_presence_path("unknown"), busy, 404, "not.found"),
    ]
    for path, body, status, code in refusals:
        response, error = await api(session, emulator, "PATCH", path, agent_token, body)
        assert (response.status, error["code"]) == (status, code), body
    assert emulator.demo_agent.presence.system_presence == "Available"
    assert emulator.supervisor.presence.system_presence == "Available"
    records = [r for r in emulator.control.audit_log(me) if r.method == "PATCH"]
    assert [r.status for r in records] == [s for _, _, s, _ in refusals]

    # Nothing was pushed: the next presence event is the desktop's change.
    await emulator.control.set_presence_definition(me, emulator.org.system_presence("Meal").id)
    event = (await agent_events.event(".presence"))["eventBody"]
    assert event["presenceDefinition"]["systemPresence"] == "Meal"

    # A client-credentials token (an admin tool) may set anyone's presence.
    token = await _client_token(session, emulator)
    response, presence = await api(session, emulator, "PATCH", _presence_path(me), token, busy)
    assert (response.status, presence["presenceDefinition"]["systemPresence"]) == (200, "Busy")


async def test_a_secondary_presence_set_on_the_desktop_is_read_and_pushed(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    added = await emulator.control.add_presence(
        "Lunch & learn", "Training", translations={"fr": "Déjeuner-formation"}
    )
    _, listing = await api(session, emulator, "GET", "/presence/definitions", agent_token)
    entry = _by_label(listing["entities"])["Lunch & learn"]
    assert entry == {**entry, "id": added.id, "systemPresence": "Training", "type": "User"}
    assert entry["languageLabels"] == {"en_US": "Lunch & learn", "fr": "Déjeuner-formation"}
    await emulator.control.set_presence_definition(emulator.demo_agent.id, added.id)
    event = (await agent_events.event(".presence"))["eventBody"]
    assert event["presenceDefinition"] == {"id": added.id, "systemPresence": "Training"}
    token = await login_with_pkce(session, emulator)
    _, me = await api(session, emulator, "GET", "/users/me?expand=presence", token)
    assert me["presence"]["presenceDefinition"]["id"] == added.id
