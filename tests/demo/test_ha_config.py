"""The demo's config folder: what the user made survives a start, the demo's own files are new."""

import json
from pathlib import Path

from aiohttp import ClientSession
import yaml

from demo.dashboard import dashboard_config
from demo.ha_config import ROOT, is_onboarded, write_config
from genesys_emulator import Emulator
from genesys_emulator.testing import running_emulator

BLUEPRINTS = sorted(p.name for p in (ROOT / "blueprints/automation/genesys_agent").glob("*.yaml"))


def test_a_first_start_writes_everything_home_assistant_needs(tmp_path: Path) -> None:
    write_config(tmp_path, 8123)
    configuration = (tmp_path / "configuration.yaml").read_text()
    for integration in ("recorder:", "history:", "logbook:", "input_button:"):
        assert f"\n{integration}" in configuration
    assert "automation: !include automations.yaml" in configuration
    assert yaml.safe_load((tmp_path / "automations.yaml").read_text()) == []
    copied = tmp_path / "blueprints/automation/genesys_agent"
    # Real files, not a link: Home Assistant on Python 3.14 does not follow links when it globs.
    assert not copied.is_symlink()
    assert sorted(p.name for p in copied.glob("*.yaml")) == BLUEPRINTS
    assert len(BLUEPRINTS) == 5
    assert not is_onboarded(tmp_path)


def test_a_later_start_keeps_what_the_user_made(tmp_path: Path) -> None:
    write_config(tmp_path, 8123)
    automation = "- id: '1'\n  alias: Pedal toggles mute\n"
    (tmp_path / "automations.yaml").write_text(automation)
    onboarding = tmp_path / ".storage/onboarding"
    done = json.loads(onboarding.read_text())
    done["data"]["done"].append("user")
    onboarding.write_text(json.dumps(done))
    write_config(tmp_path, 8124)
    assert (tmp_path / "automations.yaml").read_text() == automation
    assert is_onboarded(tmp_path)
    assert (
        json.loads((tmp_path / ".storage/http").read_text())["data"]["stable"]["server_port"]
        == 8124
    )


def test_an_old_blueprint_link_is_replaced_by_copies(tmp_path: Path) -> None:
    folder = tmp_path / "blueprints/automation"
    folder.mkdir(parents=True)
    (folder / "genesys_agent").symlink_to(ROOT / "blueprints/automation/genesys_agent")
    write_config(tmp_path, 8123)
    assert not (folder / "genesys_agent").is_symlink()
    assert sorted(p.name for p in (folder / "genesys_agent").glob("*.yaml")) == BLUEPRINTS


def test_the_call_control_and_softphone_cards_wait_for_their_entities() -> None:
    cards = [
        card
        for section in dashboard_config("jane_agent")["views"][0]["sections"]
        for card in section["cards"]
        if "visibility" in card
    ]
    guarded = {card["visibility"][0]["entity"] for card in cards}
    assert guarded == {
        "button.jane_agent_answer",
        "button.jane_agent_hang_up",
        "switch.jane_agent_hold",
        "select.jane_agent_presence",
        "select.jane_agent_wrap_up_code",
        "button.jane_agent_skip_wrap_up",
        "sensor.jane_agent_softphone_media",
    }
    for card in cards:
        assert card["entity"] == card["visibility"][0]["entity"]
        assert card["visibility"][0]["state_not"] == "unavailable"


async def test_a_fresh_emulator_honours_a_login_kept_from_an_earlier_run(
    socket_enabled: None,
) -> None:
    async with running_emulator() as emulator:
        agent = emulator.demo_agent.id
        emulator.tokens.adopt(emulator.demo_client.id, agent, "kept-access", "kept-refresh")
        assert await _me(emulator, "kept-access") == agent
        form = {
            "grant_type": "refresh_token",
            "refresh_token": "kept-refresh",
            "client_id": emulator.demo_client.id,
            "client_secret": emulator.demo_client.secret,
        }
        async with (
            ClientSession() as session,
            session.post(f"{emulator.base_url}/login/oauth/token", data=form) as response,
        ):
            assert response.status == 200
            refreshed = await response.json()
        assert await _me(emulator, refreshed["access_token"]) == agent
        assert await _me(emulator, "never-issued") is None


async def _me(emulator: Emulator, access_token: str) -> str | None:
    async with (
        ClientSession() as session,
        session.get(
            f"{emulator.base_url}/api/v2/users/me",
            headers={"Authorization": f"Bearer {access_token}"},
        ) as response,
    ):
        return str((await response.json())["id"]) if response.status == 200 else None
