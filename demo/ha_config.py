"""A minimal Home Assistant configuration: only what the demo needs, nothing that goes online."""

import json
from pathlib import Path

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
automation:
script:
input_boolean:
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


def write_config(config_dir: Path, port: int) -> None:
    """Write a fresh config folder that loads the integration from this checkout."""
    storage = config_dir / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    (storage / "onboarding").write_text(json.dumps(ONBOARDING))
    (storage / "http").write_text(json.dumps(http_settings(port)))
    (config_dir / "configuration.yaml").write_text(CONFIGURATION.format(port=port))
    custom = config_dir / "custom_components"
    custom.mkdir(exist_ok=True)
    link = custom / "genesys_agent"
    if not link.is_symlink():
        link.symlink_to(ROOT / "custom_components" / "genesys_agent")
    ours = ROOT / "blueprints" / "automation" / "genesys_agent"
    blueprints = config_dir / "blueprints" / "automation"
    blueprints.mkdir(parents=True, exist_ok=True)
    if ours.is_dir() and not (blueprints / "genesys_agent").is_symlink():
        (blueprints / "genesys_agent").symlink_to(ours)
