"""Command line: run the emulator, or drive a running one.

``python -m genesys_emulator [--host 127.0.0.1] [--port 8765] [--auto-approve] [--control]``
serves until Ctrl-C and prints its URLs, the demo OAuth client and the demo agent.

``python -m genesys_emulator ctl COMMAND [ARG] [--url URL] [--conversation ID] [--by WHO]`` drives
it through ``/_emulator`` (mounted only with ``--control``); without ``--conversation`` a call
command acts on the demo agent's latest call that is not over.
"""

import argparse
import asyncio
from collections.abc import Sequence
from contextlib import suppress
import json
from typing import Any

from aiohttp import ClientSession

from .config import EmulatorConfig
from .server import Emulator

DEFAULT_PORT = 8765
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"

# ctl command -> (control path, with {id} for the call, JSON body, what ARG fills)
CTL_COMMANDS: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "ring": ("calls/inbound", {}, None),
    "dial": ("calls/outbound", {}, "number"),
    "answer": ("calls/{id}/answer", {}, None),
    "mute": ("calls/{id}/mute", {"muted": True}, None),
    "unmute": ("calls/{id}/mute", {"muted": False}, None),
    "hold": ("calls/{id}/hold", {"held": True}, None),
    "unhold": ("calls/{id}/hold", {"held": False}, None),
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


def banner(emulator: Emulator) -> str:
    """What a person needs to connect a client to the emulator."""
    base = emulator.base_url
    agent, supervisor = emulator.demo_agent, emulator.supervisor
    commands = " | ".join([*CTL_COMMANDS, "status", "audit"])
    return "\n".join(
        [
            f"Genesys Cloud emulator at {base}",
            f"  authorize:  {base}/login/oauth/authorize",
            f"  token:      {base}/login/oauth/token",
            f"  API:        {base}/api/v2/...",
            f"  websockets: {base.replace('http', 'ws', 1)}/channels/{{channelId}}",
            f"  control:    {base}/_emulator/... (see genesys_emulator/control.py)"
            if emulator.config.control_api
            else "  control:    off (start with --control to drive it with ctl)",
            f"demo OAuth client id:     {emulator.demo_client.id}",
            f"demo OAuth client secret: {emulator.demo_client.secret}",
            f"demo agent: {agent.name} <{agent.email}> id {agent.id}",
            f"supervisor: {supervisor.name} <{supervisor.email}> id {supervisor.id}",
            f"auto-approve sign-in: {'on' if emulator.login.auto_approve else 'off'}",
            f"drive it: python -m genesys_emulator ctl {{{commands}}} --url {base}",
        ]
    )


async def serve(config: EmulatorConfig, host: str, port: int) -> None:
    """Run until cancelled (Ctrl-C)."""
    emulator = Emulator(config)
    await emulator.start(host, port)
    print(banner(emulator), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.stop()


def _latest_call(state: dict[str, Any], agent_id: str) -> str:
    for conversation in reversed(state["conversations"]):
        for participant in conversation["participants"]:
            user = participant.get("user", {}).get("id")
            if user == agent_id and participant["state"] != "terminated":
                return str(conversation["id"])
    raise SystemExit("no call in progress; start one with: ctl ring")


async def ctl(url: str, command: str, arg: str | None, conversation: str | None, by: str) -> Any:
    """Perform one ctl command against the emulator at ``url``; its JSON answer."""
    base = url.rstrip("/") + "/_emulator/"
    async with ClientSession() as session:
        if command in {"status", "audit"}:
            async with session.get(base + ("state" if command == "status" else "audit")) as r:
                return await r.json()
        path, body, arg_field = CTL_COMMANDS[command]
        body = dict(body)
        if arg_field is not None and arg is not None:
            body[arg_field] = arg
        if path.endswith("mute"):
            body["by"] = by
        async with session.get(base + "state") as response:
            state = await response.json()
        agent_id = state["users"][0]["id"]
        if "{id}" in path and conversation is None:
            conversation = _latest_call(state, agent_id)
        path = path.format(id=conversation, agent=agent_id)
        async with session.post(base + path, json=body) as response:
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
        "--control", action="store_true", help="mount the HTTP control surface that ctl drives"
    )
    commands = parser.add_subparsers(dest="subcommand")
    drive = commands.add_parser("ctl", help="drive a running emulator")
    drive.add_argument("command", choices=[*CTL_COMMANDS, "status", "audit"])
    drive.add_argument("arg", nargs="?", help="number, presence, routing status or wrap-up code id")
    drive.add_argument("--url", default=DEFAULT_URL)
    drive.add_argument("--conversation", help="call id (default: the latest call)")
    drive.add_argument("--by", choices=["desktop", "supervisor"], default="desktop")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = _parser().parse_args(argv)
    if args.subcommand == "ctl":
        answer = asyncio.run(ctl(args.url, args.command, args.arg, args.conversation, args.by))
        print(json.dumps(answer, indent=2))
        return 0
    config = EmulatorConfig(
        auto_approve=args.auto_approve,
        heartbeat_interval=args.heartbeat,
        access_token_ttl=args.token_ttl,
        control_api=args.control,
    )
    with suppress(KeyboardInterrupt):
        asyncio.run(serve(config, args.host, args.port))
    return 0
