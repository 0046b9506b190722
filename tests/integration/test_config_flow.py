"""The config flow against the emulator: region, code + PKCE, reauth, reconfigure, options."""

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntry,
    ConfigFlowResult,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from yarl import URL

from custom_components.genesys_agent.const import (
    CONF_BASE_URL,
    CONF_REGION,
    CONF_SHOW_CALLER_NUMBER,
    CUSTOM_REGION,
    DOMAIN,
)
from genesys_emulator import Emulator

from .conftest import LoginFlow, custom_url_input, start_user_flow


async def test_full_flow_creates_an_entry_for_the_logged_in_agent(
    hass: HomeAssistant, emulator: Emulator, login_flow: LoginFlow
) -> None:
    """Region, login with PKCE (the emulator checks the verifier), then an entry per agent."""
    result = await login_flow(await start_user_flow(hass, emulator))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == emulator.demo_agent.id
    assert entry.title == "Genesys Cloud agent"  # never the name: HA's log lines quote it
    assert entry.data[CONF_REGION] == CUSTOM_REGION
    assert entry.data[CONF_BASE_URL] == emulator.base_url
    assert entry.data["token"]["refresh_token"]


async def test_regions_are_listed_and_the_custom_url_is_folded_away(
    hass: HomeAssistant, credentials: None
) -> None:
    """A normal user picks one of Genesys' regions; the custom URL waits in a folded section."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    schema = {str(key): value for key, value in result["data_schema"].schema.items()}
    assert len(schema[CONF_REGION].config["options"]) == 18
    assert schema["advanced"].options == {"collapsed": True}


async def test_a_custom_url_must_be_a_url(hass: HomeAssistant, credentials: None) -> None:
    """A custom URL without http(s) is refused on the form, with an error."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom_url_input("emulator:8765")
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_base_url"}


async def test_a_region_sends_the_agent_to_that_regions_login_host(
    hass: HomeAssistant, credentials: None, current_request_with_host: None
) -> None:
    """Choosing Dublin sends the browser to login.mypurecloud.ie with a PKCE challenge."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_REGION: "eu_west_1", "advanced": {}}
    )
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    assert result["url"].startswith("https://login.mypurecloud.ie/oauth/authorize?")
    assert "code_challenge_method=S256" in result["url"]


async def test_same_agent_twice_is_refused(
    hass: HomeAssistant, emulator: Emulator, login_flow: LoginFlow, config_entry: ConfigEntry
) -> None:
    """Adding the same Genesys user again aborts."""
    result = await login_flow(await start_user_flow(hass, emulator))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_cannot_connect_when_genesys_fails_after_login(
    hass: HomeAssistant, emulator: Emulator, login_flow: LoginFlow
) -> None:
    """If Genesys answers 503 when the flow reads the user, the flow says so, translated."""
    flow = await start_user_flow(hass, emulator)
    await emulator.control.fail_next(3, status=503, path_prefix="/api/v2/users/me")
    result = await login_flow(flow)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"


async def test_reauth_as_the_same_agent_updates_the_token(
    hass: HomeAssistant, emulator: Emulator, login_flow: LoginFlow, config_entry: ConfigEntry
) -> None:
    """Reauth logs in again in the entry's own region and keeps the entry."""
    old_token = config_entry.data["token"]["access_token"]
    result = await start_flow(hass, config_entry, SOURCE_REAUTH)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    result = await login_flow(result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert config_entry.data["token"]["access_token"] != old_token
    assert config_entry.data[CONF_BASE_URL] == emulator.base_url


async def test_reauth_as_another_user_is_refused(
    hass: HomeAssistant, emulator: Emulator, login_flow: LoginFlow, config_entry: ConfigEntry
) -> None:
    """Logging in as someone else during reauth aborts and leaves the entry alone."""
    old_token = config_entry.data["token"]
    result = await start_flow(hass, config_entry, SOURCE_REAUTH)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    result = await login_flow(result, login_hint=emulator.supervisor.email)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert config_entry.data["token"] == old_token


async def test_reconfigure_logs_in_again_as_the_same_agent(
    hass: HomeAssistant, emulator: Emulator, login_flow: LoginFlow, config_entry: ConfigEntry
) -> None:
    """Reconfigure shows the current region and ends with the entry updated."""
    result = await start_flow(hass, config_entry, SOURCE_RECONFIGURE)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom_url_input(emulator.base_url + "/")
    )
    result = await login_flow(result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert config_entry.data[CONF_BASE_URL] == emulator.base_url


async def test_reconfigure_prefills_the_entrys_custom_url_and_no_region(
    hass: HomeAssistant, config_entry: ConfigEntry
) -> None:
    """An entry on a custom URL is not shown as US East: its URL, unfolded, and no region."""
    result = await start_flow(hass, config_entry, SOURCE_RECONFIGURE)
    filled = result["data_schema"]({"advanced": {}})
    assert CONF_REGION not in filled
    schema = {str(key): value for key, value in result["data_schema"].schema.items()}
    assert schema["advanced"].options == {"collapsed": False}
    assert schema["advanced"].schema({}) == {CONF_BASE_URL: config_entry.data[CONF_BASE_URL]}


async def test_reconfigure_prefills_the_entrys_region(
    hass: HomeAssistant, config_entry: ConfigEntry
) -> None:
    data = {k: v for k, v in config_entry.data.items() if k != CONF_BASE_URL}
    hass.config_entries.async_update_entry(config_entry, data={**data, CONF_REGION: "eu_west_1"})
    result = await start_flow(hass, config_entry, SOURCE_RECONFIGURE)
    assert result["data_schema"]({"advanced": {}})[CONF_REGION] == "eu_west_1"
    schema = {str(key): value for key, value in result["data_schema"].schema.items()}
    assert schema["advanced"].options == {"collapsed": True}


async def test_neither_a_region_nor_a_url_asks_again(
    hass: HomeAssistant, config_entry: ConfigEntry
) -> None:
    result = await start_flow(hass, config_entry, SOURCE_RECONFIGURE)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"advanced": {CONF_BASE_URL: ""}}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "region_required"}


async def test_the_form_names_the_redirect_uri_this_instance_sends(
    hass: HomeAssistant, credentials: None, current_request_with_host: None
) -> None:
    """Without My Home Assistant, the browser's own URL; with it, My Home Assistant's."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["description_placeholders"] == {
        "redirect_url": "https://example.com/auth/external/callback"
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_REGION: "eu_west_1", "advanced": {}}
    )
    sent = URL(result["url"]).query["redirect_uri"]
    assert sent == "https://example.com/auth/external/callback"

    hass.config.components.add("my")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["description_placeholders"] == {
        "redirect_url": "https://my.home-assistant.io/redirect/oauth"
    }


async def test_options_toggle_caller_numbers(
    hass: HomeAssistant, config_entry: ConfigEntry
) -> None:
    """Caller numbers are personal data: off by default, on when the user says so."""
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    schema = result["data_schema"]({})
    assert schema[CONF_SHOW_CALLER_NUMBER] is False
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SHOW_CALLER_NUMBER: True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert config_entry.options[CONF_SHOW_CALLER_NUMBER] is True
    assert config_entry.options["softphone"] is False  # the softphone stays off by default


async def start_flow(hass: HomeAssistant, entry: ConfigEntry, source: str) -> ConfigFlowResult:
    """Start a reauth or reconfigure flow on the entry, as Home Assistant does."""
    return await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": source, "entry_id": entry.entry_id},
        data=dict(entry.data) if source == SOURCE_REAUTH else None,
    )
