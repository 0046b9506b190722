"""The streaming transport over real sockets to the emulator's streaming service."""

import asyncio

import pytest

from custom_components.genesys_agent.genesys_cloud import (
    AbstractAuth,
    GenesysAuthError,
    GenesysClient,
    GenesysConnectionError,
)
from custom_components.genesys_agent.genesys_cloud.softphone.models import IceServer
from custom_components.genesys_agent.genesys_cloud.softphone.transport import (
    StreamingTransport,
    iq,
)
from genesys_emulator import Emulator
from genesys_emulator.streaming.service import ExternalService, XmppSession

from ..conftest import EmulatorAuth
from ..helpers import until
from .conftest import quick_transport

STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    '<message xmlns="jabber:client"><body>&lol3;</body></message>'
)
INTERNAL_ENTITY = (
    '<!DOCTYPE iq [<!ENTITY x "ping">]>'
    '<iq xmlns="jabber:client" type="get" id="dtd"><x>&x;</x></iq>'
)
EXTERNAL_ENTITY = (
    '<!DOCTYPE iq [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<iq xmlns="jabber:client" type="get" id="xxe"><x>&x;</x></iq>'
)


def only_session(emulator: Emulator) -> XmppSession:
    (session,) = emulator.streaming.sessions.values()
    return session


async def test_binds_the_agents_jid_with_its_resource(
    transport: StreamingTransport, emulator: Emulator
) -> None:
    await transport.async_start()
    agent = emulator.demo_agent
    assert transport.jid == f"{agent.jabber_id}/{transport.resource}"
    session = only_session(emulator)
    assert session.full_jid == transport.jid
    channel = emulator.hub.channels[session.channel_id]
    assert channel.streaming
    assert channel.user_id == agent.id


async def test_a_notification_channel_is_refused_by_the_streaming_service(
    transport: StreamingTransport, client: GenesysClient, emulator: Emulator
) -> None:
    """Only channels made with connectionType=streaming open the XMPP socket."""
    plain = await client.async_create_channel()
    await transport.async_start()
    assert only_session(emulator).channel_id != plain.id
    async with client.session.get(f"{emulator.base_url}/stream/channels/{plain.id}") as response:
        assert response.status == 404


async def test_an_expired_token_is_refreshed_once_and_sasl_succeeds(
    transport: StreamingTransport, emulator: Emulator, auth: EmulatorAuth
) -> None:
    await transport.async_start()
    await emulator.control.expire_access_tokens()
    await emulator.streaming.drop_connections()
    await until(lambda: auth.refreshes == 1 and transport.connected)
    assert not transport.auth_failed


async def test_a_revoked_login_is_refused_and_the_transport_stops(
    transport: StreamingTransport, emulator: Emulator
) -> None:
    await transport.async_start()
    await emulator.control.revoke_tokens()
    await emulator.streaming.drop_connections()
    await until(lambda: transport.auth_failed)
    assert not transport.connected
    assert not emulator.streaming.sessions


async def test_a_refused_token_fails_the_first_connect(
    client: GenesysClient, emulator: Emulator, auth: EmulatorAuth
) -> None:
    """SASL refuses a token REST still takes: after one refresh the start raises."""

    class WrongToken(AbstractAuth):
        async def async_get_access_token(self) -> str:
            return "not-a-token"

        async def async_refresh_access_token(self) -> str:
            return "still-not-a-token"

    transport = quick_transport(client, WrongToken())
    with pytest.raises(GenesysAuthError):
        await transport.async_start()
    assert not emulator.streaming.sessions


async def test_pings_keep_the_stream_and_two_missed_drop_it(
    client: GenesysClient, auth: EmulatorAuth, emulator: Emulator
) -> None:
    states: list[bool] = []
    transport = quick_transport(
        client, auth, ping_interval=0.05, iq_timeout=0.2, state_listener=states.append
    )
    await transport.async_start()
    try:
        await until(
            lambda: sum("urn:xmpp:ping" in text for text in emulator.streaming.received) >= 3
        )
        assert states == [True]
        emulator.streaming.answer_pings = False
        await until(lambda: False in states, within=3)
        emulator.streaming.answer_pings = True
        await until(lambda: states[-1] is True and transport.connected)
    finally:
        await transport.async_stop()


async def test_reconnects_with_the_same_resource_after_a_drop(
    transport: StreamingTransport, emulator: Emulator
) -> None:
    await transport.async_start()
    first = only_session(emulator)
    assert await emulator.streaming.drop_connections() == 1
    await until(lambda: emulator.streaming.sessions and only_session(emulator) is not first)
    second = only_session(emulator)
    assert second.full_jid == first.full_jid
    assert second.channel_id == first.channel_id  # a soft reconnect keeps the channel
    await until(lambda: transport.connected)


async def test_a_connection_transfer_reconnects_at_once(
    transport: StreamingTransport, emulator: Emulator
) -> None:
    transport.pacer.backoff_initial = 60.0  # a reconnect after a failure would wait a minute
    await transport.async_start()
    first = only_session(emulator)
    transfer = '<query xmlns="urn:xmpp:cxfr"><domain>x</domain><server>y</server></query>'
    await first.send(
        f'<iq xmlns="jabber:client" type="set" id="t1" to="{first.full_jid}">{transfer}</iq>'
    )
    await until(lambda: emulator.streaming.sessions and only_session(emulator) is not first)
    assert only_session(emulator).full_jid == first.full_jid


async def test_an_unknown_iq_gets_service_unavailable(
    transport: StreamingTransport, emulator: Emulator
) -> None:
    await transport.async_start()
    answer = await emulator.streaming.query(
        only_session(emulator), '<query xmlns="jabber:iq:version"/>'
    )
    assert answer.get("type") == "error"
    assert answer.find(f"{{jabber:client}}error/{{{STANZAS}}}service-unavailable") is not None


async def test_the_server_ping_is_answered(
    transport: StreamingTransport, emulator: Emulator
) -> None:
    await transport.async_start()
    answer = await emulator.streaming.query(only_session(emulator), '<ping xmlns="urn:xmpp:ping"/>')
    assert answer.get("type") == "result"


@pytest.mark.parametrize(
    "frame",
    [
        BILLION_LAUGHS,
        INTERNAL_ENTITY,
        EXTERNAL_ENTITY,
        "<iq xmlns='jabber:client' type='get' id='c'><!-- a comment --><x xmlns='y'/></iq>",
        "<?xml-stylesheet href='x'?><message xmlns='jabber:client'/>",
        "not xml at all",
        "<message xmlns='jabber:client'>",
        "<a/><b/>",
        "<message xmlns='jabber:client'>&unknown;</message>",
        "",
    ],
)
async def test_forbidden_and_broken_frames_are_refused_and_the_session_goes_on(
    transport: StreamingTransport, emulator: Emulator, frame: str
) -> None:
    await transport.async_start()
    session = only_session(emulator)
    await emulator.streaming.send_raw(frame)
    answer = await emulator.streaming.query(session, '<ping xmlns="urn:xmpp:ping"/>')
    assert answer.get("type") == "result"
    assert only_session(emulator) is session  # the same stream: nothing reconnected
    # A refused DTD leaves no trace of an answer: the IQ inside it was never seen.
    assert not any('"dtd"' in text or '"xxe"' in text for text in emulator.streaming.received)


async def test_ice_servers_come_from_extdisco_turn_only(
    transport: StreamingTransport, emulator: Emulator
) -> None:
    """A TURN server and no STUN (Genesys' force-TURN): the media layer goes relay-only."""
    emulator.streaming.services = [
        ExternalService(
            type="turn", host="127.0.0.1", port=3478, username="u:1", password="turn-secret"
        ),
        ExternalService(type="turn", host="127.0.0.1", port=443, transport="tcp"),
    ]
    await transport.async_start()
    await until(lambda: transport.ice_servers)
    assert transport.ice_servers == [
        IceServer(["turn:127.0.0.1:3478"], "u:1", "turn-secret"),
        IceServer(["turn:127.0.0.1:443?transport=tcp"], None, None),
    ]
    assert "turn-secret" not in repr(transport.ice_servers)


async def test_ice_servers_are_refreshed_on_their_interval(
    client: GenesysClient, auth: EmulatorAuth, emulator: Emulator
) -> None:
    transport = quick_transport(client, auth, ping_interval=0.05, ice_refresh_interval=0.2)
    await transport.async_start()
    try:
        await until(lambda: transport.ice_servers == [IceServer(["stun:127.0.0.1:3478"])])
        emulator.streaming.services = [ExternalService(type="stun", host="127.0.0.2", port=19302)]
        await until(lambda: transport.ice_servers == [IceServer(["stun:127.0.0.2:19302"])])
    finally:
        await transport.async_stop()


async def test_stop_closes_the_stream(transport: StreamingTransport, emulator: Emulator) -> None:
    await transport.async_start()
    await transport.async_stop()
    await until(lambda: not emulator.streaming.sessions)
    assert any("xmpp-framing" in text and "close" in text for text in emulator.streaming.received)
    await asyncio.sleep(0.1)
    assert not emulator.streaming.sessions  # and it does not come back


async def test_a_retryable_sasl_failure_gets_a_new_channel(
    transport: StreamingTransport, emulator: Emulator
) -> None:
    emulator.streaming.refuse_next_login = "malformed-request"
    with pytest.raises(GenesysConnectionError):
        await transport.async_start()
    await transport.async_start()
    streaming_channels = [c for c in emulator.hub.channels.values() if c.streaming]
    assert len(streaming_channels) == 2
    assert only_session(emulator).channel_id == streaming_channels[-1].id


async def test_an_expired_channel_is_replaced_on_reconnect(
    transport: StreamingTransport, emulator: Emulator
) -> None:
    await transport.async_start()
    first = only_session(emulator)
    await emulator.control.expire_channels()
    await emulator.streaming.drop_connections()
    await until(lambda: emulator.streaming.sessions and only_session(emulator) is not first)
    second = only_session(emulator)
    assert second.channel_id != first.channel_id
    assert second.full_jid == first.full_jid


@pytest.mark.parametrize(
    "frame",
    [
        '<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>',
        '<stream:error xmlns:stream="http://etherx.jabber.org/streams">'
        '<system-shutdown xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error>',
    ],
)
async def test_the_server_ending_the_stream_is_a_reconnect(
    transport: StreamingTransport, emulator: Emulator, frame: str
) -> None:
    await transport.async_start()
    first = only_session(emulator)
    await emulator.streaming.send_raw(frame)
    await until(lambda: emulator.streaming.sessions and only_session(emulator) is not first)
    await until(lambda: transport.connected)


async def test_a_handshake_that_hangs_times_out(
    client: GenesysClient, auth: EmulatorAuth, emulator: Emulator
) -> None:
    transport = quick_transport(client, auth, connect_timeout=0.2)
    await emulator.control.set_latency(0.5)
    with pytest.raises(GenesysConnectionError):
        await transport.async_start()
    await emulator.control.clear_faults()


async def test_sending_without_a_stream_is_a_connection_error(
    transport: StreamingTransport,
) -> None:
    with pytest.raises(GenesysConnectionError):
        await transport.async_send(iq("get"))
