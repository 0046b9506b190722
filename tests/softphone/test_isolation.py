"""What the softphone costs when it is off (nothing) and what it needs from the host."""

import os
from pathlib import Path

import pytest

from custom_components.genesys_agent.genesys_cloud.softphone.media import ensure_alsa_config

from .helpers import run_python

IMPORT_EVERYTHING_BUT_MEDIA = """
import importlib, pkgutil, sys
import custom_components.genesys_agent as integration
media = {"media", "jitter_buffer"}  # aiortc's modules: the softphone's media imports them when on
names = [f"custom_components.genesys_agent.{m.name}" for m in pkgutil.walk_packages(
    integration.__path__) if m.name.split(".")[-1] not in media]
for name in names:
    importlib.import_module(name)
print(len(names), *sorted(m for m in ("aiortc", "av", "aioice") if m in sys.modules))
"""


def test_nothing_but_the_media_module_imports_aiortc_or_av() -> None:
    count, *webrtc = run_python("-c", IMPORT_EVERYTHING_BUT_MEDIA).split()
    assert int(count) > 10  # the integration, the client and the softphone's other modules
    assert webrtc == []


PLAY_TO_ALSA_NULL = """
import os
from custom_components.genesys_agent.genesys_cloud.softphone.media import AlsaPlayback
AlsaPlayback("null").close()
print(os.environ["ALSA_CONFIG_DIR"])
"""


@pytest.mark.skipif(not Path("/usr/share/alsa/alsa.conf").is_file(), reason="no alsa-lib config")
def test_an_alsa_device_opens_without_the_user_setting_alsa_config_dir() -> None:
    # PyAV's libasound alone looks for its configuration at a build-time path and fails.
    output = run_python("-c", PLAY_TO_ALSA_NULL, without=frozenset({"ALSA_CONFIG_DIR"}))
    assert output.strip() == "/usr/share/alsa"


def test_the_users_alsa_config_dir_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALSA_CONFIG_DIR", "/opt/alsa")
    ensure_alsa_config()
    assert os.environ["ALSA_CONFIG_DIR"] == "/opt/alsa"
