"""The packaging metadata that HACS, hassfest and Home Assistant's loader read."""

import json
from pathlib import Path
import tomllib

import pytest
import yaml

from custom_components.genesys_agent.genesys_cloud import CommandRefusal

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = ROOT / "custom_components" / "genesys_agent"

TIERS: dict[str, list[str]] = {
    "bronze": [
        "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow",
        "config-flow-test-coverage", "dependency-transparency", "docs-actions",
        "docs-conditions", "docs-high-level-description", "docs-installation-instructions",
        "docs-removal-instructions", "docs-triggers", "entity-event-setup", "entity-unique-id",
        "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
        "unique-config-entry",
    ],
    "silver": [
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner",
        "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    ],
    "gold": [
        "devices", "diagnostics", "discovery", "discovery-update-info", "docs-data-update",
        "docs-examples", "docs-known-limitations", "docs-supported-devices",
        "docs-supported-functions", "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
        "entity-category", "entity-device-class", "entity-disabled-by-default",
        "entity-translations", "exception-translations", "icon-translations",
        "reconfiguration-flow", "repair-issues", "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}  # fmt: skip


def _rule_statuses() -> dict[str, str]:
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]
    statuses: dict[str, str] = {}
    for name, value in rules.items():
        if isinstance(value, str):
            statuses[name] = value
        else:
            assert set(value) <= {"status", "comment"}, name
            statuses[name] = value["status"]
            if value["status"] == "exempt":
                assert value.get("comment"), f"{name}: an exemption needs a reason"
    return statuses


def test_quality_scale_lists_every_rule_once_with_a_valid_status() -> None:
    statuses = _rule_statuses()
    assert sorted(statuses) == sorted(rule for tier in TIERS.values() for rule in tier)
    assert set(statuses.values()) <= {"done", "todo", "exempt"}


def test_manifest_is_valid_for_hacs_and_hassfest() -> None:
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:]), "hassfest wants domain, name, then sorted keys"
    assert manifest["domain"] == INTEGRATION.name
    assert manifest["config_flow"] is True
    assert "application_credentials" in manifest["dependencies"]
    assert manifest["iot_class"] == "cloud_push"
    for key in ("codeowners", "documentation", "issue_tracker", "version"):
        assert manifest[key], key
    assert all("==" in requirement for requirement in manifest["requirements"])


def test_manifest_requirements_are_the_projects_runtime_dependencies() -> None:
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert manifest["requirements"] == project["project"]["dependencies"]
    # The dev environment carries the same pins, so tests run what users install.
    assert set(manifest["requirements"]) <= set(project["dependency-groups"]["softphone"])


def test_hacs_json_has_only_known_keys() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    known = {
        "name", "content_in_root", "zip_release", "filename", "hide_default_branch",
        "country", "homeassistant", "hacs", "persistent_directory", "render_readme",
    }  # fmt: skip
    assert hacs["name"]
    assert set(hacs) <= known


@pytest.mark.parametrize("path", ["LICENSE", "README.md", "hacs.json"])
def test_repository_files_exist(path: str) -> None:
    assert (ROOT / path).is_file()


def _source(name: str) -> str:
    return (INTEGRATION / name).read_text()


def _platform_modules() -> list[Path]:
    manifest_platforms = ("binary_sensor", "button", "event", "select", "sensor", "switch")
    return [
        INTEGRATION / f"{p}.py" for p in manifest_platforms if (INTEGRATION / f"{p}.py").exists()
    ]


# What each mechanically checkable `done` rule needs to see in the code (hassfest's validators
# skip custom integrations, so these stand in for them).
DONE_CHECKS = {
    "brands": lambda: (INTEGRATION / "brand" / "icon.png").is_file(),
    "config-flow": lambda: json.loads(_source("manifest.json"))["config_flow"] is True,
    "config-entry-unloading": lambda: "async def async_unload_entry" in _source("__init__.py"),
    "diagnostics": lambda: "async_get_config_entry_diagnostics" in _source("diagnostics.py"),
    "has-entity-name": lambda: "_attr_has_entity_name = True" in _source("entity.py"),
    "icon-translations": lambda: (INTEGRATION / "icons.json").is_file(),
    "parallel-updates": lambda: all(
        "\nPARALLEL_UPDATES = " in path.read_text() for path in _platform_modules()
    ),
    "reauthentication-flow": lambda: "async def async_step_reauth(" in _source("config_flow.py"),
    "reconfiguration-flow": lambda: "async def async_step_reconfigure("
    in _source("config_flow.py"),
    "runtime-data": lambda: "entry.runtime_data = " in _source("__init__.py"),
    "strict-typing": lambda: (INTEGRATION / "genesys_cloud" / "py.typed").is_file(),
    "test-before-setup": lambda: "async_config_entry_first_refresh" in _source("__init__.py"),
    "unique-config-entry": lambda: "_abort_if_unique_id_configured" in _source("config_flow.py"),
}


@pytest.mark.parametrize("rule", sorted(DONE_CHECKS))
def test_each_checkable_done_rule_holds(rule: str) -> None:
    if _rule_statuses()[rule] == "done":
        assert DONE_CHECKS[rule](), f"quality_scale.yaml says {rule} is done, the code disagrees"


def test_every_translation_key_in_the_code_is_written_out() -> None:
    """A custom integration gets no build step: en.json must hold every key, written in full."""
    text = (INTEGRATION / "translations" / "en.json").read_text()
    assert "[%key:" not in text
    translations = json.loads(text)
    for path in INTEGRATION.glob("*.py"):
        for key in _quoted_after(path.read_text(), "translation_key="):
            sections = ("exceptions", "selector", "issues")
            assert any(key in translations.get(section, {}) for section in sections), (
                f"{path.name}: {key}"
            )
    for platform, entities in translations["entity"].items():
        assert (INTEGRATION / f"{platform}.py").is_file(), platform
        for key in entities:
            assert f'"{key}"' in (INTEGRATION / f"{platform}.py").read_text(), key


def _quoted_after(source: str, marker: str) -> list[str]:
    keys = []
    for chunk in source.split(marker)[1:]:
        if chunk.startswith('"'):
            keys.append(chunk[1 : chunk.index('"', 1)])
    return keys


def test_every_action_is_described_translated_and_has_an_icon() -> None:
    """hassfest skips custom integrations: services.yaml, en.json and icons.json must agree."""
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
    translations = json.loads((INTEGRATION / "translations" / "en.json").read_text())["services"]
    icons = json.loads((INTEGRATION / "icons.json").read_text())["services"]
    assert set(services) == set(translations) == set(icons)
    for service, description in services.items():
        assert translations[service]["name"]
        assert translations[service]["description"]
        assert set(description["fields"]) == set(translations[service]["fields"])
        assert f'"{service}"' in _source("services.py"), service


def test_every_refusal_reason_is_a_message_without_placeholders() -> None:
    """A refused command is shown by its reason's key; nothing fills placeholders there."""
    exceptions = json.loads((INTEGRATION / "translations" / "en.json").read_text())["exceptions"]
    for reason in CommandRefusal:
        assert "{" not in exceptions[reason.value]["message"], reason
