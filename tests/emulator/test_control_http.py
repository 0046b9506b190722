"""The HTTP control surface under /_emulator, as the demo and a person's tools use it."""

from typing import Any

from aiohttp import ClientSession

from genesys_emulator import Emulator, EmulatorConfig
from genesys_emulator.testing import control_request, running_emulator

from .helpers import Notifications, participant


async def _post(
    session: ClientSession, emu: Emulator, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    return await control_request(session, emu, "POST", path, body)


async def test_a_whole_call_over_http(
    session: ClientSession, emulator: Emulator, agent_events: Notifications
) -> None:
    status, created = await _post(session, emulator, "calls/inbound", {"queueName": "Sales"})
    assert status == 200
    call = f"calls/{created['conversationId']}"
    steps: list[tuple[str, dict[str, Any] | None]] = [
        ("answer", None),
        ("mute", {"muted": True, "by": "supervisor"}),
        ("hold", {"held": True}),
        ("hold", {"held": False}),
        ("consult", {"number": "tel:+15550009"}),
        ("customer-hangup", None),  # the agent still talks to the consulted party
        ("agent-disconnect", None),
        ("wrapup", None),
    ]
    for action, body in steps:
        status, answer = await _post(session, emulator, f"{call}/{action}", body)
        assert status == 200, (action, answer)
    _, state = await control_request(session, emulator, "GET", "state")
    conversation = state["conversations"][0]
    assert participant(conversation, "agent")["state"] == "terminated"
    assert participant(conversation, "external")["address"] == "tel:+15550009"
    assert state["channels"][0]["connected"] is True
    query = f"?userId={emulator.supervisor.id}"
    _, audit = await control_request(session, emulator, "GET", "audit" + query)
    assert [(e["source"], e["body"]) for e in audit["entities"]] == [
        ("supervisor", {"muted": True})
    ]


async def test_outbound_transfer_and_agent_disconnect(
    session: ClientSession, emulator: Emulator
) -> None:
    _, outbound = await _post(session, emulator, "calls/outbound", {"number": "tel:+15550007"})
    await _post(session, emulator, f"calls/{outbound['conversationId']}/answer")
    status, _ = await _post(
        session, emulator, f"calls/{outbound['conversationId']}/agent-disconnect"
    )
    assert status == 200
    _, inbound = await _post(session, emulator, "calls/inbound", {"ani": "tel:+15550008"})
    await _post(session, emulator, f"calls/{inbound['conversationId']}/answer")
    status, _ = await _post(session, emulator, f"calls/{inbound['conversationId']}/transfer")
    assert status == 200


async def test_org_and_session_operations(session: ClientSession, emulator: Emulator) -> None:
    status, user = await _post(
        session, emulator, "users", {"name": "Ann Other", "email": "ann@example.com"}
    )
    assert status == 200
    status, station = await _post(session, emulator, "stations", {"userId": user["id"]})
    assert station["userId"] == user["id"]
    await _post(session, emulator, "calls/inbound", {"userId": user["id"]})
    for path, body in [
        (f"users/{user['id']}/presence", {"systemPresence": "Busy"}),
        (f"users/{user['id']}/routing-status", {"status": "IDLE"}),
        ("websockets/drop", None),
        ("websockets/socket-closing", None),
        ("websockets/raw", {"text": "x"}),
        ("channels/expire", None),
        ("tokens/expire", None),
        ("tokens/revoke", {"userId": user["id"]}),
        ("faults/fail-next", {"count": 1, "status": 429, "pathPrefix": "/api", "retryAfter": 2}),
        ("faults/latency", {"seconds": 0}),
        ("faults/heartbeats", {"enabled": False}),
        ("faults/heartbeats", {"enabled": True}),
        ("faults/clear", None),
        ("auto-approve", {"enabled": False}),
        ("restart", None),
    ]:
        status, answer = await _post(session, emulator, path, body)
        assert status == 200, (path, answer)
    assert emulator.org.users[user["id"]].presence.system_presence == "Busy"
    assert not emulator.login.auto_approve


async def test_control_errors_are_genesys_error_bodies(
    session: ClientSession, emulator: Emulator
) -> None:
    status, error = await _post(session, emulator, "calls/unknown/answer")
    assert (status, error["code"]) == (404, "not.found")
    status, error = await _post(session, emulator, "users", {"name": "No Email"})
    assert (status, error["code"]) == (400, "bad.request")
    status, _ = await control_request(session, emulator, "POST", "restart", [1])
    assert status == 400


async def test_control_api_can_be_switched_off(
    session: ClientSession, socket_enabled: None
) -> None:
    async with (
        running_emulator(EmulatorConfig(control_api=False)) as emu,
        session.get(emu.base_url + "/_emulator/state") as response,
    ):
        assert response.status == 404


async def test_queues_wrap_up_direct_calls_and_presences_over_http(
    session: ClientSession, emulator: Emulator
) -> None:
    status, queue = await _post(
        session,
        emulator,
        "queues",
        {"name": "VIP", "wrapupPrompt": "mandatory", "wrapupCodes": ["Done", "Escalated"]},
    )
    assert (status, queue["wrapupPrompt"]) == (200, "mandatory")
    assert [c["name"] for c in queue["wrapupCodes"]] == ["Done", "Escalated"]
    _, created = await _post(session, emulator, "calls/inbound", {"queueName": "VIP"})
    call = f"calls/{created['conversationId']}"
    await _post(session, emulator, f"{call}/answer")
    await _post(session, emulator, f"{call}/customer-hangup")
    status, error = await _post(session, emulator, f"{call}/wrapup", {"skip": True})
    assert (status, error["code"]) == (400, "conversation.error.wrapup.cannot.skip")
    escalated = queue["wrapupCodes"][1]["id"]
    status, _ = await _post(session, emulator, f"{call}/wrapup", {"code": escalated})
    assert status == 200
    agent = participant(emulator.control.state()["conversations"][0], "agent")
    assert (agent["state"], agent["wrapup"]["name"]) == ("terminated", "Escalated")

    status, direct = await _post(session, emulator, "calls/direct", {"ani": "tel:+15550142"})
    assert status == 200
    conversation = emulator.calls.get(direct["conversationId"])
    assert [p.purpose for p in conversation.participants] == ["external", "user"]

    status, presence = await _post(
        session,
        emulator,
        "presences",
        {"label": "Coaching", "systemPresence": "Meeting", "languageLabels": {"de": "Coaching"}},
    )
    assert (status, presence["primary"], presence["systemPresence"]) == (200, False, "Meeting")
    agent_id = emulator.demo_agent.id
    status, _ = await _post(
        session, emulator, f"users/{agent_id}/presence", {"presenceId": presence["id"]}
    )
    assert status == 200
    state = emulator.control.state()
    me = next(u for u in state["users"] if u["id"] == agent_id)
    assert (me["presence"], me["presenceId"]) == ("Meeting", presence["id"])
    assert "VIP" in {q["name"] for q in state["queues"]}

    for path, body in (
        ("queues", {"name": "X", "wrapupPrompt": "sometimes"}),
        ("queues", {"name": "X", "wrapupCodes": []}),
        ("presences", {"label": "Nap", "systemPresence": "Asleep"}),
        (f"users/{agent_id}/presence", {"presenceId": "unknown"}),
        (f"users/{agent_id}/presence", {"systemPresence": "Asleep"}),
        (f"{call}/wrapup", {"code": escalated}),
    ):
        status, error = await _post(session, emulator, path, body)
        assert (status, error["code"]) == (400, "bad.request"), (path, body)


async def test_real_media_switched_on_and_off_over_http(
    session: ClientSession, emulator: Emulator
) -> None:
    assert (await _post(session, emulator, "webrtc-media", {"enabled": True}))[0] == 200
    assert emulator.gateway.media_factory is not None
    assert (await _post(session, emulator, "webrtc-media", {"enabled": False}))[0] == 200
    assert emulator.gateway.media_factory is None


async def test_a_web_page_cannot_drive_the_emulator(
    session: ClientSession, emulator: Emulator
) -> None:
    """The POSTs a page on another site can send (text/plain, no token) change nothing."""
    conversation_id = await emulator.control.start_inbound_call()
    answer = f"{emulator.base_url}/_emulator/calls/{conversation_id}/answer"
    token = {"X-Emulator-Token": emulator.control.token}
    refused = [
        # What fetch(..., {mode: "no-cors"}) or a form sends from a page elsewhere.
        ({"Origin": "http://evil.example", "Content-Type": "text/plain"}, "{}", 403),
        ({"Content-Type": "text/plain"}, "{}", 401),
        ({"Content-Type": "application/json"}, "{}", 401),
        ({"Content-Type": "application/json", "X-Emulator-Token": "guessed"}, "{}", 401),
        ({**token, "Content-Type": "text/plain"}, "{}", 415),
        ({**token, "Content-Type": "application/json", "Origin": "http://evil.example"}, "{}", 403),
        ({**token, "Content-Type": "application/json", "Origin": "null"}, "{}", 403),
    ]
    for headers, body, status in refused:
        async with session.post(answer, data=body, headers=headers) as response:
            assert response.status == status, headers
            assert (await response.json())["status"] == status
    for path in ("state", "audit", f"calls/{conversation_id}/media"):
        async with session.get(f"{emulator.base_url}/_emulator/{path}") as response:
            assert response.status == 401
    [conversation] = emulator.control.state()["conversations"]
    assert participant(conversation, "agent")["state"] == "alerting"

    # The emulator's own pages, and tools with the token, may.
    own = {**token, "Content-Type": "application/json", "Origin": emulator.base_url}
    async with session.post(answer, data="{}", headers=own) as response:
        assert response.status == 200
    [conversation] = emulator.control.state()["conversations"]
    assert participant(conversation, "agent")["state"] == "connected"


async def test_every_run_has_its_own_token(socket_enabled: None) -> None:
    config = EmulatorConfig(control_api=True)
    async with running_emulator(config) as first, running_emulator(config) as second:
        assert len(first.control.token) >= 32
        assert first.control.token != second.control.token
