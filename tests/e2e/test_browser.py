"""What a person sees: the dashboard follows the call, the toggle mutes, the UI adds the agent."""

import asyncio
import time

from playwright.async_api import Browser, expect

from demo.orchestrator import DASHBOARD, Demo

from .conftest import DOCS, logged_in_page


def participant_patches(demo: Demo) -> list[object]:
    """The participant PATCHes Home Assistant sent, as the emulator recorded them."""
    return [
        record.body
        for record in demo.emulator.audit
        if record.source == "api" and record.method == "PATCH"
    ]


async def test_the_dashboard_follows_the_call_and_the_toggle_mutes(
    browser: Browser, running_demo: Demo
) -> None:
    demo = running_demo
    [conversation_id] = [c["id"] for c in demo.emulator.control.state()["conversations"]]
    page = await logged_in_page(browser, demo, f"/{DASHBOARD}")
    await expect(page.get_by_text("Ringing").first).to_be_visible(timeout=15_000)
    await page.screenshot(path=DOCS / "screenshot-ringing.png")

    await demo.emulator.control.answer(conversation_id)
    await expect(page.get_by_text("Connected").first).to_be_visible()
    # The entities card's first row is the mute switch (its toggle carries no accessible name).
    toggle = page.locator("hui-entities-card").get_by_role("switch").first
    await expect(toggle).not_to_be_checked()

    # A person clicks the visible switch (its thumb covers the hidden input).
    await page.locator("hui-entities-card ha-entity-toggle").first.click()
    await expect(toggle).to_be_checked()
    deadline = time.monotonic() + 5
    while {"muted": True} not in participant_patches(demo):
        assert time.monotonic() < deadline, "the emulator never saw the mute"
        await asyncio.sleep(0.05)
    await page.wait_for_timeout(400)  # let the switch's animation finish for the picture
    await page.screenshot(path=DOCS / "screenshot-muted.png")

    # A mute made in the Genesys desktop shows on the page within a second.
    await demo.emulator.control.set_mute(conversation_id, False, by="desktop")
    await expect(toggle).not_to_be_checked(timeout=1_000)
    await demo.emulator.control.set_mute(conversation_id, True, by="desktop")
    await expect(toggle).to_be_checked(timeout=1_000)

    await demo.emulator.control.customer_hangup(conversation_id)
    await demo.emulator.control.complete_wrapup(conversation_id)
    await expect(page.get_by_text("Idle").first).to_be_visible()
    await page.screenshot(path=DOCS / "screenshot-idle.png")


async def test_the_dashboard_offers_answer_while_ringing_and_hang_up_while_connected(
    browser: Browser, running_demo: Demo
) -> None:
    """What a person can do shows when they can do it; a click on Answer answers."""
    demo = running_demo
    [conversation_id] = [c["id"] for c in demo.emulator.control.state()["conversations"]]
    page = await logged_in_page(browser, demo, f"/{DASHBOARD}")
    answer = page.locator("hui-tile-card").filter(has_text="Answer")
    hang_up = page.locator("hui-tile-card").filter(has_text="Hang up")
    await expect(answer).to_be_visible(timeout=15_000)
    await expect(hang_up).to_have_count(0)

    await answer.click()
    await expect(hang_up).to_be_visible()
    await expect(answer).to_have_count(0)
    await expect(page.get_by_text("Connected").first).to_be_visible()
    agent = next(
        p
        for c in demo.emulator.control.state()["conversations"]
        if c["id"] == conversation_id
        for p in c["participants"]
        if p["purpose"] == "agent"
    )
    assert agent["state"] == "connected"
    assert {"state": "connected"} in participant_patches(demo)

    await hang_up.click()
    await expect(page.get_by_text("Wrap-up").first).to_be_visible()
    await expect(hang_up).to_have_count(0)


async def test_a_user_adds_the_integration_through_the_ui(
    browser: Browser, bare_demo: Demo
) -> None:
    """Settings → Add integration → Genesys Cloud Agent → region → Genesys login → a device."""
    demo = bare_demo
    page = await logged_in_page(browser, demo, "/config/integrations/dashboard")
    await page.get_by_text("Add integration").click()
    await page.get_by_placeholder("Search for a brand name").fill("Genesys")
    await page.get_by_text("Genesys Cloud Agent").click()
    await expect(page.get_by_text("Genesys Cloud region", exact=True)).to_be_visible()
    await page.get_by_text("Advanced: custom URL").click()
    await page.get_by_role("textbox", name="Custom base URL").fill(demo.emulator.base_url)
    await page.screenshot(path=DOCS / "screenshot-add-integration.png")
    async with page.expect_popup() as login_window:
        await page.get_by_role("button", name="Submit").click()
    # The emulator's login page signs the agent in and sends the browser back to Home Assistant.
    await (await login_window.value).wait_for_event("close", timeout=15_000)
    await expect(page.get_by_text("Name and assign")).to_be_visible(timeout=15_000)
    await expect(page.get_by_role("textbox", name="Device name")).to_have_value("Jane Agent")
    await page.screenshot(path=DOCS / "screenshot-added.png")
    await page.get_by_role("button", name="Skip and finish").click()
    state = await demo.api.get("/api/states/switch.jane_agent_microphone_muted")
    assert state["state"] == "off"
