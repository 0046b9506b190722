"""Command line: run the emulator, or drive a running one.

``python -m genesys_emulator [--host 127.0.0.1] [--port 8765] [--auto-approve] [--control]``
serves until Ctrl-C and prints its URLs, the demo OAuth client and the demo agent.

``python -m genesys_emulator ctl COMMAND [ARG] [--url URL] [--conversation ID] [--by WHO]`` drives
it through ``/_emulator`` (mounted only with ``--control``); without ``--conversation`` a call
command acts on the demo agent's latest call that is not over.

The control surface wants the run's token: the server (and the demo) write it with its URL to
``.demo/control.json`` in the repository (readable by its owner only), where ``ctl`` finds both;
``--token`` or ``GENESYS_EMULATOR_TOKEN`` override it.
"""

import argparse
import asyncio
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
import json
import os
from pathlib import Path
from typing import Any

from aiohttp import ClientConnectionError, ClientResponse, ClientSession

from .config import EmulatorConfig
from .control import TOKEN_HEADER
from .server import Emulator

DEFAULT_PORT = 8765
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
CONTROL_FILE = Path(__file__).resolve().parent.parent / ".demo" / "control.json"
TOKEN_VARIABLE = "GENESYS_EMULATOR_TOKEN"  # noqa: S105 (a variable name, not a secret)

# ctl command -> (control path, with {id} for the call, JSON body, what ARG fills)
CTL_COMMANDS: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "ring": ("calls/inbound", {}, None),
    "dial": ("calls/outbound", {}, "number"),
    "answer": ("calls/{id}/answer", {}, None),
    "mute": ("calls/{id}/mute", {"muted": True}, None),
    "unmute": ("calls/{id}/mute", {"muted": False}, None),
    "hold": ("calls/{id}/hold", {"held": True}, None),
    "unhold": ("calls/{id}/hold", {"held": False}, None),
    "resume": ("calls/{id}/hold", {"held": False}, None),
    "hangup": ("calls/{id}/customer-hangup", {}, None),
    "disconnect": ("calls/{id}/agent-disconnect", {}, None),
    "wrapup": ("calls/{id}/wrapup", {}, "code"),
    "skip-wrapup": ("calls/{id}/wrapup", {"skip": True}, None),
    "transfer": ("calls/{id}/transfer", {}, None),
    "consult": ("calls/{id}/consult", {}, "number"),
    "ring-direct": ("calls/direct", {}, None),
    "presence": ("users/{agent}/presence", {}, "systemPresence"),
    "routing": ("users/{agent}/routing-status", {}, "status"),
    "drop": ("websockets/drop", {}, None),
    "closing": ("websockets/socket-closing", {}, None),
    "expire-tokens": ("tokens/expire", {}, None),
    "revoke-tokens": ("tokens/revoke", {}, None),
    "restart": ("restart", {}, None),
}
# What each step does, for --help; a command without a line here is listed bare.
CTL_HELP: dict[str, str] = {
    "ring": "a customer calls the agent (an inbound call rings)",
    "dial": "the agent dials NUMBER (an outbound call)",
    "answer": "the agent picks up",
    "mute": "mute from the Genesys desktop (--by supervisor: a supervisor mutes the agent)",
    "unmute": "unmute (also --by supervisor)",
    "hold": "the agent puts the call on hold",
    "unhold": "the agent resumes the held call",
    "resume": "the same as unhold",
    "hangup": "the customer hangs up; the agent goes to wrap-up",
    "disconnect": "the agent hangs up from the desktop; wrap-up follows",
    "wrapup": "the agent finishes wrap-up (with CODE, a wrap-up code id); the call is over",
    "skip-wrapup": "the agent skips wrap-up (refused on a queue that requires a code)",
    "ring-direct": "someone calls the agent directly (no queue; declining sends it to voicemail)",
    "transfer": "the agent transfers the customer back to the queue",
    "consult": "the agent consults NUMBER on the same call",
    "presence": "set the agent's presence (Available, Busy, Away, On Queue, ...)",
    "routing": "set the routing status (OFF_QUEUE, IDLE, INTERACTING, ...)",
    "drop": "cut every notification websocket (a network blip)",
    "closing": "announce Genesys maintenance (socket_closing) on every websocket",
    "expire-tokens": "every access token expires now (refresh tokens still work)",
    "revoke-tokens": "revoke every token (Home Assistant asks to log in again)",
    "restart": "Genesys restarts: every channel, token and call is lost",
    "status": "print users, calls and channels",
    "audit": "print the mute requests seen and who made them",
}


@dataclass(frozen=True, kw_only=True)
class ControlAccess:
    """Where a running emulator's control surface is and the run's token."""

    url: str
    token: str

    def write(self, path: Path = CONTROL_FILE) -> None:
        """Leave the address and token for ``ctl`` (owner-only: the token drives the org)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(json.dumps({"url": self.url, "token": self.token}))

    @classmethod
    def read(cls, path: Path = CONTROL_FILE) -> ControlAccess | None:
        """What a running emulator left, or None."""
        try:
            fields = json.loads(path.read_text())
            return cls(url=str(fields["url"]), token=str(fields["token"]))
        except OSError, ValueError, KeyError, TypeError:
            return None

    @staticmethod
    def remove(token: str, path: Path = CONTROL_FILE) -> None:
        """Delete the file if it is still this run's."""
        if (left := ControlAccess.read(path)) is not None and left.token == token:
            path.unlink(missing_ok=True)


def banner(emulator: Emulator, control_file: Path = CONTROL_FILE) -> str:
    """What a person needs to connect a client to the emulator."""
    base = emulator.base_url
    agent, supervisor = emulator.demo_agent, emulator.supervisor
    commands = " | ".join([*CTL_COMMANDS, "status", "audit"])
    control = emulator.config.control_api
    return "\n".join(
        [
            f"Genesys Cloud emulator at {base}",
            f"  authorize:  {base}/login/oauth/authorize",
            f"  token:      {base}/login/oauth/token",
            f"  API:        {base}/api/v2/...",
            f"  websockets: {base.replace('http', 'ws', 1)}/channels/{{channelId}}",
            f"  control:    {base}/_emulator/... (see genesys_emulator/control.py)"
            if control
            else "  control:    off (start with --control to drive it with ctl)",
            *(
                [f"  control token: {emulator.control.token} (written to {control_file})"]
                if control
                else []
            ),
            f"demo OAuth client id:     {emulator.demo_client.id}",
            f"demo OAuth client secret: {emulator.demo_client.secret}",
            f"demo agent: {agent.name} <{agent.email}> id {agent.id}",
            f"supervisor: {supervisor.name} <{supervisor.email}> id {supervisor.id}",
            f"auto-approve sign-in: {'on' if emulator.login.auto_approve else 'off'}",
            f"drive it: scripts/ctl {{{commands}}}"
            if control
            else "drive it: start with --control",
        ]
    )


async def serve(
    config: EmulatorConfig, host: str, port: int, control_file: Path = CONTROL_FILE
) -> None:
    """Run until cancelled (Ctrl-C); the control surface's access goes to ``control_file``."""
    emulator = Emulator(config)
    await emulator.start(host, port)
    if config.control_api:
        ControlAccess(url=emulator.base_url, token=emulator.control.token).write(control_file)
    print(banner(emulator, control_file), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        ControlAccess.remove(emulator.control.token, control_file)
        await emulator.stop()


def _latest_call(state: dict[str, Any], agent_id: str) -> str:
    for conversation in reversed(state["conversations"]):
        for participant in conversation["participants"]:
            user = participant.get("user", {}).get("id")
            if user == agent_id and participant["state"] != "terminated":
                return str(conversation["id"])
    raise SystemExit("no call in progress; start one with: ctl ring")


def control_access(url: str | None, token: str | None) -> ControlAccess:
    """The address and token ``ctl`` uses: flags, then the environment, then the control file."""
    left = ControlAccess.read(CONTROL_FILE)
    token = token or os.environ.get(TOKEN_VARIABLE) or (left.token if left else None)
    if not token:
        raise SystemExit(
            f"no control token: start the demo (scripts/demo) or the emulator with --control,"
            f" or pass --token (or set {TOKEN_VARIABLE})"
        )
    return ControlAccess(url=url or (left.url if left else DEFAULT_URL), token=token)


async def ctl(
    access: ControlAccess, command: str, arg: str | None, conversation: str | None, by: str
) -> Any:
    """Perform one ctl command against the emulator; its JSON answer."""
    base = access.url.rstrip("/") + "/_emulator/"
    async with ClientSession(headers={TOKEN_HEADER: access.token}) as session:
        if command in {"status", "audit"}:
            async with session.get(base + ("state" if command == "status" else "audit")) as r:
                return await _answer(command, r)
        path, body, arg_field = CTL_COMMANDS[command]
        body = dict(body)
        if arg_field is not None and arg is not None:
            body[arg_field] = arg
        if path.endswith("mute"):
            body["by"] = by
        async with session.get(base + "state") as response:
            state = await _answer(command, response)
        agent_id = state["users"][0]["id"]
        if "{id}" in path and conversation is None:
            conversation = _latest_call(state, agent_id)
        path = path.format(id=conversation, agent=agent_id)
        async with session.post(base + path, json=body) as response:
            return await _answer(command, response)


async def _answer(command: str, response: ClientResponse) -> Any:
    """The JSON answer, or the emulator's reason as a one-line exit message."""
    answer = await response.json()
    if response.status >= 400:
        raise SystemExit(f"{command} failed: {answer.get('message', answer)}")
    return answer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m genesys_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--auto-approve", action="store_true", help="skip the sign-in page")
    parser.add_argument("--heartbeat", type=float, default=30.0, help="seconds between heartbeats")
    parser.add_argument("--token-ttl", type=float, default=86400, help="access token lifetime")
    parser.add_argument(
        "--webrtc-media",
        action="store_true",
        help="calls to WebRTC stations carry real audio (aiortc, on 127.0.0.1 only)",
    )
    parser.add_argument(
        "--control", action="store_true", help="mount the HTTP control surface that ctl drives"
    )
    commands = parser.add_subparsers(dest="subcommand")
    steps = [*CTL_COMMANDS, "status", "audit"]
    drive = commands.add_parser(
        "ctl",
        help="drive a running emulator",
        description="Drive the emulated call of a running demo or emulator, one step at a time.",
        epilog="steps:\n"
        + "\n".join(f"  {step:<15}{CTL_HELP.get(step, '')}" for step in steps)
        + "\n\na call: ring, answer, mute, unmute, hold, resume, hangup, wrapup",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    drive.add_argument("command", choices=steps, metavar="STEP", help="see the list below")
    drive.add_argument("arg", nargs="?", help="number, presence, routing status or wrap-up code id")
    drive.add_argument(
        "--url", help=f"the emulator (default: the running demo's, or {DEFAULT_URL})"
    )
    drive.add_argument(
        "--token", help=f"the control token (default: ${TOKEN_VARIABLE}, or the running demo's)"
    )
    drive.add_argument("--conversation", help="call id (default: the latest call)")
    drive.add_argument("--by", choices=["desktop", "supervisor"], default="desktop")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = _parser().parse_args(argv)
    if args.subcommand == "ctl":
        access = control_access(args.url, args.token)
        try:
            answer = asyncio.run(ctl(access, args.command, args.arg, args.conversation, args.by))
        except ClientConnectionError as err:
            raise SystemExit(
                f"no emulator answers at {access.url}: is the demo running? ({err})"
            ) from err
        print(json.dumps(answer, indent=2))
        return 0
    config = EmulatorConfig(
        auto_approve=args.auto_approve,
        heartbeat_interval=args.heartbeat,
        access_token_ttl=args.token_ttl,
        control_api=args.control,
        webrtc_media=args.webrtc_media,
    )
    with suppress(KeyboardInterrupt):
        asyncio.run(serve(config, args.host, args.port))
    return 0
