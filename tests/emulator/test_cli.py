"""The command line: the server prints what a person needs, and ctl drives a whole call."""

import asyncio
from collections.abc import AsyncIterator
import json
from pathlib import Path
import re
import subprocess
import sys

import pytest

from genesys_emulator import EmulatorConfig, cli
from genesys_emulator.cli import main, serve


@pytest.fixture
def control_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the server leaves its URL and token, and ctl finds them (not the repository's)."""
    path = tmp_path / ".demo" / "control.json"
    monkeypatch.setattr(cli, "CONTROL_FILE", path)
    monkeypatch.delenv(cli.TOKEN_VARIABLE, raising=False)
    return path


@pytest.fixture
async def served(
    socket_enabled: None, capsys: pytest.CaptureFixture[str], control_file: Path
) -> AsyncIterator[tuple[str, str]]:
    """The CLI's server in this process: its base URL and banner."""
    task = asyncio.get_running_loop().create_task(
        serve(EmulatorConfig(control_api=True), "127.0.0.1", 0, control_file)
    )
    async with asyncio.timeout(5):
        while not (banner := capsys.readouterr().out):  # noqa: ASYNC110 (stdout has no event)
            await asyncio.sleep(0.01)
    match = re.search(r"at (http://127\.0\.0\.1:\d+)", banner)
    assert match is not None, banner
    yield match.group(1), banner
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def _ctl(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> object:
    assert await asyncio.to_thread(main, ["ctl", *args, "--url", url]) == 0  # token: the file
    return json.loads(capsys.readouterr().out)


async def test_banner_tells_how_to_connect(served: tuple[str, str]) -> None:
    url, banner = served
    assert f"{url}/login/oauth/authorize" in banner
    assert f"{url}/login/oauth/token" in banner
    assert "demo OAuth client id:     5b0e2c3a-7e51-4c1f-9d38-6a1f0c2d9e47" in banner
    assert "demo OAuth client secret: emulator-demo-secret" in banner
    assert "Jane Agent" in banner
    assert "ctl {ring | dial | answer | mute" in banner
    token = re.search(r"control token: (\S+)", banner)
    assert token is not None, banner
    assert len(token.group(1)) >= 32


async def test_the_token_is_left_for_ctl_alone_and_removed_on_exit(
    socket_enabled: None, capsys: pytest.CaptureFixture[str], control_file: Path
) -> None:
    task = asyncio.get_running_loop().create_task(
        serve(EmulatorConfig(control_api=True), "127.0.0.1", 0, control_file)
    )
    async with asyncio.timeout(5):
        while not control_file.exists():  # noqa: ASYNC110 (a file has no event)
            await asyncio.sleep(0.01)
    assert control_file.stat().st_mode & 0o077 == 0
    left = json.loads(control_file.read_text())
    assert left["token"] in capsys.readouterr().out
    # From any directory, with nothing but what the server left: no --url, no --token.
    assert await asyncio.to_thread(main, ["ctl", "ring"]) == 0
    assert "conversationId" in json.loads(capsys.readouterr().out)
    with pytest.raises(SystemExit, match="ring failed: the X-Emulator-Token header"):
        await asyncio.to_thread(main, ["ctl", "ring", "--token", "guessed"])
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not control_file.exists()
    with pytest.raises(SystemExit, match="no control token: start the demo"):
        await asyncio.to_thread(main, ["ctl", "ring"])


def test_ctl_help_lists_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["ctl", "--help"])
    shown = capsys.readouterr().out
    for step in [*cli.CTL_COMMANDS, "status", "audit"]:
        assert re.search(rf"^  {re.escape(step)}\s", shown, re.MULTILINE), step
    assert "--by supervisor" in shown
    assert "ring, answer, mute, unmute, hold, resume, hangup, wrapup" in shown


async def test_a_person_drives_a_call(
    served: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = served
    created = await _ctl(capsys, url, "ring")
    assert isinstance(created, dict)
    for command in ("answer", "mute", "hold", "unhold", "unmute", "hangup", "wrapup"):
        assert await _ctl(capsys, url, command) == {}
    state = await _ctl(capsys, url, "status")
    assert isinstance(state, dict)
    agent = [p for p in state["conversations"][0]["participants"] if p["purpose"] == "agent"]
    assert agent[0]["state"] == "terminated"
    audit = await _ctl(capsys, url, "audit")
    assert isinstance(audit, dict)
    assert [e["body"] for e in audit["entities"]] == [{"muted": True}, {"muted": False}]
    assert await _ctl(capsys, url, "presence", "Busy") == {}
    assert await _ctl(capsys, url, "drop") == {"count": 0}


async def test_ctl_without_a_call_explains(
    served: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = served
    with pytest.raises(SystemExit, match="no call in progress"):
        await asyncio.to_thread(main, ["ctl", "answer", "--url", url])
    await _ctl(capsys, url, "dial", "tel:+15550001")
    await _ctl(capsys, url, "answer")
    await _ctl(capsys, url, "hangup")
    with pytest.raises(SystemExit, match="wrapup failed"):
        await asyncio.to_thread(main, ["ctl", "wrapup", "--url", url, "--conversation", "nope"])


async def test_ctl_rings_directly_and_skips_wrap_up(
    served: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = served
    for command in ("ring", "answer", "hangup"):
        await _ctl(capsys, url, command)
    assert await _ctl(capsys, url, "skip-wrapup") == {}
    created = await _ctl(capsys, url, "ring-direct")
    assert isinstance(created, dict)
    state = await _ctl(capsys, url, "status")
    assert isinstance(state, dict)
    [direct] = [c for c in state["conversations"] if c["id"] == created["conversationId"]]
    assert [p["purpose"] for p in direct["participants"]] == ["external", "user"]


def test_python_m_starts_and_stops(socket_enabled: None) -> None:
    process = subprocess.Popen(  # noqa: S603 (our own module, fixed arguments)
        [sys.executable, "-m", "genesys_emulator", "--port", "0", "--auto-approve"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Genesys Cloud emulator at http://127.0.0.1:")
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()
