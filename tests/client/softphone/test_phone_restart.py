"""Home Assistant restarts in the middle of a softphone call.

The phone stops without ending the call (Home Assistant's stop), the call goes on at Genesys,
and a new phone starts with the same XMPP resource (the integration derives it from the entry).
"""

from custom_components.genesys_agent.genesys_cloud import AgentSession, CallState
from custom_components.genesys_agent.genesys_cloud.softphone.phone import MediaState, Softphone
from genesys_emulator import Emulator

from ...softphone.conftest import live_peer_connections
from ..helpers import until
from .phone_calls import MakePhone, peer_of, talking
from .test_phone_faults import hears_the_agent, streams

RESOURCE = "home-assistant-test-entry"


async def restarted(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> tuple[str, Softphone]:
    """A call on a phone that then stops; the call still connected; the phone started again."""
    before = await make_phone(resource=RESOURCE)
    conversation_id = await talking(emulator, session, before)
    (jid,) = streams(emulator)
    await before.async_stop()
    await until(lambda: streams(emulator) == [])
    after = await make_phone(resource=RESOURCE)
    await until(lambda: streams(emulator) == [jid])  # re-registered as the same phone
    assert session.snapshot.agent_state.call_state is CallState.CONNECTED
    return conversation_id, after


async def test_without_a_reinvite_the_phone_says_the_call_is_elsewhere(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    conversation_id, phone = await restarted(emulator, session, make_phone)

    assert phone.media_state is MediaState.ELSEWHERE  # not a phantom connected softphone
    assert phone.media is None
    assert phone.gate_closed
    assert len(live_peer_connections()) == 1  # only Genesys' side, waiting
    assert (await phone.async_diagnostics())["media_state"] == "elsewhere"

    await emulator.control.customer_hangup(conversation_id)
    await until(lambda: phone.media_state is MediaState.IDLE)


async def test_a_reinvite_after_the_restart_brings_the_audio_back_here(
    emulator: Emulator, session: AgentSession, make_phone: MakePhone
) -> None:
    conversation_id, phone = await restarted(emulator, session, make_phone)
    old_peer = await peer_of(emulator, conversation_id)

    await emulator.gateway.reinvite(conversation_id, new_peer=True)

    await until(lambda: phone.media_state is MediaState.CONNECTED, 10)
    new_peer = await peer_of(emulator, conversation_id)
    assert new_peer is not old_peer
    await hears_the_agent(new_peer)
    assert not phone.gate_closed
    await until(lambda: old_peer.peer_connection is None)
    await until(lambda: len(live_peer_connections()) == 2)
    await emulator.control.customer_hangup(conversation_id)
    await until(lambda: phone.media_state is MediaState.IDLE)
    await until(lambda: live_peer_connections() == [])
