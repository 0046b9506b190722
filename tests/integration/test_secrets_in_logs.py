"""No token, secret, name, email or phone number reaches any log line, at any level."""

import logging

from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant
import pytest

from genesys_emulator import Emulator

from .conftest import LoginFlow, start_user_flow, wait_for
from .test_entities import CALL_STATE, MUTE, state_of

CALLER = "+13175550142"
# The emulator's own logs are not the product's.
NOT_OURS = ("genesys_emulator", "aiohttp.access", "aiohttp.server")


async def test_a_whole_session_at_debug_logs_no_secret(
    hass: HomeAssistant,
    emulator: Emulator,
    login_flow: LoginFlow,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Login, setup, a call with mutes, a dropped socket and a token refresh, all at DEBUG."""
    caplog.set_level(logging.DEBUG)
    result = await login_flow(await start_user_flow(hass, emulator))
    entry = result["result"]
    await hass.async_block_till_done()
    first_token = dict(entry.data["token"])

    conversation_id = await emulator.control.start_inbound_call(ani=f"tel:{CALLER}")
    await emulator.control.answer(conversation_id)
    await wait_for(hass, lambda: state_of(hass, CALL_STATE) == "connected")
    for service in (SERVICE_TURN_ON, SERVICE_TURN_OFF):
        await hass.services.async_call(
            SWITCH_DOMAIN, service, {ATTR_ENTITY_ID: MUTE}, blocking=True
        )
    await emulator.control.expire_access_tokens()
    await emulator.control.drop_websockets()
    await emulator.control.set_mute(conversation_id, True, by="supervisor")
    await wait_for(hass, lambda: state_of(hass, MUTE) == "on")
    await hass.config_entries.async_unload(entry.entry_id)

    secrets = {
        "access token": first_token["access_token"],
        "refresh token": first_token["refresh_token"],
        "new access token": entry.data["token"]["access_token"],
        "client secret": emulator.demo_client.secret,
        "email": emulator.demo_agent.email,
        "name": emulator.demo_agent.name,
        "caller number": CALLER,
        **{f"channel id {n}": channel for n, channel in enumerate(emulator.hub.channels)},
    }
    assert entry.data["token"]["access_token"] != first_token["access_token"]
    ours = [r for r in caplog.records if not r.name.startswith(NOT_OURS)]
    assert len(ours) > 20
    for record in ours:
        line = record.getMessage() + (record.exc_text or "")
        for what, secret in secrets.items():
            assert secret not in line, f"{what} in a {record.levelname} line of {record.name}"
