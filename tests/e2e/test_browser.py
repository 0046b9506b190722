"""What a person sees: the dashboard follows the call, the mute control mutes, the UI adds the
agent, shows its service and options, and what a user builds survives a restart from the UI."""

import asyncio
from pathlib import Path
import time
from typing import Any

from playwright.async_api import Browser, Locator, Page, expect

from demo.dashboard import DASHBOARD
from demo.orchestrator import Demo

from .conftest import logged_in_page, settled_screenshot

MUTE = "switch.jane_agent_microphone_muted"
CALL_STATE = "sensor.jane_agent_call_state"
RESTART_TIMEOUT = 120.0
# The toggle-mute blueprint, bound to a dashboard button, as its YAML editor holds it.
PEDAL_AUTOMATION = """\
alias: Pedal toggles mute
description: ""
use_blueprint:
  path: genesys_agent/toggle_mute.yaml
  input:
    press:
      - trigger: state
        entity_id: input_button.pedal
    mute_switch: switch.jane_agent_microphone_muted
"""


def tile(page: Page, name: str) -> Locator:
    """The dashboard's tile named ``name`` (a state such as "Call not on this phone" is no name)."""
    return page.locator("hui-tile-card").filter(has=page.get_by_text(name, exact=True))


def api_mutes(demo: Demo) -> list[object]:
    """The mute PATCHes Home Assistant sent, as the emulator recorded them."""
    return [
        record.body
        for record in demo.emulator.audit
        if record.source == "api" and record.method == "PATCH"
    ]


async def state_of(demo: Demo, entity_id: str) -> dict[str, Any] | None:
    """The entity's state object, or None while it does not exist."""
    return next((s for s in await demo.api.get("/api/states") if s["entity_id"] == entity_id), None)


async def wait_for_state(demo: Demo, entity_id: str, state: str, within: float = 15) -> None:
    """Until the entity exists with ``state``."""
    deadline = time.monotonic() + within
    while (current := await state_of(demo, entity_id)) is None or current["state"] != state:
        assert time.monotonic() < deadline, f"{entity_id} is {current}"
        await asyncio.sleep(0.2)


async def wait_for_mute_request(
    demo: Demo, body: dict[str, bool] | dict[str, str], count: int = 1
) -> None:
    """Until the emulator has seen ``count`` participant PATCHes with ``body``."""
    deadline = time.monotonic() + 5
    while api_mutes(demo).count(body) < count:
        assert time.monotonic() < deadline, f"the emulator saw {api_mutes(demo)}"
        await asyncio.sleep(0.05)


async def test_the_dashboard_follows_the_call_and_the_mute_control_mutes(
    browser: Browser, running_demo: Demo, screenshots: Path
) -> None:
    demo = running_demo
    [conversation_id] = [c["id"] for c in demo.emulator.control.state()["conversations"]]
    page = await logged_in_page(browser, demo, f"/{DASHBOARD}")
    call = tile(page, "Call")
    await expect(call).to_contain_text("Ringing", timeout=15_000)
    details = page.locator("hui-entities-card")
    await expect(details).to_contain_text("Support")  # the queue
    await expect(details).not_to_contain_text("Connected since")
    await settled_screenshot(page, screenshots / "screenshot-ringing.png", full_page=True)

    await demo.emulator.control.answer(conversation_id)
    await expect(call).to_contain_text("Connected")
    await expect(details).to_contain_text("Connected since")
    await expect(details).not_to_contain_text("years ago")
    mute = page.locator("hui-button-card")
    await expect(mute).to_contain_text("Off")

    # The large mute control: one click mutes the call in Genesys.
    await mute.click()
    await wait_for_mute_request(demo, {"muted": True})
    await expect(mute).to_contain_text("On")
    await settled_screenshot(page, screenshots / "screenshot-muted.png", full_page=True)

    # A mute made in the Genesys desktop or by a supervisor shows within a second, with who.
    await demo.emulator.control.set_mute(conversation_id, False, by="desktop")
    await expect(mute).to_contain_text("Off", timeout=1_000)
    await demo.emulator.control.set_mute(conversation_id, True, by="supervisor")
    await expect(mute).to_contain_text("On", timeout=1_000)
    changed_by = page.locator("hui-tile-card").filter(has_text="Mute changed by")
    await expect(changed_by).to_contain_text("elsewhere", ignore_case=True)

    await demo.emulator.control.customer_hangup(conversation_id)
    await demo.emulator.control.complete_wrapup(conversation_id)
    await expect(call).to_contain_text("Idle")
    await settled_screenshot(page, screenshots / "screenshot-idle.png", full_page=True)


async def test_the_dashboard_offers_answer_while_ringing_and_hang_up_while_connected(
    browser: Browser, running_demo: Demo
) -> None:
    """What a person can do shows when they can do it; a click on Answer answers, on Home
    Assistant's softphone (the demo's; its media is tested in tests/demo)."""
    demo = running_demo
    [conversation_id] = [c["id"] for c in demo.emulator.control.state()["conversations"]]
    page = await logged_in_page(browser, demo, f"/{DASHBOARD}")
    answer = tile(page, "Answer")
    hang_up = tile(page, "Hang up")
    call = tile(page, "Call")
    softphone = tile(page, "Softphone")
    await expect(answer).to_be_visible(timeout=15_000)
    await expect(hang_up).to_have_count(0)
    await expect(softphone).to_contain_text("Idle")

    await answer.click()
    await expect(softphone).to_contain_text("Connected")
    await expect(call).to_contain_text("Connected")
    await expect(hang_up).to_be_visible()
    await expect(answer).to_have_count(0)
    agent = next(
        p
        for c in demo.emulator.control.state()["conversations"]
        if c["id"] == conversation_id
        for p in c["participants"]
        if p["purpose"] == "agent"
    )
    assert agent["state"] == "connected"

    await hang_up.click()
    await expect(call).to_contain_text("Wrap-up")
    await expect(hang_up).to_have_count(0)


async def test_a_user_adds_the_integration_through_the_ui(
    browser: Browser, bare_demo: Demo, screenshots: Path
) -> None:
    """Settings → Add integration → Genesys Cloud Agent → region → Genesys login → a service."""
    demo = bare_demo
    page = await logged_in_page(browser, demo, "/config/integrations/dashboard")
    await page.get_by_text("Add integration").click()
    await page.get_by_placeholder("Search for a brand name").fill("Genesys")
    await page.get_by_text("Genesys Cloud Agent").click()
    await expect(page.get_by_text("Genesys Cloud region", exact=True)).to_be_visible()
    # The redirect URI this instance sends (no My Home Assistant here), not My's.
    await expect(page.get_by_text(f"{demo.ha_url}/auth/external/callback")).to_be_visible()
    await page.get_by_text("Advanced: custom URL").click()
    await page.get_by_role("textbox", name="Custom base URL").fill(demo.emulator.base_url)
    await settled_screenshot(page, screenshots / "screenshot-add-integration.png")
    async with page.expect_popup() as login_window:
        await page.get_by_role("button", name="Submit").click()
    # The emulator's login page signs the agent in and sends the browser back to Home Assistant.
    await (await login_window.value).wait_for_event("close", timeout=15_000)
    await expect(page.get_by_text("Name and assign")).to_be_visible(timeout=15_000)
    await expect(page.get_by_role("textbox", name="Device name")).to_have_value("Jane Agent")
    await settled_screenshot(page, screenshots / "screenshot-added.png")
    await page.get_by_role("button", name="Skip and finish").click()
    state = await demo.api.get(f"/api/states/{MUTE}")
    assert state["state"] == "off"


async def test_the_service_page_and_the_options(
    browser: Browser, running_demo: Demo, screenshots: Path
) -> None:
    demo = running_demo
    [devices] = await demo.api.websocket({"type": "config/device_registry/list"})
    [device] = [d for d in devices if d["name"] == "Jane Agent"]
    assert device["entry_type"] == "service"
    page = await logged_in_page(browser, demo, f"/config/devices/device/{device['id']}")
    await expect(page.get_by_text("Microphone muted").first).to_be_visible(timeout=15_000)
    await expect(page.get_by_text("Call state").first).to_be_visible()
    await settled_screenshot(page, screenshots / "screenshot-service.png")

    await page.goto(f"{demo.ha_url}/config/integrations/integration/genesys_agent")
    await page.get_by_role("button", name="Configure").first.click()
    option = page.get_by_text("Show the caller's number")
    await expect(option).to_be_visible(timeout=15_000)
    await settled_screenshot(page, screenshots / "screenshot-options.png")
    checkbox = page.get_by_role("checkbox", name="Show the caller's number")
    # The box's drawn part covers its input: click where a person would, on that part.
    await checkbox.check(force=True)
    await expect(checkbox).to_be_checked()
    await page.get_by_role("button", name="Submit").click()
    deadline = time.monotonic() + 10
    while "remote_number" not in (await state_of(demo, CALL_STATE) or {}).get("attributes", {}):
        assert time.monotonic() < deadline, "the option did not take"
        await asyncio.sleep(0.2)


async def restart_from_the_ui(page: Page, demo: Demo) -> None:
    """Settings → System → the power button → Restart Home Assistant → Restart, and wait."""
    await page.goto(f"{demo.ha_url}/config/system")
    await page.get_by_role("button", name="Restart Home Assistant").click()
    await page.get_by_text("Interrupts all running automations and scripts.").click()
    await page.get_by_role("button", name="Restart", exact=True).click()
    await demo.wait_until_restarted(1, RESTART_TIMEOUT)


async def test_a_ui_automation_the_blueprints_and_the_calls_history_survive_a_restart(
    browser: Browser, running_demo: Demo
) -> None:
    """From a fresh config: an automation from the toggle-mute blueprint bound to a dashboard
    button, made in the UI; after a restart from the UI it is still there and still mutes, the
    five blueprints are listed and the call's logbook entries are kept."""
    demo = running_demo
    await demo.api.websocket({"type": "input_button/create", "name": "Pedal"})
    [conversation_id] = [c["id"] for c in demo.emulator.control.state()["conversations"]]
    await demo.emulator.control.answer(conversation_id)

    page = await logged_in_page(browser, demo, "/config/blueprint/dashboard")
    await page.get_by_text("toggle mute from a button or pedal").click()
    await page.get_by_role("button", name="Menu").last.click()
    await page.get_by_text("Edit in YAML").click()
    editor = page.locator(".cm-content").first
    await editor.click()
    await page.keyboard.press("Control+a")
    await page.keyboard.insert_text(PEDAL_AUTOMATION)
    await page.get_by_role("button", name="Save").click()
    dialog_save = page.get_by_role("dialog").get_by_role("button", name="Save")
    if await dialog_save.count():
        await dialog_save.click()
    await wait_for_state(demo, "automation.pedal_toggles_mute", "on")

    await restart_from_the_ui(page, demo)

    await page.goto(f"{demo.ha_url}/config/automation/dashboard")
    await expect(page.get_by_text("Pedal toggles mute")).to_be_visible(timeout=30_000)
    await page.goto(f"{demo.ha_url}/config/blueprint/dashboard")
    for name in ("toggle mute", "push to talk", "busy light", "pause media", "pedal that"):
        await expect(page.get_by_text(f"Genesys Cloud agent - {name}")).to_be_visible()
    await page.goto(f"{demo.ha_url}/logbook?entity_id=sensor.jane_agent_call_state")
    logbook = page.locator("ha-logbook")
    await expect(logbook).to_contain_text("Ringing", timeout=15_000)
    await expect(logbook).to_contain_text("Connected")

    # The automation still works after the restart: a press of the button mutes the call.
    await wait_for_state(demo, MUTE, "off")
    await demo.api.websocket(
        {
            "type": "call_service",
            "domain": "input_button",
            "service": "press",
            "target": {"entity_id": "input_button.pedal"},
        }
    )
    await wait_for_mute_request(demo, {"muted": True})
