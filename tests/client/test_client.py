"""REST calls and their error mapping, over real sockets to the emulator."""

import aiohttp
import pytest

from custom_components.genesys_agent.genesys_cloud import (
    REGIONS,
    ChannelTopic,
    GenesysAuthError,
    GenesysCallNotConnectedError,
    GenesysClient,
    GenesysConnectionError,
    GenesysNotFoundError,
    GenesysRateLimitError,
    GenesysServerError,
    PresenceState,
    RoutingState,
    custom_environment,
)
from genesys_emulator import Emulator

from .conftest import EmulatorAuth


def test_every_region_has_its_api_and_login_host() -> None:
    """18 regions, each with api.<domain> and login.<domain>."""
    assert len(REGIONS) == 18
    dublin = REGIONS["eu_west_1"]
    assert dublin.api_url == "https://api.mypurecloud.ie"
    assert dublin.token_url == "https://login.mypurecloud.ie/oauth/token"
    assert dublin.authorize_url == "https://login.mypurecloud.ie/oauth/authorize"
    assert custom_environment("http://127.0.0.1:1/").login_url == "http://127.0.0.1:1/login"


async def test_me_reads_the_agent_with_station_presence_and_routing(
    client: GenesysClient, emulator: Emulator
) -> None:
    agent = await client.async_get_me()
    assert agent.id == emulator.demo_agent.id
    assert agent.email == emulator.demo_agent.email
    assert agent.station is not None
    assert agent.presence is PresenceState.AVAILABLE or agent.presence is not None
    await emulator.control.set_presence(agent.id, "On Queue")
    await emulator.control.set_routing_status(agent.id, "INTERACTING")
    assert await client.async_get_presence(agent.id) is PresenceState.ON_QUEUE
    assert await client.async_get_routing_status(agent.id) is RoutingState.INTERACTING


async def test_calls_and_a_mute(client: GenesysClient, emulator: Emulator) -> None:
    conversation_id = await emulator.control.start_inbound_call()
    await emulator.control.answer(conversation_id)
    [call] = await client.async_get_active_calls()
    assert call.id == conversation_id
    leg = call.user_participant(emulator.demo_agent.id)
    assert leg is not None
    assert leg.state == "connected"
    await client.async_set_mute(conversation_id, leg.id, True)
    again = await client.async_get_call(conversation_id)
    assert again.user_participant(emulator.demo_agent.id).muted  # type: ignore[union-attr]


async def test_an_expired_token_is_refreshed_once_and_the_request_retried(
    client: GenesysClient, emulator: Emulator, auth: EmulatorAuth
) -> None:
    await emulator.control.expire_access_tokens()
    agent = await client.async_get_me()
    assert agent.id == emulator.demo_agent.id
    assert auth.refreshes == 1


async def test_a_refused_refresh_is_an_auth_error(
    client: GenesysClient, emulator: Emulator
) -> None:
    await emulator.control.revoke_tokens()
    with pytest.raises(GenesysAuthError):
        await client.async_get_me()


@pytest.mark.parametrize(
    ("status", "error"),
    [(503, GenesysServerError), (500, GenesysServerError), (429, GenesysRateLimitError)],
)
async def test_failures_map_to_typed_errors(
    client: GenesysClient, emulator: Emulator, status: int, error: type[Exception]
) -> None:
    await emulator.control.fail_next(1, status=status, retry_after=3)
    with pytest.raises(error) as raised:
        await client.async_get_me()
    assert raised.value.status == status  # type: ignore[attr-defined]
    assert raised.value.correlation_id  # type: ignore[attr-defined]
    if isinstance(raised.value, GenesysRateLimitError):
        assert raised.value.retry_after == 3


async def test_a_hanging_request_times_out(client: GenesysClient, emulator: Emulator) -> None:
    await emulator.control.fail_next(1, status="timeout")
    with pytest.raises(GenesysConnectionError):
        await client.async_get_me()


async def test_unknown_conversation_is_not_found(client: GenesysClient) -> None:
    with pytest.raises(GenesysNotFoundError) as raised:
        await client.async_get_call("00000000-0000-4000-8000-000000000000")
    assert raised.value.code


async def test_muting_an_ended_call_says_so(client: GenesysClient, emulator: Emulator) -> None:
    conversation_id = await emulator.control.start_inbound_call()
    await emulator.control.answer(conversation_id)
    [call] = await client.async_get_active_calls()
    leg = call.user_participant(emulator.demo_agent.id)
    assert leg is not None
    await emulator.control.customer_hangup(conversation_id)
    with pytest.raises(GenesysCallNotConnectedError):
        await client.async_set_mute(conversation_id, leg.id, True)


async def test_nobody_listening_is_a_connection_error(
    http: aiohttp.ClientSession, auth: EmulatorAuth
) -> None:
    unreachable = GenesysClient(http, custom_environment("http://127.0.0.1:9"), auth)
    with pytest.raises(GenesysConnectionError):
        await unreachable.async_get_me()


async def test_a_channel_and_its_subscriptions(client: GenesysClient, emulator: Emulator) -> None:
    channel = await client.async_create_channel()
    assert channel.connect_uri.endswith(f"/channels/{channel.id}")
    assert channel.expires is not None
    topic = f"v2.users.{emulator.demo_agent.id}.presence"
    assert await client.async_subscribe(channel.id, [topic]) == [ChannelTopic(topic)]
