"""The bedside and ward pages in a real browser on a phone-sized screen, driven as a handheld scanner drives them: the
scanner types its payload into whatever field has the focus and presses Enter."""
import datetime as dt
import re

from playwright.sync_api import expect

from lims.chainofcustody.models import BedsideCheck
from lims.doses.models import Bag
from lims.extensions import db
from tests.browser.conftest import screenshot, sign_in
from tests.chainofcustody.helpers import dispense
from tests.support import PASSWORD, enrol, expansion_study, received_bag, released_lot, verified_bag

PHONE = {"width": 390, "height": 844}
# Whether `text` in the field's own font, with chromium's picker button (1 em, 24 px from the text), fits inside the
# field's padding.
FITS = """(el, text) => {
  const style = getComputedStyle(el);
  const probe = document.createElement("span");
  probe.textContent = text;
  probe.style.font = style.font;
  probe.style.position = "absolute";
  document.body.appendChild(probe);
  const needed = probe.getBoundingClientRect().width + 24 + parseFloat(style.fontSize);
  probe.remove();
  return needed <= el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
}"""


def _received(api):
    lot = released_lot(api)
    study = expansion_study(api)
    subject = enrol(api, study["id"], code="S-001", wristband="MRN-0001", cohort="Expansion")
    enrol(api, study["id"], code="S-002", wristband="MRN-0002", cohort="Expansion")
    return received_bag(api, subject["id"], lot["id"]), subject


def _dispensed(api):
    lot = released_lot(api)
    subject = enrol(api, expansion_study(api)["id"], code="S-001", wristband="MRN-0001", cohort="Expansion")
    bag = verified_bag(api, subject["id"], lot["id"])
    assert dispense(api, bag["scan"]).status_code == 201
    return bag


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


def _near_misses():
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(BedsideCheck).where(BedsideCheck.ok.is_(False)))


def test_nurse_scans_wristband_then_bag_and_the_witness_signs_to_a_pass(live_server, page, api):
    bag, subject = _received(api)
    _open_bedside(page, live_server)
    page.click("h1")  # a stray tap: the focus comes back to the scan field
    _wait_for_focus(page, "scan-wristband")

    _scan(page, subject["wristband"])
    assert _focused(page) == "scan-bag" and page.url == live_server + "/bedside"  # Enter moved on, did not submit
    assert page.locator("#witness-username").count() == 0  # identity first: no witness asked yet
    _scan(page, bag["scan"])  # both scans made: Enter checks them
    expect(page.locator("#matched-title")).to_have_text("Scans match: subject S-001")
    _wait_for_focus(page, "witness-username")
    screenshot(page, "bedside-scanned-phone")
    page.keyboard.type("nurse2")
    page.fill("#witness-password", PASSWORD)
    page.click("#bedside-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/bedside/checks/\d+$"))
    assert page.locator("#verdict").inner_text() == "PASS"
    facts = page.locator(".verdict.pass").inner_text()
    assert "S-001" in facts and "10.1 mL" in facts and "109 million cells" in facts and "left" in facts
    _wait_for_focus(page, "verdict")  # read first, as STOP's alert is; Tab goes on to the infusion form
    page.keyboard.press("Tab")
    assert _focused(page) == "f-started_at"
    assert page.locator("li.passed").count() == 7  # the six checks of SPEC §11 and one dose per subject
    assert page.locator("li.passed").first.inner_text().endswith("Right subject: the wristband matches the bag")
    assert page.locator("#infusion-title").inner_text() == "Record the infusion"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # one column, no sideways scroll
    # The infusion's times fit the phone: the whole value as chromium shows it, and the picker button beside it.
    for field in ("#f-started_at", "#f-completed_at"):
        assert page.eval_on_selector(field, FITS, "11/24/2026, 04:32:16 AM"), field
    assert page.input_value("#f-completed_at") == ""
    screenshot(page, "bedside-pass-phone")


def test_a_wrong_wristband_stops_before_any_witness_is_asked_and_the_stop_is_reload_safe(live_server, page, api):
    bag, _subject = _received(api)
    _open_bedside(page, live_server)
    _scan(page, "MRN-0002")
    with page.expect_response(live_server + "/bedside") as answer:
        _scan(page, bag["scan"])
    assert answer.value.status == 303
    page.wait_for_url(re.compile(r".*/bedside/checks/\d+$"))
    assert page.locator("#verdict").inner_text() == "STOP"
    assert page.locator("#witness-username, #witness-password").count() == 0  # no witness field was ever shown
    failed = page.locator("li.failed")
    assert failed.count() == 1
    assert "this bag is for subject S-001, not S-002" in failed.first.inner_text()
    assert "before a witness" in page.locator(".scanned").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert _near_misses() == 1
    page.reload()
    assert page.locator("#verdict").inner_text() == "STOP"
    assert _near_misses() == 1  # the reload read the near miss again; it recorded none
    screenshot(page, "bedside-stop-phone")


def test_a_self_witness_is_sent_back_to_the_witness_with_the_matched_scans_kept(live_server, page, api):
    bag, subject = _received(api)
    _open_bedside(page, live_server)
    _scan(page, subject["wristband"])
    _scan(page, bag["scan"])
    _wait_for_focus(page, "witness-username")
    page.keyboard.type("nurse1")  # the scanning nurse names herself
    page.fill("#witness-password", PASSWORD)
    with page.expect_response(live_server + "/bedside") as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 403
    _wait_for_focus(page, "witness-username")
    assert "the witness must be a second nurse" in page.locator(".alert").inner_text()
    expect(page.locator("#matched-title")).to_have_text("Scans match: subject S-001")
    page.fill("#witness-username", "nurse2")
    page.fill("#witness-password", PASSWORD)
    page.click("#bedside-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/bedside/checks/\d+$"))
    assert page.locator("#verdict").inner_text() == "PASS"


def test_ward_receive_moves_from_the_ward_to_the_scan_and_a_refused_scan_never_stays_in_the_field(
        live_server, page, api):
    bag = _dispensed(api)
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "nurse2")  # has never received a bag: no ward to start from
    page.goto(live_server + "/ward")
    _wait_for_focus(page, "receive-location")
    _scan(page, "Ward 7")
    assert _focused(page) == "receive-bag" and page.url == live_server + "/ward"
    with page.expect_response(live_server + "/ward/receive") as answer:
        _scan(page, bag["scan"][:-1] + "9")  # a misread division
    assert answer.value.status in (404, 422)
    assert "(scanned: " in page.locator(".alert").inner_text()
    _wait_for_focus(page, "receive-bag")
    assert page.input_value("#receive-bag") == "" and page.input_value("#receive-location") == "Ward 7"
    page.keyboard.type("half a sc")  # an interrupted scan, then a tap elsewhere and back on the field
    page.click("h1")
    page.click("#receive-bag")
    page.wait_for_function("document.activeElement.selectionEnd - document.activeElement.selectionStart === 9")
    _scan(page, bag["scan"])  # replaces the selected text
    page.wait_for_url(live_server + "/ward?ward=Ward+7")
    assert f"Bag {bag['code']} received on Ward 7" in page.locator(".flash").inner_text()
    screenshot(page, "ward-received-phone")


def test_ward_counts_the_post_thaw_time_down_and_says_expired(live_server, page, api):
    bag, _subject = _received(api)
    db.session.expire_all()
    db.session.scalar(db.select(Bag).where(Bag.code == bag["code"])).expires_at = \
        dt.datetime.now(dt.UTC) + dt.timedelta(hours=1, minutes=1, seconds=30)
    db.session.commit()
    page.clock.install()
    sign_in(page, live_server, "nurse1")
    page.goto(live_server + "/ward")
    left = page.locator("table.bags time.time-left")
    expect(left).to_have_text("1 h 1 min left")
    expect(left).to_have_class("time-left ok")
    page.clock.run_for("02:00")  # two minutes on: under an hour, highlighted
    expect(left).to_have_text("59 min left")
    expect(left).to_have_class("time-left soon")
    page.clock.run_for("01:00:00")
    expect(left).to_have_text("EXPIRED")
    expect(left).to_have_class("time-left expired")
