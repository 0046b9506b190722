"""The fault matrix: every fault heals, the switch tells the truth, no command is lost.

Each case starts on a live, connected call with a known mute state. The bounds asserted here
are the ones the README states.
"""

import asyncio
from collections.abc import AsyncGenerator
import itertools
import json

from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntry
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.genesys_agent.const import DOMAIN
from genesys_emulator import Emulator, EmulatorConfig
from genesys_emulator.testing import running_emulator

from .conftest import conversation_frame, emulator_muted, press_mute, wait_for
from .test_entities import CALL_STATE, MUTE, REMOTE_MUTE, agent_mute_patches, state_of

# How long the entities may take to tell the truth again once a fault ends.
HEAL_BOUND = 5.0
# With 503s on the first reconnects the backoff (1 s, 2 s, ...) adds up.
HEAL_AFTER_BURST_BOUND = 10.0
HEARTBEAT_INTERVAL = 0.2


@pytest.fixture
async def emulator(socket_enabled: None) -> AsyncGenerator[Emulator]:
    """An emulator with fast heartbeats, so a silent socket is noticed in about a second."""
    config = EmulatorConfig(auto_approve=True, heartbeat_interval=HEARTBEAT_INTERVAL)
    async with running_emulator(config) as emulator:
        yield emulator


@pytest.fixture
async def live_call(live_call: str, integration: ConfigEntry) -> str:
    """The live call; the session declares a socket dead after 1 s of silence."""
    integration.runtime_data.session.heartbeat_timeout = 1.0
    # The read already waiting still has the old timeout; the next heartbeat ends it.
    await asyncio.sleep(2 * HEARTBEAT_INTERVAL)
    return live_call


async def mute_elsewhere_and_see_it(
    hass: HomeAssistant, emulator: Emulator, conversation_id: str, within: float = HEAL_BOUND
) -> None:
    """A desktop mute made after (or during) the fault shows on the switch in time."""
    await emulator.control.set_mute(conversation_id, True, by="desktop")
    await wait_for(hass, lambda: state_of(hass, MUTE) == STATE_ON, within=within)
    assert state_of(hass, REMOTE_MUTE) == STATE_ON


async def test_socket_dropped_mid_call(
    hass: HomeAssistant, emulator: Emulator, live_call: str
) -> None:
    """A mute made while the socket is down is there once it heals (the resync reads it)."""
    await emulator.control.drop_websockets()
    await mute_elsewhere_and_see_it(hass, emulator, live_call)


async def test_socket_closing_hands_over_without_losing_events(
    hass: HomeAssistant, emulator: Emulator, live_call: str
) -> None:
    """Genesys' maintenance notice: a new socket takes over; pushes keep arriving."""
    assert await emulator.control.send_socket_closing() == 1
    await mute_elsewhere_and_see_it(hass, emulator, live_call)
    assert state_of(hass, CALL_STATE) == "connected"


async def test_channel_expired(hass: HomeAssistant, emulator: Emulator, live_call: str) -> None:
    """An expired channel is replaced by a new one, subscribed again."""
    await emulator.control.expire_channels()
    await mute_elsewhere_and_see_it(hass, emulator, live_call)


async def test_heartbeats_stop_while_tcp_stays_open(
    hass: HomeAssistant, emulator: Emulator, live_call: str
) -> None:
    """A silent socket is a dead socket: unavailable, then healed when Genesys speaks again."""
    await emulator.control.stop_heartbeats()
    await wait_for(hass, lambda: state_of(hass, MUTE) == STATE_UNAVAILABLE, within=HEAL_BOUND)
    await emulator.control.resume_heartbeats()
    await wait_for(hass, lambda: state_of(hass, MUTE) == STATE_OFF, within=HEAL_BOUND)
    await mute_elsewhere_and_see_it(hass, emulator, live_call)


async def test_503_burst_while_resubscribing(
    hass: HomeAssistant, emulator: Emulator, live_call: str
) -> None:
    """Failures while the channel is rebuilt are retried with backoff until it works."""
    await emulator.control.fail_next(2, status=503, path_prefix="/api/v2/notifications")
    await emulator.control.expire_channels()
    await mute_elsewhere_and_see_it(hass, emulator, live_call, within=HEAL_AFTER_BURST_BOUND)


async def test_429_on_a_mute_is_retried_once_and_applied_once(
    hass: HomeAssistant, emulator: Emulator, live_call: str
) -> None:
    """Genesys asks to wait a second: the press still mutes, with exactly one accepted PATCH."""
    await emulator.control.fail_next(1, status=429, path_prefix="/api/v2/conversations")
    await press_mute(hass)
    assert state_of(hass, MUTE) == STATE_ON
    assert emulator_muted(emulator, live_call)
    accepted = [r for r in emulator.audit if r.method == "PATCH" and r.status == 202]
    assert len(accepted) == 1


async def test_a_hanging_mute_is_reported_and_not_applied(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator, live_call: str
) -> None:
    """A request that never answers fails within its timeout; the switch shows the truth."""
    integration.runtime_data.session.client.request_timeout = 0.5
    await emulator.control.fail_next(1, status="timeout", path_prefix="/api/v2/conversations")
    with pytest.raises(HomeAssistantError) as error:
        await press_mute(hass)
    assert error.value.translation_key == "mute_failed"
    assert state_of(hass, MUTE) == STATE_OFF
    assert not emulator_muted(emulator, live_call)


async def test_a_lost_confirmation_is_replaced_by_a_rest_read(
    hass: HomeAssistant,
    integration: ConfigEntry,
    emulator: Emulator,
    live_call: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Genesys accepts, but its event is lost: the session reads the call; the switch is true."""
    session = integration.runtime_data.session
    session.commands.confirm_timeout = 0.3
    monkeypatch.setattr(session.tracker, "handle_frame", lambda text: False)  # every event is lost
    await press_mute(hass)
    assert emulator_muted(emulator, live_call)
    assert state_of(hass, MUTE) == STATE_ON


async def test_a_press_during_an_outage_is_refused_by_home_assistant(
    hass: HomeAssistant, emulator: Emulator, live_call: str, caplog: pytest.LogCaptureFixture
) -> None:
    """While the session is down the switch is unavailable: HA refuses the press and says so.

    Nothing is sent, so nothing can be applied behind the user's back.
    """
    await emulator.control.fail_next(5, status=503, path_prefix="/api/v2/notifications")
    await emulator.control.expire_channels()
    await wait_for(hass, lambda: state_of(hass, MUTE) == STATE_UNAVAILABLE)
    await press_mute(hass)
    assert "not currently available" in caplog.text
    assert not emulator_muted(emulator, live_call)
    assert agent_mute_patches(emulator) == []


async def test_an_expired_access_token_is_refreshed_on_the_next_request(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator, live_call: str
) -> None:
    """Genesys says 401 before HA's clock does: refresh once, retry once, mute."""
    old_token = integration.data["token"]["access_token"]
    await emulator.control.expire_access_tokens()
    await press_mute(hass)
    assert emulator_muted(emulator, live_call)
    assert integration.data["token"]["access_token"] != old_token


async def test_emulator_restart_ends_in_reauth_and_nothing_else_breaks(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator, live_call: str
) -> None:
    """Every channel, token and call gone: the login must be renewed; entities unavailable."""
    await emulator.control.restart()
    await wait_for(
        hass,
        lambda: hass.config_entries.flow.async_progress_by_handler(DOMAIN),
        within=HEAL_AFTER_BURST_BOUND,
    )
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert state_of(hass, MUTE) == STATE_UNAVAILABLE


@pytest.mark.parametrize(
    "frame",
    [
        "not json at all",
        '{"topicName": "v2.users.',
        '{"topicName": "v2.unknown.topic", "eventBody": {}}',
        '{"topicName": 42, "eventBody": []}',
        '{"eventBody": {"id": "x"}}',
        json.dumps({"topicName": "channel.metadata", "eventBody": "odd"}),
    ],
)
async def test_malformed_frames_are_ignored(
    hass: HomeAssistant, emulator: Emulator, live_call: str, frame: str
) -> None:
    """Garbage on the socket changes nothing and kills nothing."""
    await emulator.control.send_raw_frame(frame)
    await mute_elsewhere_and_see_it(hass, emulator, live_call)
    assert state_of(hass, CALL_STATE) == "connected"


async def test_events_of_someone_elses_conversation_are_ignored(
    hass: HomeAssistant, emulator: Emulator, live_call: str
) -> None:
    """A snapshot on our topic without our leg (or with another user's) changes nothing."""
    foreign = {
        "id": "6f2c3e0a-0000-4000-8000-000000000001",
        "participants": [
            {
                "id": "6f2c3e0a-0000-4000-8000-000000000002",
                "purpose": "agent",
                "state": "connected",
                "muted": True,
                "user": {"id": emulator.supervisor.id},
            }
        ],
    }
    await emulator.control.send_raw_frame(conversation_frame(emulator, foreign))
    await mute_elsewhere_and_see_it(hass, emulator, live_call)
    assert hass.states.get(CALL_STATE).attributes["conversation_id"] == live_call


async def test_an_old_snapshot_never_revives_an_ended_call(
    hass: HomeAssistant, emulator: Emulator, live_call: str
) -> None:
    """Out of order: the connected snapshot arriving after the hang-up is refused."""
    connected = next(c for c in emulator.control.state()["conversations"] if c["id"] == live_call)
    await emulator.control.customer_hangup(live_call)
    await emulator.control.complete_wrapup(live_call)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "idle")
    await emulator.control.send_raw_frame(conversation_frame(emulator, connected))
    # A later push proves the stale frame was read (frames are handled in order).
    await emulator.control.set_presence(emulator.demo_agent.id, "Busy")
    await wait_for(hass, lambda: state_of(hass, "sensor.jane_agent_presence") == "busy")
    assert state_of(hass, CALL_STATE) == "idle"


async def test_fifty_presses_end_in_the_last_intent(
    hass: HomeAssistant, emulator: Emulator, live_call: str
) -> None:
    """Rapid presses: the final state is the last press, and no PATCH repeats the previous one.

    Home Assistant runs the switch's presses one at a time (PARALLEL_UPDATES = 1) and the
    session serializes its own, so at most one PATCH is ever in flight.
    """
    await emulator.control.set_latency(0.02)
    for press in range(50):
        await hass.services.async_call(
            SWITCH_DOMAIN,
            SERVICE_TURN_ON if press % 2 == 0 else "turn_off",
            {ATTR_ENTITY_ID: MUTE},
            blocking=False,
        )
    await hass.async_block_till_done()
    await wait_for(
        hass, lambda: not emulator_muted(emulator, live_call) and state_of(hass, MUTE) == STATE_OFF
    )
    bodies = [patch["body"] for patch in agent_mute_patches(emulator)]
    assert len(bodies) <= 50
    assert all(first != second for first, second in itertools.pairwise(bodies))


async def test_a_forged_event_cannot_make_us_mute_someone_else(
    hass: HomeAssistant, emulator: Emulator, live_call: str
) -> None:
    """A frame putting our user on a customer leg of another call changes nothing we PATCH."""
    forged = {
        "id": "6f2c3e0a-0000-4000-8000-00000000000a",
        "participants": [
            {"id": "forged-customer", "purpose": "customer", "state": "connected",
             "user": {"id": emulator.demo_agent.id}, "startTime": "2030-01-01T00:00:00Z"},
            {"id": "forged-agent", "purpose": "agent", "state": "connected",
             "user": {"id": emulator.supervisor.id}, "startTime": "2030-01-01T00:00:00Z"},
        ],
    }  # fmt: skip
    await emulator.control.send_raw_frame(conversation_frame(emulator, forged))
    await press_mute(hass)
    [patch] = agent_mute_patches(emulator)
    assert patch["path"].startswith(f"/api/v2/conversations/calls/{live_call}/participants/")
    assert "forged" not in patch["path"]
    assert emulator_muted(emulator, live_call)
