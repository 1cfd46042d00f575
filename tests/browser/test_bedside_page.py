"""The bedside page in a real browser on a phone-sized screen, driven as a handheld scanner drives it: the scanner
types its payload into whatever field has the focus and presses Enter."""
import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in
from tests.support import PASSWORD, enrol, expansion_study, received_bag, released_lot

PHONE = {"width": 390, "height": 844}


def _received(api):
    lot = released_lot(api)
    study = expansion_study(api)
    subject = enrol(api, study["id"], code="S-001", wristband="MRN-0001", cohort="Expansion")
    enrol(api, study["id"], code="S-002", wristband="MRN-0002", cohort="Expansion")
    return received_bag(api, subject["id"], lot["id"]), subject


def _focused(page):
    return page.evaluate("document.activeElement && document.activeElement.id")


def _wait_for_focus(page, field_id):
    expect(page.locator(f"#{field_id}")).to_be_focused(timeout=5000)


def _scan(page, payload):
    page.keyboard.type(payload)
    page.keyboard.press("Enter")


def _open_bedside(page, live_server):
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "nurse1")
    page.goto(live_server + "/bedside")
    _wait_for_focus(page, "scan-wristband")


def test_nurse_scans_wristband_then_bag_and_the_witness_signs_to_a_pass(live_server, page, api):
    bag, subject = _received(api)
    _open_bedside(page, live_server)
    page.click("h1")  # a stray tap: the focus comes back to the scan field
    _wait_for_focus(page, "scan-wristband")

    _scan(page, subject["wristband"])
    assert _focused(page) == "scan-bag" and page.url == live_server + "/bedside"  # Enter moved on, did not submit
    _scan(page, bag["scan"])
    assert _focused(page) == "witness-username"
    screenshot(page, "bedside-scanned-phone")
    page.keyboard.type("nurse2")
    page.fill("#witness-password", PASSWORD)
    page.click("#bedside-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/bedside/checks/\d+$"))
    assert page.locator("#verdict").inner_text() == "PASS"
    assert page.locator("li.passed").count() == 6
    assert page.locator("li.passed").first.inner_text().endswith("Right subject: the wristband matches the bag")
    assert page.locator("#infusion-title").inner_text() == "Record the infusion"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # one column, no sideways scroll
    screenshot(page, "bedside-pass-phone")


def test_a_wrong_wristband_shows_stop_with_the_failed_check(live_server, page, api):
    bag, _subject = _received(api)
    _open_bedside(page, live_server)
    _scan(page, "MRN-0002")
    _scan(page, bag["scan"])
    page.keyboard.type("nurse2")
    page.fill("#witness-password", PASSWORD)
    with page.expect_response(live_server + "/bedside") as answer:
        page.keyboard.press("Enter")  # Enter in the last field submits
    assert answer.value.status == 409

    assert page.locator("#verdict").inner_text() == "STOP"
    failed = page.locator("li.failed")
    assert failed.count() == 1
    assert "this bag is for subject S-001, not S-002" in failed.first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "bedside-stop-phone")
