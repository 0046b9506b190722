"""The emulator's media readout over its control API, and its server-side mute, over HTTP."""

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import ClientSession
import pytest

from custom_components.genesys_agent.genesys_cloud.softphone.media import (
    AiortcMediaSession,
    AudioSource,
)
from genesys_emulator import Emulator
from genesys_emulator.loopback_ice import is_loopback
from genesys_emulator.media_peer import MediaPeer, agent_muted
from genesys_emulator.testing import control_request

from .conftest import connect
from .helpers import AUDIBLE_DBFS, wait_for


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    """A client for the control API."""
    async with ClientSession() as session:
        yield session


@pytest.fixture
async def softphone_call(emulator: Emulator) -> AsyncIterator[tuple[str, AiortcMediaSession]]:
    """An answered inbound call whose media runs between the client and the emulator's peer."""
    conversation_id = await emulator.control.start_inbound_call()
    await emulator.control.answer(conversation_id)
    peer = MediaPeer(is_muted=agent_muted(emulator.calls, conversation_id))
    emulator.media_peers[conversation_id] = peer
    client = AiortcMediaSession(AudioSource.tone(440))
    await connect(client, peer)
    yield conversation_id, client
    await client.close()


async def readout(http: ClientSession, emulator: Emulator, path: str) -> dict[str, Any]:
    status, body = await control_request(http, emulator, "GET", path)
    assert status == 200, body
    return dict(body)


async def test_a_supervisor_mute_drops_the_agents_audio_and_the_readout_shows_it(
    emulator: Emulator, http: ClientSession, softphone_call: tuple[str, AiortcMediaSession]
) -> None:
    conversation_id, _ = softphone_call
    peer = emulator.media_peers[conversation_id]
    media = f"calls/{conversation_id}/media"
    heard = await readout(http, emulator, media)
    assert heard["iceState"] in {"connected", "completed"}
    assert all(is_loopback(a) for a in heard["selectedPair"].values())
    assert not any(f["dropped"] for f in heard["frames"])
    status, _ = await control_request(http, emulator, "GET", f"{media}?since=x")
    assert status == 400
    status, _ = await control_request(
        http, emulator, "POST", f"calls/{conversation_id}/mute", {"muted": True, "by": "supervisor"}
    )
    assert status == 200
    muted_from = peer.frames[-1].index + 1
    await wait_for(lambda: peer.frames[-1].index >= muted_from + 10)
    while_muted = (await readout(http, emulator, f"{media}?since={muted_from}"))["frames"]

    assert len(while_muted) >= 10
    assert all(f["dropped"] for f in while_muted)
    assert all(f["dbfs"] > AUDIBLE_DBFS for f in while_muted)  # sent, but nobody heard it

    await emulator.control.set_mute(conversation_id, False)
    unmuted_from = peer.frames[-1].index + 1
    await wait_for(lambda: peer.frames[-1].index >= unmuted_from + 5)
    after = (await readout(http, emulator, f"{media}?since={unmuted_from}"))["frames"]
    assert after
    assert not any(f["dropped"] for f in after)


async def test_the_readout_of_a_call_without_media_is_not_found(
    emulator: Emulator, http: ClientSession
) -> None:
    status, _ = await control_request(http, emulator, "GET", "calls/nope/media")
    assert status == 404
    conversation_id = await emulator.control.start_inbound_call()  # ringing, no WebRTC media
    status, _ = await control_request(http, emulator, "GET", f"calls/{conversation_id}/media")
    assert status == 404
    async with http.get(f"{emulator.base_url}/_emulator/calls/{conversation_id}/media") as response:
        assert response.status == 401  # the readout, too, answers only the run's own tools


async def test_stopping_the_emulator_closes_its_media_peers(
    emulator: Emulator, softphone_call: tuple[str, AiortcMediaSession]
) -> None:
    conversation_id, _ = softphone_call
    peer = emulator.media_peers[conversation_id]

    await emulator.stop()

    assert emulator.media_peers == {}
    assert peer.peer_connection is None
    assert peer.readout()["connectionState"] == "closed"
