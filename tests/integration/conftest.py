"""Fixtures for the Home Assistant side: a real config flow against the emulator."""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
import json
import time
from typing import Any

import aiohttp
from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigFlowResult
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from custom_components.genesys_agent.const import (
    CONF_BASE_URL,
    CONF_REGION,
    DOMAIN,
)
from genesys_emulator import Emulator

type LoginFlow = Callable[..., Awaitable[ConfigFlowResult]]

MUTE = "switch.jane_agent_microphone_muted"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/genesys_agent."""


@pytest.fixture
def client_secret(emulator: Emulator) -> str:
    """The OAuth client's secret ("" for a PKCE-only client: parametrize to override)."""
    return emulator.demo_client.secret


@pytest.fixture
async def credentials(hass: HomeAssistant, emulator: Emulator, client_secret: str) -> None:
    """Register the emulator's OAuth client as application credentials.

    Diagnostics is set up here too: HTTP views must exist before the test client starts.
    """
    assert await async_setup_component(hass, "application_credentials", {})
    assert await async_setup_component(hass, "diagnostics", {})
    await async_import_client_credential(
        hass,
        DOMAIN,
        ClientCredential(emulator.demo_client.id, client_secret),
        "emulator",
    )


async def follow_authorize_url(authorize_url: str, **extra_query: str) -> URL:
    """Open the login page as the browser would; return where Genesys redirects back to."""
    url = URL(authorize_url).update_query(extra_query) if extra_query else URL(authorize_url)
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, allow_redirects=False) as response,
    ):
        assert response.status == 302, await response.text()
        return URL(response.headers["Location"])


@pytest.fixture
def login_flow(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    current_request_with_host: None,
    credentials: None,
) -> LoginFlow:
    """Drive a flow's OAuth step end to end: authorize page, HA's callback, token exchange."""

    async def _login(result: ConfigFlowResult, **extra_query: str) -> ConfigFlowResult:
        assert result["type"] is FlowResultType.EXTERNAL_STEP, result
        callback = await follow_authorize_url(result["url"], **extra_query)
        assert callback.path == "/auth/external/callback"
        client = await hass_client_no_auth()
        response = await client.get(f"{callback.path}?{callback.query_string}")
        assert response.status == 200
        return await hass.config_entries.flow.async_configure(result["flow_id"])

    return _login


async def start_user_flow(hass: HomeAssistant, emulator: Emulator) -> ConfigFlowResult:
    """Start the user flow and point it at the emulator with the custom URL."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], custom_url_input(emulator.base_url)
    )


def custom_url_input(base_url: str) -> dict[str, Any]:
    """The region form filled in with a custom base URL in its advanced section."""
    return {CONF_REGION: "us_east_1", "advanced": {CONF_BASE_URL: base_url}}


@pytest.fixture
async def config_entry(
    hass: HomeAssistant, emulator: Emulator, login_flow: LoginFlow
) -> ConfigEntry:
    """A config entry made by the real flow, not yet set up."""
    result = await login_flow(await start_user_flow(hass, emulator))
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    entry = result["result"]
    # Creating the entry sets it up; tests start from a known, unloaded state.
    await hass.config_entries.async_unload(entry.entry_id)
    return entry


@pytest.fixture
async def integration(
    hass: HomeAssistant, config_entry: ConfigEntry
) -> AsyncGenerator[ConfigEntry]:
    """The entry set up, unloaded after the test so no socket outlives it."""
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    yield config_entry
    await hass.config_entries.async_unload(config_entry.entry_id)
    await hass.async_block_till_done()


async def wait_for(hass: HomeAssistant, condition: Callable[[], Any], within: float = 5.0) -> None:
    """Wait in real time until ``condition()`` holds (pushes arrive over real sockets)."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await hass.async_block_till_done()
        await asyncio.sleep(0.01)


@pytest.fixture
async def live_call(hass: HomeAssistant, integration: ConfigEntry, emulator: Emulator) -> str:
    """A connected, unmuted inbound call, seen by Home Assistant."""
    conversation_id = await emulator.control.start_inbound_call(ani="tel:+13175550100")
    await emulator.control.answer(conversation_id)
    await wait_for(
        hass,
        lambda: integration.runtime_data.data.agent_state.conversation_id == conversation_id
        and integration.runtime_data.data.agent_state.muted is False,
    )
    return conversation_id


async def press_mute(hass: HomeAssistant) -> None:
    """Turn the mute switch on, as a dashboard or an automation does."""
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: MUTE}, blocking=True
    )


def conversation_frame(emulator: Emulator, body: dict[str, Any]) -> str:
    """A conversation event on the demo agent's topic, in Genesys' envelope."""
    return json.dumps(
        {
            "topicName": f"v2.users.{emulator.demo_agent.id}.conversations.calls",
            "version": "2",
            "eventBody": body,
            "metadata": {"CorrelationId": "c0ffee00-0000-4000-8000-000000000000"},
        }
    )


def emulator_muted(emulator: Emulator, conversation_id: str) -> bool:
    """The agent's server-side mute flag, as the emulator holds it."""
    conversation = next(
        c for c in emulator.control.state()["conversations"] if c["id"] == conversation_id
    )
    agent = next(p for p in conversation["participants"] if p["purpose"] == "agent")
    return bool(agent["muted"])
