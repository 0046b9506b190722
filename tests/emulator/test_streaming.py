"""The emulator's streaming service spoken to by hand, frame by frame."""

import base64
from typing import Any

from aiohttp import ClientSession, ClientWebSocketResponse, WSMsgType
import pytest

from genesys_emulator import Emulator

FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"


async def streaming_channel(session: ClientSession, emu: Emulator, token: str) -> str:
    async with session.post(
        f"{emu.base_url}/api/v2/notifications/channels?connectionType=streaming",
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        channel: dict[str, Any] = await response.json()
    return str(channel["id"])


async def frames(socket: ClientWebSocketResponse, count: int) -> list[str]:
    return [str((await socket.receive(timeout=2)).data) for _ in range(count)]


def plain(jid: str, token: str) -> str:
    credentials = base64.b64encode(f"\0{jid}\0authKey:{token}".encode()).decode()
    return f'<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">{credentials}</auth>'


async def bound_socket(
    session: ClientSession, emu: Emulator, token: str, resource: str = "r1"
) -> ClientWebSocketResponse:
    channel = await streaming_channel(session, emu, token)
    socket = await session.ws_connect(
        f"{emu.base_url}/stream/channels/{channel}", protocols=("xmpp",)
    )
    await socket.send_str(f'<open xmlns="{FRAMING}" version="1.0"/>')
    await frames(socket, 2)
    await socket.send_str(plain(emu.demo_agent.jabber_id, token))
    assert "success" in (await frames(socket, 1))[0]
    await socket.send_str(f'<open xmlns="{FRAMING}" version="1.0"/>')
    await frames(socket, 2)
    await socket.send_str(
        '<iq xmlns="jabber:client" type="set" id="b">'
        '<bind xmlns="urn:ietf:params:xml:ns:xmpp-bind">'
        f"<resource>{resource}</resource></bind></iq>"
    )
    assert f"/{resource}</jid>" in (await frames(socket, 1))[0]
    return socket


async def test_iqs_are_answered_as_a_server_would(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    socket = await bound_socket(session, emulator, agent_token["access_token"])
    head = '<iq xmlns="jabber:client" type="{}" id="{}">'
    asks = {
        "unknown": head.format("get", "u") + '<query xmlns="jabber:iq:version"/></iq>',
        "empty": head.format("get", "e") + "</iq>",
        "pubsub": head.format("set", "p")
        + '<pubsub xmlns="http://jabber.org/protocol/pubsub"/></iq>',
    }
    answers = {}
    for name, ask in asks.items():
        await socket.send_str(ask)
        answers[name] = (await frames(socket, 1))[0]
    assert "service-unavailable" in answers["unknown"]
    assert "bad-request" in answers["empty"]
    assert 'type="result"' in answers["pubsub"]
    await socket.send_str(f'<close xmlns="{FRAMING}"/>')
    assert "close" in (await frames(socket, 1))[0]
    await socket.close()


async def test_a_second_stream_on_the_same_resource_replaces_the_first(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    first = await bound_socket(session, emulator, agent_token["access_token"])
    second = await bound_socket(session, emulator, agent_token["access_token"])
    assert (await first.receive(timeout=2)).type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
    assert len(emulator.streaming.sessions) == 1
    await second.close()


@pytest.mark.parametrize(
    "auth",
    [
        '<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">%%%</auth>',
        '<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="ANONYMOUS"/>',
        "{plain_for_someone_else}",
    ],
)
async def test_a_login_that_is_not_the_channels_user_is_refused(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any], auth: str
) -> None:
    token = agent_token["access_token"]
    channel = await streaming_channel(session, emulator, token)
    socket = await session.ws_connect(
        f"{emulator.base_url}/stream/channels/{channel}", protocols=("xmpp",)
    )
    await socket.send_str(f'<open xmlns="{FRAMING}" version="1.0"/>')
    await frames(socket, 2)
    await socket.send_str(
        auth.replace("{plain_for_someone_else}", plain(emulator.supervisor.jabber_id, token))
    )
    assert "not-authorized" in (await frames(socket, 1))[0]
    await socket.close()


async def test_a_frame_that_is_not_xml_ends_the_stream(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    socket = await bound_socket(session, emulator, agent_token["access_token"])
    await socket.send_str("<not xml")
    assert "not-well-formed" in (await frames(socket, 1))[0]
    assert (await socket.receive(timeout=2)).type in (WSMsgType.CLOSE, WSMsgType.CLOSED)


async def test_the_xmpp_subprotocol_is_required(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    channel = await streaming_channel(session, emulator, agent_token["access_token"])
    socket = await session.ws_connect(f"{emulator.base_url}/stream/channels/{channel}")
    assert (await socket.receive(timeout=2)).type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
    assert socket.close_code == 1002
