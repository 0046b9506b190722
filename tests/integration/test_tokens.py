"""A login revoked while the socket is up shows as a reauthentication notice in time."""

from collections.abc import AsyncGenerator
import time

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntry
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
import pytest

from custom_components.genesys_agent.const import DOMAIN
from genesys_emulator import Emulator, EmulatorConfig
from genesys_emulator.testing import running_emulator

from .conftest import wait_for
from .test_entities import MUTE, state_of

# The session's timer refreshes at half a short token's life, but never sooner than 10 s after
# the last look; Home Assistant itself refreshes a token that expires within 20 s when setup asks
# for one. With 20 s tokens the timer could find its token just replaced, wait again, and see the
# revocation only at the expiry itself (20.0 s against the 20 s bound). With 30 s it shows in
# about 15 s.
ACCESS_TOKEN_TTL = 30


@pytest.fixture
async def emulator(socket_enabled: None) -> AsyncGenerator[Emulator]:
    """Access tokens that live 30 s (Genesys: 24 h by default, 300 s at the least)."""
    config = EmulatorConfig(auto_approve=True, access_token_ttl=ACCESS_TOKEN_TTL)
    async with running_emulator(config) as emulator:
        yield emulator


async def test_a_revoked_login_asks_for_reauthentication_within_the_token_lifetime(
    hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator
) -> None:
    """Nothing is pressed and the socket stays up: the refresh timer finds the revocation."""
    await emulator.control.revoke_tokens()
    revoked = time.monotonic()
    await wait_for(
        hass,
        lambda: hass.config_entries.flow.async_progress_by_handler(DOMAIN),
        within=ACCESS_TOKEN_TTL,
    )
    assert time.monotonic() - revoked <= ACCESS_TOKEN_TTL
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    await wait_for(hass, lambda: state_of(hass, MUTE) == STATE_UNAVAILABLE)
