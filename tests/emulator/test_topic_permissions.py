"""Topics a login may not see: rejected one by one with ignoreErrors, else a 400."""

from typing import Any

from aiohttp import ClientSession

from genesys_emulator import Emulator

MISSING = ["conversation:call:view"]


async def _subscribe(
    session: ClientSession, emu: Emulator, token: dict[str, Any], query: str
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    async with session.post(
        f"{emu.base_url}/api/v2/notifications/channels", headers=headers
    ) as response:
        channel = await response.json()
    agent = emu.demo_agent.id
    async with session.put(
        f"{emu.base_url}/api/v2/notifications/channels/{channel['id']}/subscriptions{query}",
        headers=headers,
        json=[
            {"id": f"v2.users.{agent}.conversations.calls"},
            {"id": f"v2.users.{agent}.presence"},
        ],
    ) as response:
        return response.status, await response.json()


async def test_a_withheld_topic_is_rejected_with_its_missing_permissions(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    async with session.post(
        f"{emulator.base_url}/_emulator/topics/withhold",
        json={"topic": "conversations.calls", "missingPermissions": MISSING},
        headers={"X-Emulator-Token": emulator.control.token},
    ) as response:
        assert response.status == 200
    status, listing = await _subscribe(session, emulator, agent_token, "?ignoreErrors=true")
    agent = emulator.demo_agent.id
    assert status == 200
    assert listing["entities"] == [
        {"id": f"v2.users.{agent}.presence"},
        {
            "id": f"v2.users.{agent}.conversations.calls",
            "state": "Rejected",
            "rejectionReason": "Permission denied",
            "missingPermissions": MISSING,
        },
    ]
    status, error = await _subscribe(session, emulator, agent_token, "")
    assert (status, error["code"]) == (400, "notification.invalid.topic")


async def test_a_granted_topic_is_permitted_again(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    await emulator.control.withhold_topic("presence", MISSING)
    await emulator.control.withhold_topic("presence", None)
    status, listing = await _subscribe(session, emulator, agent_token, "?ignoreErrors=true")
    assert status == 200
    assert all("state" not in entity for entity in listing["entities"])
