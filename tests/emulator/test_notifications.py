"""Notification channels, subscriptions and the websocket protocol."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import ClientSession
import pytest

from genesys_emulator import Emulator, EmulatorConfig
from genesys_emulator.testing import login_with_pkce, running_emulator

from .helpers import Notifications, api, closed


@pytest.fixture
async def quick(socket_enabled: None) -> AsyncIterator[Emulator]:
    """An emulator with fast heartbeats, short-lived channels and a small channel limit."""
    config = EmulatorConfig(
        auto_approve=True,
        heartbeat_interval=0.05,
        channel_ttl=0.4,
        max_channels_per_user=2,
        max_topics_per_channel=3,
        socket_closing_grace=0.1,
    )
    async with running_emulator(config) as emu:
        yield emu


def _subscriptions(channel: dict[str, Any]) -> str:
    return f"/notifications/channels/{channel['id']}/subscriptions"


async def test_channel_shape(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    response, channel = await api(session, emulator, "POST", "/notifications/channels", agent_token)
    assert set(channel) == {"connectUri", "id", "expires"}
    assert channel["id"].startswith("streaming-0-")
    assert channel["connectUri"] == f"ws://{emulator.base_url[7:]}/channels/{channel['id']}"
    response, _ = await api(
        session, emulator, "HEAD", f"/notifications/channels/{channel['id']}", agent_token
    )
    assert response.status == 200
    response, _ = await api(session, emulator, "HEAD", "/notifications/channels/nope", agent_token)
    assert response.status == 404
    _, listing = await api(session, emulator, "GET", "/notifications/channels", agent_token)
    assert [c["id"] for c in listing["entities"]] == [channel["id"]]
    other = await login_with_pkce(session, emulator)
    _, listing = await api(session, emulator, "GET", "/notifications/channels", other)
    assert listing["entities"] == []
    _, listing = await api(
        session, emulator, "GET", "/notifications/channels?includechannels=oauthclient", other
    )
    assert [c["id"] for c in listing["entities"]] == [channel["id"]]


async def test_subscriptions_put_post_get_delete(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    me = emulator.demo_agent.id
    _, channel = await api(session, emulator, "POST", "/notifications/channels", agent_token)
    path = _subscriptions(channel)
    _, listing = await api(
        session, emulator, "PUT", path, agent_token, [{"id": f"v2.users.{me}.presence"}]
    )
    assert listing == {"entities": [{"id": f"v2.users.{me}.presence"}]}
    _, listing = await api(
        session,
        emulator,
        "POST",
        path,
        agent_token,
        [{"id": f"v2.users.{me}?conversations.calls&routingStatus"}],
    )
    assert [t["id"] for t in listing["entities"]] == [
        f"v2.users.{me}.presence",
        f"v2.users.{me}.conversations.calls",
        f"v2.users.{me}.routingStatus",
    ]
    _, listing = await api(session, emulator, "GET", path, agent_token)
    assert len(listing["entities"]) == 3
    response, _ = await api(session, emulator, "DELETE", path, agent_token)
    assert response.status == 200
    _, listing = await api(session, emulator, "GET", path, agent_token)
    assert listing == {"entities": []}


@pytest.mark.parametrize(
    "topic",
    [
        "v2.users.{me}.nonsense",
        "v2.users.00000000-0000-0000-0000-000000000000.presence",
        "v2.users.{supervisor}.presence",
        "v2.users.{me}?presence&" + "x" * 200,
        "v2.routing.queues.x.conversations",
    ],
)
async def test_invalid_topics_are_refused(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any], topic: str
) -> None:
    topic = topic.format(me=emulator.demo_agent.id, supervisor=emulator.supervisor.id)
    _, channel = await api(session, emulator, "POST", "/notifications/channels", agent_token)
    path = _subscriptions(channel)
    response, error = await api(session, emulator, "PUT", path, agent_token, [{"id": topic}])
    assert (response.status, error["code"]) == (400, "notification.invalid.topic")
    good = {"id": f"v2.users.{emulator.demo_agent.id}.presence"}
    response, listing = await api(
        session, emulator, "PUT", path + "?ignoreErrors=true", agent_token, [good, {"id": topic}]
    )
    assert response.status == 200
    assert listing["entities"][0] == good
    assert listing["entities"][1]["state"] == "Rejected"
    assert listing["entities"][1]["rejectionReason"]


async def test_subscription_body_must_be_a_topic_list(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    _, channel = await api(session, emulator, "POST", "/notifications/channels", agent_token)
    response, error = await api(
        session, emulator, "PUT", _subscriptions(channel), agent_token, {"id": "x"}
    )
    assert (response.status, error["code"]) == (400, "bad.request")
    response, _ = await api(
        session, emulator, "GET", "/notifications/channels/nope/subscriptions", agent_token
    )
    assert response.status == 404


async def test_client_credentials_may_watch_any_user(
    session: ClientSession, emulator: Emulator
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": emulator.demo_client.id,
        "client_secret": emulator.demo_client.secret,
    }
    async with session.post(emulator.base_url + "/login/oauth/token", data=form) as response:
        token = await response.json()
    events = await Notifications(session, emulator, token).open(
        [f"v2.users.{emulator.supervisor.id}.presence"]
    )
    await emulator.control.set_presence(emulator.supervisor.id, "Away")
    assert (await events.event(".presence"))["eventBody"]["presenceDefinition"][
        "systemPresence"
    ] == "Away"
    await events.close()


async def test_too_many_topics(session: ClientSession, quick: Emulator) -> None:
    token = await login_with_pkce(session, quick)
    me = quick.demo_agent.id
    _, channel = await api(session, quick, "POST", "/notifications/channels", token)
    topics = [{"id": f"v2.users.{me}.{t}"} for t in ("presence", "station", "conversations")]
    response, _ = await api(session, quick, "PUT", _subscriptions(channel), token, topics)
    assert response.status == 200
    response, error = await api(
        session, quick, "POST", _subscriptions(channel), token, [{"id": f"v2.users.{me}"}]
    )
    assert (response.status, error["code"]) == (400, "notification.invalid.topic")
    response, error = await api(
        session,
        quick,
        "POST",
        _subscriptions(channel),
        token,
        [{"id": f"v2.users.{me}.routingStatus"}],
    )
    assert (response.status, error["code"]) == (
        400,
        "notification.subscription.too.many.subscriptions",
    )


async def test_heartbeats_and_ping(session: ClientSession, quick: Emulator) -> None:
    token = await login_with_pkce(session, quick)
    events = await Notifications(session, quick, token).open([])
    heartbeat = await events.frame(wait=1)
    assert heartbeat == {
        "topicName": "channel.metadata",
        "eventBody": {"message": "WebSocket Heartbeat"},
    }
    assert events.socket is not None
    await events.socket.send_str("not json")
    await events.socket.send_str('{"message": "ping"}')
    pong = await events.event("channel.metadata", wait=1)
    while pong["eventBody"]["message"] != "pong":
        pong = await events.event("channel.metadata", wait=1)

    await quick.control.stop_heartbeats()
    await events.socket.send_str('{"message": "ping"}')
    with pytest.raises(TimeoutError):
        await _drain_until_silent(events, 0.25)
    await quick.control.resume_heartbeats()
    assert (await events.frame(wait=1))["topicName"] == "channel.metadata"
    await events.close()


async def _drain_until_silent(events: Notifications, window: float) -> None:
    """Read frames sent before the silence began; time out once nothing more comes."""
    assert events.socket is not None
    while True:
        frame = await events.frame(wait=window)
        if frame["eventBody"]["message"] == "pong":
            raise AssertionError("a silent server answered a ping")


async def test_second_socket_closes_the_first(session: ClientSession, quick: Emulator) -> None:
    token = await login_with_pkce(session, quick)
    events = await Notifications(session, quick, token).open(
        [f"v2.users.{quick.demo_agent.id}.presence"]
    )
    first = events.socket
    assert first is not None
    second = await events.connect()
    await closed(first)
    await quick.control.set_presence(quick.demo_agent.id, "Busy")
    assert (await events.event(".presence"))["topicName"].endswith(".presence")
    await second.close()


async def test_socket_closing_then_close(session: ClientSession, quick: Emulator) -> None:
    token = await login_with_pkce(session, quick)
    events = await Notifications(session, quick, token).open([])
    assert await quick.control.send_socket_closing() == 1
    warning = await events.event("v2.system.socket_closing")
    assert warning["eventBody"]["channelId"] == events.channel["id"]
    assert warning["version"] == "2"
    assert events.socket is not None
    await closed(events.socket)
    # The channel itself is still good: a new socket on the same connectUri works.
    await events.connect()
    await events.close()


async def test_channel_expiry_and_renewal(session: ClientSession, quick: Emulator) -> None:
    token = await login_with_pkce(session, quick)
    topic = [{"id": f"v2.users.{quick.demo_agent.id}.presence"}]
    events = await Notifications(session, quick, token).open([topic[0]["id"]])
    path = _subscriptions(events.channel)
    for _ in range(3):  # resubscribing keeps the channel alive past its ttl
        await asyncio.sleep(0.2)
        response, _ = await api(session, quick, "PUT", path, token, topic)
        assert response.status == 200
    await asyncio.sleep(0.5)
    response, _ = await api(session, quick, "GET", path, token)
    assert response.status == 404
    assert await _upgrade_status(session, events) == 404


async def test_channel_limit_drops_the_least_recently_used(
    session: ClientSession, quick: Emulator
) -> None:
    token = await login_with_pkce(session, quick)
    connected = await Notifications(session, quick, token).open([])
    _, idle = await api(session, quick, "POST", "/notifications/channels", token)
    _, newest = await api(session, quick, "POST", "/notifications/channels", token)
    assert set(quick.hub.channels) == {connected.channel["id"], newest["id"]}
    assert idle["id"] not in quick.hub.channels
    _, another = await api(session, quick, "POST", "/notifications/channels", token)
    assert connected.channel["id"] in quick.hub.channels
    assert another["id"] in quick.hub.channels
    await connected.close()


async def test_expire_channels_from_control(
    session: ClientSession, emulator: Emulator, agent_events: Notifications
) -> None:
    assert await emulator.control.expire_channels() == 1
    assert agent_events.socket is not None
    await closed(agent_events.socket)
    assert await _upgrade_status(session, agent_events) == 404


async def _upgrade_status(session: ClientSession, events: Notifications) -> int:
    """How the websocket upgrade on the channel's connectUri is answered.

    (A plain GET: aiohttp's ws_connect leaks the response when the upgrade is refused.)
    """
    url = events.channel["connectUri"].replace("ws://", "http://", 1)
    async with session.get(url) as response:
        return response.status
