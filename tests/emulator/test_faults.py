"""Fault injection, rate limits, dropped sockets and restarts, as a client suffers them."""

import time
from typing import Any

from aiohttp import ClientSession, ClientTimeout, WSMsgType
import pytest

from genesys_emulator import Emulator, EmulatorConfig
from genesys_emulator.testing import login_with_pkce, running_emulator

from .helpers import Notifications, api, closed


@pytest.mark.parametrize(
    ("status", "code"),
    [(503, "service.unavailable"), (500, "internal.server.error"), (504, "request.timeout")],
)
async def test_fail_next_then_recover(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    status: int,
    code: str,
) -> None:
    await emulator.control.fail_next(2, status=status)
    for _ in range(2):
        response, error = await api(session, emulator, "GET", "/users/me", agent_token)
        assert (response.status, error["code"]) == (status, code)
    response, _ = await api(session, emulator, "GET", "/users/me", agent_token)
    assert response.status == 200
    assert [r.status for r in emulator.control.audit_log()] == [status, status, 200]


async def test_fail_next_429_carries_retry_after(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    await emulator.control.fail_next(1, status=429, retry_after=7)
    response, error = await api(session, emulator, "GET", "/users/me", agent_token)
    assert (response.status, error["code"]) == (429, "too.many.requests")
    assert response.headers["Retry-After"] == "7"


async def test_fail_next_only_under_its_path(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    await emulator.control.fail_next(1, path_prefix="/login")
    response, _ = await api(session, emulator, "GET", "/users/me", agent_token)
    assert response.status == 200
    form = {"grant_type": "client_credentials"}
    async with session.post(emulator.base_url + "/login/oauth/token", data=form) as response:
        assert response.status == 503


async def test_timeout_holds_the_request_open(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    await emulator.control.fail_next(1, status="timeout")
    with pytest.raises(TimeoutError):
        async with session.get(
            emulator.base_url + "/api/v2/users/me",
            headers={"Authorization": f"Bearer {agent_token['access_token']}"},
            timeout=ClientTimeout(total=0.2),
        ):
            pass
    response, _ = await api(session, emulator, "GET", "/users/me", agent_token)
    assert response.status == 200


async def test_latency_and_clear(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    await emulator.control.set_latency(0.2)
    await emulator.control.fail_next(5)
    started = time.monotonic()
    response, _ = await api(session, emulator, "GET", "/users/me", agent_token)
    assert time.monotonic() - started >= 0.2
    assert response.status == 503
    await emulator.control.clear_faults()
    started = time.monotonic()
    response, _ = await api(session, emulator, "GET", "/users/me", agent_token)
    assert response.status == 200
    assert time.monotonic() - started < 0.2


async def test_rate_limit(session: ClientSession, socket_enabled: None) -> None:
    async with running_emulator(EmulatorConfig(auto_approve=True, rate_limit_per_minute=2)) as emu:
        token = await login_with_pkce(session, emu)
        for count in ("1", "2"):
            response, _ = await api(session, emu, "GET", "/users/me", token)
            assert response.headers["inin-ratelimit-count"] == count
            assert response.headers["inin-ratelimit-allowed"] == "2"
        response, error = await api(session, emu, "GET", "/users/me", token)
        assert (response.status, error["code"]) == (429, "too.many.requests")
        assert error["messageParams"] == {"limit": "2", "seconds": "60"}
        assert 0 < int(response.headers["Retry-After"]) <= 60
        assert int(response.headers["inin-ratelimit-reset"]) <= 60
        # The budget is per token.
        other = await login_with_pkce(session, emu)
        response, _ = await api(session, emu, "GET", "/users/me", other)
        assert response.status == 200


async def test_rate_limit_window_resets(monkeypatch: pytest.MonkeyPatch) -> None:
    from genesys_emulator import ratelimit  # noqa: PLC0415 (patched module)

    now = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: now[0])
    limiter = ratelimit.RateLimiter(1)
    limiter.count("t")
    now[0] += 61
    assert limiter.count("t")["inin-ratelimit-count"] == "1"


async def test_raw_frames_reach_only_the_chosen_user(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    token = await login_with_pkce(session, emulator, login_hint=emulator.supervisor.email)
    supervisor = await Notifications(session, emulator, token).open([])
    assert (
        await emulator.control.send_raw_frame('{"topicName": "v2.users.x', emulator.demo_agent.id)
        == 1
    )
    assert agent_events.socket is not None
    message = await agent_events.socket.receive(timeout=1)
    assert (message.type, message.data) == (WSMsgType.TEXT, '{"topicName": "v2.users.x')
    assert await emulator.control.send_raw_frame("{}") == 2
    assert supervisor.socket is not None
    assert (await supervisor.socket.receive(timeout=1)).data == "{}"
    await supervisor.close()


async def test_dropped_sockets_can_reconnect_to_the_same_channel(
    session: ClientSession, emulator: Emulator, agent_events: Notifications
) -> None:
    assert await emulator.control.drop_websockets() == 1
    assert agent_events.socket is not None
    await closed(agent_events.socket)
    await agent_events.connect()
    await emulator.control.set_presence(emulator.demo_agent.id, "Away")
    assert (await agent_events.event(".presence"))["eventBody"]["presenceDefinition"][
        "systemPresence"
    ] == "Away"


async def test_restart_loses_sessions_but_keeps_the_org(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    conversation_id = await emulator.control.start_inbound_call()
    agent_id, station_id = emulator.demo_agent.id, emulator.demo_agent.station_id
    await emulator.control.restart()
    assert agent_events.socket is not None
    await closed(agent_events.socket)
    response, error = await api(session, emulator, "GET", "/users/me", agent_token)
    assert (response.status, error["code"]) == (401, "bad.credentials")
    token = await login_with_pkce(session, emulator)
    _, me = await api(session, emulator, "GET", "/users/me?expand=station", token)
    assert (me["id"], me["station"]["effectiveStation"]["id"]) == (agent_id, station_id)
    response, _ = await api(
        session, emulator, "GET", f"/conversations/calls/{conversation_id}", token
    )
    assert response.status == 404
    url = agent_events.channel["connectUri"].replace("ws://", "http://", 1)
    async with session.get(url) as refused:
        assert refused.status == 404
