"""A small Home Assistant configuration: what the demo needs, nothing that goes online.

The folder persists between runs (helpers, automations, options, history); ``configuration.yaml``
and the blueprints are the demo's own and rewritten on every start.
"""

import json
from pathlib import Path
import shutil

ROOT = Path(__file__).resolve().parent.parent

CONFIGURATION = """\
homeassistant:
  name: Genesys Agent demo
  latitude: 52.37
  longitude: 4.89
  elevation: 0
  unit_system: metric
  currency: EUR
  country: NL
  time_zone: Europe/Amsterdam
  language: en
  internal_url: "http://127.0.0.1:{port}"
frontend:
config:
application_credentials:
automation: !include automations.yaml
script: !include scripts.yaml
scene: !include scenes.yaml
input_boolean:
input_button:
recorder:
  commit_interval: 1
  purge_keep_days: 7
history:
logbook:
logger:
  default: warning
  logs:
    custom_components.genesys_agent: info
"""


# Onboarding's core_config step would add weather, radio and translation integrations that go
# online; marking every step but the owner's done leaves only the owner to create.
ONBOARDING = {
    "version": 4,
    "minor_version": 1,
    "key": "onboarding",
    "data": {"done": ["core_config", "analytics", "integration"]},
}


def http_settings(port: int) -> dict[str, object]:
    """The HTTP server's settings as Home Assistant stores them once confirmed (YAML for them is
    deprecated, and a changed YAML would wait for a confirmation and revert after 5 minutes)."""
    stable = {
        "server_port": port,
        "server_host": ["127.0.0.1"],
        "cors_allowed_origins": [],
        "login_attempts_threshold": -1,
        "ip_ban_enabled": True,
        "ssl_profile": "modern",
        "use_x_frame_options": True,
        "created_at": "2026-01-01T00:00:00+00:00",
        "error": None,
        "error_message": None,
    }
    return {
        "version": 2,
        "minor_version": 2,
        "key": "http",
        "data": {"stable": stable, "pending": None, "yaml_migration_done": True},
    }


def is_onboarded(config_dir: Path) -> bool:
    """Whether an earlier run created the owner (the folder is then reused as it is)."""
    try:
        done = json.loads((config_dir / ".storage" / "onboarding").read_text())["data"]["done"]
    except OSError, ValueError, KeyError, TypeError:
        return False
    return "user" in done


def write_config(config_dir: Path, port: int) -> None:
    """Prepare the config folder: the demo's own files anew, what the user made kept."""
    storage = config_dir / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    if not (storage / "onboarding").exists():
        (storage / "onboarding").write_text(json.dumps(ONBOARDING))
    (storage / "http").write_text(json.dumps(http_settings(port)))
    (config_dir / "configuration.yaml").write_text(CONFIGURATION.format(port=port))
    # Where the UI saves automations, scripts and scenes.
    for name, empty in (
        ("automations.yaml", "[]\n"),
        ("scripts.yaml", "{}\n"),
        ("scenes.yaml", "[]\n"),
    ):
        if not (config_dir / name).exists():
            (config_dir / name).write_text(empty)
    custom = config_dir / "custom_components"
    custom.mkdir(exist_ok=True)
    link = custom / "genesys_agent"
    if not link.is_symlink():
        link.symlink_to(ROOT / "custom_components" / "genesys_agent")
    # Copied, not linked: Home Assistant on Python 3.14 does not follow a link when it globs.
    ours = ROOT / "blueprints" / "automation" / "genesys_agent"
    copy = config_dir / "blueprints" / "automation" / "genesys_agent"
    if copy.is_symlink():
        copy.unlink()
    shutil.copytree(ours, copy, dirs_exist_ok=True)
