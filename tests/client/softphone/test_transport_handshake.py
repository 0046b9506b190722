"""The transport against a scripted streaming server: every way a handshake or a stream goes odd."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import ClientSession, WSMsgType, web
import pytest

from custom_components.genesys_agent.genesys_cloud import (
    GenesysClient,
    GenesysConnectionError,
    GenesysError,
    custom_environment,
)
from custom_components.genesys_agent.genesys_cloud.softphone.transport import StreamingTransport

from ..conftest import FixedAuth
from ..helpers import serving, until

FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
OPEN = f'<open xmlns="{FRAMING}" version="1.0" from="hawk" id="s1"/>'
SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"
FEATURES = '<stream:features xmlns:stream="http://etherx.jabber.org/streams">{}</stream:features>'
SASL = FEATURES.format(f'<mechanisms xmlns="{SASL_NS}"><mechanism>PLAIN</mechanism></mechanisms>')
SUCCESS = f'<success xmlns="{SASL_NS}"/>'
TOO_WEAK = f'<failure xmlns="{SASL_NS}"><mechanism-too-weak/></failure>'
BIND_FEATURES = FEATURES.format('<bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/>')
SESSION_FEATURES = BIND_FEATURES.replace(
    "</stream:features>", '<session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></stream:features>'
)
JID = "u@org.orgspan.com"


def bound(request_id: str) -> str:
    return (
        f'<iq xmlns="jabber:client" type="result" id="{request_id}">'
        f'<bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><jid>{JID}/r</jid></bind></iq>'
    )


class ScriptedServer:
    """Answers each client frame with the next scripted frames; ``{id}`` is the frame's id."""

    def __init__(self, script: list[list[str]], me: dict[str, Any]) -> None:
        self.script = script
        self.me = me
        self.received: list[str] = []
        self.socket: web.WebSocketResponse | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v2/users/me", self._me)
        app.router.add_post("/api/v2/notifications/channels", self._channel)
        app.router.add_get("/stream/channels/{id}", self._stream)
        return app

    async def _me(self, request: web.Request) -> web.Response:
        return web.json_response(self.me)

    async def _channel(self, request: web.Request) -> web.Response:
        return web.json_response({"id": "c1", "connectUri": "ws://127.0.0.1/channels/c1"})

    async def _stream(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(protocols=("xmpp",))
        await socket.prepare(request)
        self.socket = socket
        steps = iter(self.script)
        async for message in socket:
            if message.type is not WSMsgType.TEXT:
                break
            self.received.append(message.data)
            request_id = message.data.partition(' id="')[2].partition('"')[0]
            for frame in next(steps, []):
                await socket.send_str(frame.replace("{id}", request_id))
        return socket


@asynccontextmanager
async def scripted(
    script: list[list[str]], me: dict[str, Any] | None = None
) -> AsyncIterator[tuple[ScriptedServer, StreamingTransport]]:
    server = ScriptedServer(script, me or {"id": "u", "chat": {"jabberId": JID}})
    async with serving(server.app()) as base_url, ClientSession() as http:
        client = GenesysClient(http, custom_environment(base_url), FixedAuth(), request_timeout=1)
        transport = StreamingTransport(
            client, FixedAuth(), connect_timeout=1, iq_timeout=0.3, ping_interval=0.05
        )
        try:
            yield server, transport
        finally:
            await transport.async_stop()


HAPPY = [[OPEN, SASL], [SUCCESS], [OPEN, BIND_FEATURES], ["{bind}"]]


@pytest.mark.parametrize(
    ("script", "error"),
    [
        ([["<features/>"]], "expected the stream's open"),
        ([[OPEN, OPEN]], "expected stream features"),
        ([[OPEN, BIND_FEATURES]], "offered no SASL"),
        ([[OPEN, SASL], [OPEN]], "expected SASL success"),
        (
            [
                [OPEN, SASL],
                [TOO_WEAK],
            ],
            "SASL failed",
        ),
        ([*HAPPY[:3], ['<iq xmlns="jabber:client" type="error" id="{id}"/>']], "bind failed"),
        (
            [*HAPPY[:3], [bound("{id}")], ['<iq xmlns="jabber:client" type="error" id="{id}"/>']],
            None,
        ),
    ],
)
async def test_a_handshake_that_goes_wrong_is_a_connection_error(
    socket_enabled: None, script: list[list[str]], error: str | None
) -> None:
    script = [[frame.replace("{bind}", bound("{id}")) for frame in step] for step in script]
    if error is None:  # a required session that fails to start
        script[2] = [OPEN, SESSION_FEATURES]
        error = "session could not start"
    async with scripted(script) as (_, transport):
        with pytest.raises(GenesysConnectionError, match=error):
            await transport.async_start()


async def test_a_user_without_a_jabber_id_has_no_softphone(socket_enabled: None) -> None:
    async with scripted(HAPPY, me={"id": "u"}) as (_, transport):
        with pytest.raises(GenesysError, match="no jabber id"):
            await transport.async_start()


async def test_a_required_session_is_started_and_odd_answers_are_lived_with(
    socket_enabled: None,
) -> None:
    """Ping and extdisco answered with errors, odd elements and IQs: the stream stays up."""
    error = (
        '<iq xmlns="jabber:client" type="error" id="{id}"><error type="cancel">'
        '<feature-not-implemented xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>'
    )
    script = [
        [OPEN, SASL],
        [SUCCESS],
        [OPEN, SESSION_FEATURES],
        [bound("{id}")],
        ['<iq xmlns="jabber:client" type="result" id="{id}"/>'],
        *([[error]] * 40),
    ]
    async with scripted(script) as (server, transport):
        await transport.async_start()
        assert transport.connected
        assert "xmpp-session" in server.received[-1]
        assert server.socket is not None
        for odd in (
            '<presence xmlns="jabber:client"/>',
            '<unknown xmlns="urn:x"/>',
            '<iq xmlns="jabber:client" type="get" id="two"><a xmlns="x"/><b xmlns="x"/></iq>',
            '<iq xmlns="jabber:client" type="get" id="q" from="hawk"><x xmlns="urn:x"/></iq>',
        ):
            await server.socket.send_str(odd)
        await until(lambda: any('to="hawk"' in text for text in server.received))
        await until(lambda: sum("urn:xmpp:ping" in text for text in server.received) >= 3)
        assert transport.connected
        assert transport.ice_servers == []
