"""The packaging metadata that HACS, hassfest and Home Assistant's loader read."""

import json
from pathlib import Path

import pytest
import yaml

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
