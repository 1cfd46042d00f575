"""One subject of the reference study walked through the whole trial in a real browser (issue 7).

Starts from `flask demo load`, as a new site does, and signs in as each role in turn: the technician completes the
QC of the lot in quarantine, QA releases it, the investigator enrols a subject, one pharmacist plans and prepares
the dose and prints its label (the PDF downloads), a second verifies it by scanning that label and entering the
volume measured, and dispenses the bag by scanning it, and a nurse receives it
and runs the bedside check with a witness: first a STOP on the wrong wristband, then a PASS and the infusion. The
scans are typed into the focused field and end with Enter, as a handheld scanner does, and the bag's payload is
the one decoded from the downloaded label's QR code. Each dashboard is saved under test-artifacts/.
"""
import datetime as dt
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from lims.demo.cli import DEMO_PASSWORD, PASSING_QC
from lims.extensions import db
from lims.lots.models import Lot
from tests.browser.conftest import fill_signature, screenshot, serving, sign_in
from tests.labels.conftest import decode_page

WRISTBAND = "MRN-0001"


@pytest.fixture
def demo_site(app):
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    with serving(app) as url:
        yield url


def sign_in_as(page, site, username):
    if page.url.startswith(site) and not page.url.startswith(site + "/login"):
        page.click("text=Sign out")
        page.wait_for_url(site + "/login")
    sign_in(page, site, username, DEMO_PASSWORD)


def dashboard(page, site, role):
    """The home page of the signed-in role, saved as a screenshot; returns its text."""
    page.goto(site + "/")
    screenshot(page, f"dashboard-{role}")
    return page.locator("main").inner_text()


def sign_dialog(page, dialog_id, username):
    page.click(f"button[data-open-dialog='{dialog_id}']")
    dialog = page.locator(f"#{dialog_id}")
    expect(dialog).to_be_visible()
    fill_signature(dialog, username, DEMO_PASSWORD)
    dialog.locator("button[type=submit]").click()


def scan(page, field_id, payload):
    expect(page.locator(f"#{field_id}")).to_be_focused()
    page.keyboard.type(payload)
    page.keyboard.press("Enter")


def test_one_subject_walks_from_lot_release_to_infusion(demo_site, page, app):
    site = demo_site
    lot = db.session.scalar(select(Lot).where(Lot.status == "quarantine"))
    lot_id, din = lot.id, lot.din
    din_shown = f"{din[:5]} {din[5:7]} {din[7:]}"  # as every page and label prints it
    db.session.remove()

    # Technician: the lot in quarantine shows on the dashboard with its missing QC; record the rest.
    sign_in_as(page, site, "tech")
    assert f"{len(PASSING_QC) - 5} QC result(s) missing" in dashboard(page, site, "technician")
    page.click(f"main a[href^='/lots/{lot_id}']")
    page.wait_for_url(re.compile(rf".*/lots/{lot_id}(#qc)?$"))
    for test, result in PASSING_QC[5:]:
        page.select_option("#f-test", test)
        page.fill("#f-result", result)
        page.click("form.qc-form button[type=submit]")
        expect(page.locator("table.qc-history")).to_contain_text(result)
    expect(page.locator("#evaluation")).to_contain_text("pass")

    # QA: the lot waits in the release queue; release it with a signature.
    sign_in_as(page, site, "qa")
    assert din_shown in dashboard(page, site, "qa")
    page.goto(f"{site}/lots/{lot_id}")
    sign_dialog(page, "release-dialog", "qa")
    expect(page.locator("h1 .badge")).to_have_text("released")

    # Investigator: Tier 1 is open; enrol the subject at 160 lb.
    sign_in_as(page, site, "investigator")
    assert "Tier 1" in dashboard(page, site, "investigator")
    page.goto(f"{site}/studies")
    page.click("main a:has-text('NCT01297413')")
    page.fill("#f-code", "S-001")
    page.fill("#f-wristband", WRISTBAND)
    page.select_option("#f-cohort", "Tier 1")
    page.fill("#f-weight", "160 lb")
    # The reference study's entry criteria (SPEC §6), checked before signing, then signed as enrolled.
    page.select_option("#f-eligibility-ischemic_stroke", "yes")
    page.fill("#f-eligibility-stroke_onset_on", (dt.date.today() - dt.timedelta(days=300)).isoformat())
    page.fill("#f-eligibility-nihss", "8")
    page.fill("#f-consent_signed_on", (dt.date.today() - dt.timedelta(days=1)).isoformat())
    page.click("button:has-text('Check the criteria')")
    expect(page.locator("#eligibility-check")).to_contain_text("Every criterion is met: sign to enrol.")
    fill_signature(page, "investigator", DEMO_PASSWORD)
    page.click("button:has-text('Sign and enrol')")
    expect(page.locator("main")).to_contain_text(f"S-001 enrolled in Tier 1 (wristband {WRISTBAND}).")

    # Pharmacist 1: plan from the lot just released, check the arithmetic, prepare.
    sign_in_as(page, site, "pharm1")
    assert "S-001" in dashboard(page, site, "pharmacist")
    page.goto(f"{site}/doses")
    plan_form = page.locator("tr", has_text="S-001").locator("form.inline-plan")
    plan_form.locator("select").select_option(str(lot_id))
    plan_form.locator("button:has-text('Plan')").click()
    page.wait_for_url(re.compile(r".*/doses/\d+$"))
    dose_url = page.url
    steps = page.locator("table.plan-steps").inner_text()
    # 0.5e6 cell/kg × 72.5748 kg = 3.6287e7 cells; 12e6 cell/mL × 91 % = 1.092e7 cell/mL → 3.3 mL
    assert "72.5748 kg" in steps and "3.3 mL" in steps
    sign_dialog(page, "prepare-dialog", "pharm1")
    expect(page.locator("main")).to_contain_text("A second pharmacist verifies it next.")
    # The label prints once prepared (the PDF downloads) and goes on the bag for the second pharmacist.
    with page.expect_download() as download:
        page.click("button:has-text('Print label')")
    pdf = download.value.path().read_bytes()
    qr = [text for kind, text in decode_page(pdf) if kind == "QR Code"]
    assert len(qr) == 1 and qr[0].startswith("MSC1:" + din)
    bag_scan = qr[0]
    expect(page.locator("main")).to_contain_text("Printed 1 time(s)")  # the page refreshes once the print counts

    # Pharmacist 2: verify by scanning the label and measuring the bag, then dispense by scanning it.
    sign_in_as(page, site, "pharm2")
    page.goto(dose_url)
    page.click("button[data-open-dialog='verify-dialog']")
    page.focus("#scan-bag")
    scan(page, "scan-bag", bag_scan)
    page.keyboard.type("3.3 mL")
    page.keyboard.press("Enter")
    fill_signature(page.locator("#verify-dialog"), "pharm2", DEMO_PASSWORD)
    page.locator("#verify-dialog button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("verified by Pia Pharmacist")
    page.focus("#scan-bag")
    scan(page, "scan-bag", bag_scan)
    page.fill("#f-location", "Stroke unit")
    page.click("button:has-text('Dispense')")
    expect(page.locator("main")).to_contain_text("dispensed")

    # Nurse: receive the bag on the ward by scanning its label.
    sign_in_as(page, site, "nurse1")
    page.goto(f"{site}/ward")
    page.fill("#receive-location", "Stroke unit")
    page.focus("#receive-bag")
    scan(page, "receive-bag", bag_scan)
    expect(page.locator("main")).to_contain_text("received")
    nurse_home = dashboard(page, site, "nurse")
    assert "S-001" in nurse_home and "left" in nurse_home

    # Bedside: the wrong wristband is a STOP at the scans, before any witness is asked.
    page.goto(f"{site}/bedside")
    scan(page, "scan-wristband", "MRN-0999")
    scan(page, "scan-bag", bag_scan)
    expect(page.locator("#verdict")).to_have_text("STOP")
    assert page.locator("#witness-password").count() == 0
    assert page.locator("li.failed").count() >= 1
    screenshot(page, "walk-bedside-stop")

    # The right wristband passes; the infusion is recorded and signed.
    page.goto(f"{site}/bedside")
    scan(page, "scan-wristband", WRISTBAND)
    scan(page, "scan-bag", bag_scan)
    expect(page.locator("#witness-username")).to_be_focused()
    page.keyboard.type("nurse2")
    page.fill("#witness-password", DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#verdict")).to_have_text("PASS")
    assert "3.3 mL" in page.locator(".verdict.pass").inner_text()  # PASS names the volume
    assert page.input_value("#f-completed_at") == ""  # the nurse says when the bag ran through
    page.fill("#f-completed_at", page.input_value("#f-started_at"))
    page.fill("#f-volume_infused", "3.3 mL")
    fill_signature(page, "nurse1", DEMO_PASSWORD)
    page.click("button:has-text('Sign: infusion administered')")
    expect(page.locator("main")).to_contain_text("Infusion recorded")
    expect(page.locator("main")).to_contain_text("infused")
    screenshot(page, "walk-infused")
