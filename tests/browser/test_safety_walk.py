"""Issue 16's done-when walk in a real browser: the clinical safety loop, from the entry criteria to the board's stop.

Starts from `flask demo load` (the reference study with the trial's entry criteria). Four subjects of Tier 1 are
enrolled and infused through the API beforehand, so that the fifth, the one walked, fills the tier. On the pages:
the investigator enrols S-001 answering each criterion in words (Check shows a criterion not met, then every one
met; Sign and enrol); the pharmacists plan, prepare, label, verify and dispense the dose; a nurse receives the bag,
runs the bedside check with a witness and records the infusion; the investigator records a serious, possibly
related adverse event on the subject page. It shows at once on the investigator's and QA's home pages and under the
lot (its page and `GET /api/v1/lots/<id>/adverse-events`). The board signs `proceed` for Tier 1 and the page refuses
it naming the event, with nothing signed and Tier 2 still closed; then `stop` is signed and Tier 2 never opens.
Screenshots are saved under test-artifacts/.
"""
import datetime as dt
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from lims.auth.models import Signature
from lims.demo.cli import DEMO_PASSWORD
from lims.extensions import db
from lims.lots.models import Lot
from lims.safety.models import AdverseEvent
from lims.studies.models import SafetyReview, Study
from lims.timeutil import site_today
from tests.browser.conftest import screenshot, serving, sign_in
from tests.labels.conftest import decode_page
from tests.support import ApiClient

WRISTBAND = "MRN-0001"
SEEDED = 4  # Tier 1 holds five: four infused before the walk, the fifth walked


class DemoApi(ApiClient):
    """The API as the demo's users, who share the demo password."""

    def token(self, username):
        if username not in self.tokens:
            r = self.client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.get_json()
            self.tokens[username] = r.get_json()["token"]
        return self.tokens[username]


def ok(response, status=(200, 201)):
    assert response.status_code in status, response.get_json()
    return response.get_json()


def criteria_answers(today):
    return {"eligibility": {"ischemic_stroke": True, "nihss": 8,
                            "stroke_onset_on": (today - dt.timedelta(days=300)).isoformat()},
            "consent_signed_on": today.isoformat(), "signature": {"password": DEMO_PASSWORD}}


def enrolled_and_infused(api, study_id, lot_id, n):
    """Subject S-1nn enrolled on the reference criteria and infused, every step through the API."""
    today, sig = site_today(), {"password": DEMO_PASSWORD}
    subject = ok(api.post("/subjects", {"study_id": study_id, "code": f"S-1{n:02d}", "wristband": f"MRN-1{n:02d}",
                                        "cohort": "Tier 1", "weight": "70 kg", "weighed_on": today.isoformat(),
                                        **criteria_answers(today)}, as_="investigator"))
    dose = ok(api.post("/doses", {"subject_id": subject["id"], "lot_id": lot_id}, as_="pharm1"))
    # Thawed a quarter of an hour before the signing, as a pharmacy does: the infusion cannot start before the thaw.
    thawed_at = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=15)).isoformat()
    bag = ok(api.post(f"/doses/{dose['id']}/prepare", {"signature": sig, "thawed_at": thawed_at}, as_="pharm1"))["bag"]
    assert api.get(f"/bags/{bag['code']}/label.pdf", as_="pharm1").status_code == 200
    ok(api.post(f"/doses/{dose['id']}/verify", {"signature": sig, "bag": bag["scan"],
                                                 "measured_volume": f"{dose['volume']['value']} mL"}, as_="pharm2"))
    for event, who, where in (("dispensed", "pharm1", "Research pharmacy"), ("received", "nurse1", "Stroke unit")):
        ok(api.post("/custody/events", {"bag": bag["scan"], "event": event, "location": where}, as_=who))
    ok(api.post("/bedside/verify", {"bag": bag["scan"], "wristband": subject["wristband"],
                                    "witness": {"username": "nurse2", "password": DEMO_PASSWORD}}, as_="nurse1"))
    now = dt.datetime.now(dt.timezone.utc)
    ok(api.post(f"/bags/{bag['code']}/infusion",
                {"started_at": (now - dt.timedelta(seconds=30)).isoformat(), "completed_at": now.isoformat(),
                 "volume_infused": f"{dose['volume']['value']} mL", "reactions": [], "signature": sig},
                as_="nurse1"))


@pytest.fixture
def safety_site(app):
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    study = db.session.scalar(select(Study).where(Study.code == "NCT01297413"))
    lot = db.session.scalars(select(Lot).where(Lot.status == "released").order_by(Lot.id)).first()
    ids = {"study": study.id, "lot": lot.id, "din": lot.din}
    api = DemoApi(app, users=None)
    for n in range(1, SEEDED + 1):
        enrolled_and_infused(api, ids["study"], ids["lot"], n)
    db.session.remove()
    with serving(app) as url:
        yield {"url": url, **ids}


def sign(scope):
    """Fills a signature as the signer would: the username where the form asks for it (the first signature of a
    page session, 21 CFR 11.200(a)(1)), the password always."""
    username = scope.locator("input[name='signature.username']")
    if username.count() and username.first.is_visible():
        username.first.fill(SIGNER["who"])
    scope.locator("input[name='signature.password']").first.fill(DEMO_PASSWORD)


SIGNER = {"who": None}  # who is signed in: a signature form that asks for a username gets theirs


def sign_in_as(page, site, username):
    if page.url.startswith(site) and not page.url.startswith(site + "/login"):
        page.click("text=Sign out")
        page.wait_for_url(site + "/login")
    sign_in(page, site, username, DEMO_PASSWORD)
    SIGNER["who"] = username


def sign_dialog(page, dialog_id, before_signing=None):
    page.click(f"button[data-open-dialog='{dialog_id}']")
    dialog = page.locator(f"#{dialog_id}")
    expect(dialog).to_be_visible()
    if before_signing:
        before_signing(dialog)
    sign(dialog)
    dialog.locator("button[type=submit]").click()


def scan(page, field_id, payload):
    expect(page.locator(f"#{field_id}")).to_be_focused()
    page.keyboard.type(payload)
    page.keyboard.press("Enter")


def home(page, site, name):
    page.goto(site + "/")
    screenshot(page, f"safety-walk-{name}")
    return page.locator("main").inner_text()


def cohort_statuses(study_id):
    from lims.studies.services import cohort_states
    db.session.remove()
    statuses = {s["name"]: s["status"] for s in cohort_states(db.session.get(Study, study_id))}
    db.session.remove()
    return statuses


def test_enrol_with_criteria_infuse_record_a_serious_related_event_and_the_review_refuses_to_proceed(
        safety_site, page, app):
    site, study_id, lot_id, din = (safety_site[k] for k in ("url", "study", "lot", "din"))
    today = site_today()

    # Investigator: enrol S-001 answering each criterion in words; Check first shows what is not met.
    sign_in_as(page, site, "investigator")
    page.goto(f"{site}/studies/{study_id}")
    expect(page.locator("#f-cohort")).to_contain_text("Tier 1")
    page.fill("#f-code", "S-001")
    page.fill("#f-wristband", WRISTBAND)
    page.select_option("#f-cohort", "Tier 1")
    page.fill("#f-weight", "160 lb")
    page.select_option("#f-eligibility-ischemic_stroke", "yes")
    page.fill("#f-eligibility-stroke_onset_on", (today - dt.timedelta(days=300)).isoformat())
    page.fill("#f-eligibility-nihss", "4")  # below the trial's 6
    page.fill("#f-consent_signed_on", (today - dt.timedelta(days=1)).isoformat())
    page.click("button:has-text('Check the criteria')")
    check = page.locator("#eligibility-check")
    expect(check).to_contain_text("Not eligible as answered")
    expect(check.locator("li.unmet")).to_have_count(1)
    expect(check.locator("li.unmet")).to_contain_text("not met")
    expect(check.locator("li.met")).to_have_count(3)
    page.fill("#f-eligibility-nihss", "8")
    page.click("button:has-text('Check the criteria')")
    expect(check).to_contain_text("Every criterion is met: sign to enrol.")
    expect(check.locator("li.met")).to_have_count(4)
    sign(page.locator("#entry-criteria ~ fieldset.signature"))
    page.click("button:has-text('Sign and enrol')")
    expect(page.locator("main")).to_contain_text(f"S-001 enrolled in Tier 1 (wristband {WRISTBAND}).")

    # Pharmacist 1: plan from the released lot, prepare with a signature, print the label (its QR is the scan).
    sign_in_as(page, site, "pharm1")
    page.goto(f"{site}/doses")
    plan_form = page.locator("tr", has_text="S-001").locator("form.inline-plan")
    plan_form.locator("select").select_option(str(lot_id))
    plan_form.locator("button:has-text('Plan')").click()
    page.wait_for_url(re.compile(r".*/doses/\d+$"))
    dose_url = page.url
    assert "3.3 mL" in page.locator("table.plan-steps").inner_text()
    sign_dialog(page, "prepare-dialog")
    expect(page.locator("main")).to_contain_text("A second pharmacist verifies it next.")
    with page.expect_download() as download:
        page.click("button:has-text('Print label')")
    qr = [text for kind, text in decode_page(download.value.path().read_bytes()) if kind == "QR Code"]
    assert len(qr) == 1 and qr[0].startswith("MSC1:" + din)
    bag_scan = qr[0]

    # Pharmacist 2: verify by scanning the label and measuring the bag, then dispense it by scanning it.
    sign_in_as(page, site, "pharm2")
    page.goto(dose_url)
    page.click("button[data-open-dialog='verify-dialog']")
    page.focus("#scan-bag")
    scan(page, "scan-bag", bag_scan)
    page.keyboard.type("3.3 mL")
    page.keyboard.press("Enter")
    sign(page.locator("#verify-dialog"))
    page.locator("#verify-dialog button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("verified by Pia Pharmacist")
    page.focus("#scan-bag")
    scan(page, "scan-bag", bag_scan)
    page.fill("#f-location", "Stroke unit")
    page.click("button:has-text('Dispense')")
    expect(page.locator("main")).to_contain_text("dispensed")

    # Nurse: receive on the ward, the bedside check with a witness, the infusion signed.
    sign_in_as(page, site, "nurse1")
    page.goto(f"{site}/ward")
    page.fill("#receive-location", "Stroke unit")
    page.focus("#receive-bag")
    scan(page, "receive-bag", bag_scan)
    expect(page.locator("main")).to_contain_text("received")
    page.goto(f"{site}/bedside")
    scan(page, "scan-wristband", WRISTBAND)
    scan(page, "scan-bag", bag_scan)
    expect(page.locator("#witness-username")).to_be_focused()
    page.keyboard.type("nurse2")
    page.fill("#witness-password", DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#verdict")).to_have_text("PASS")
    page.fill("#f-completed_at", page.input_value("#f-started_at"))
    page.fill("#f-volume_infused", "3.3 mL")
    sign(page.locator("form", has=page.locator("button:has-text('Sign: infusion administered')")))
    page.click("button:has-text('Sign: infusion administered')")
    expect(page.locator("main")).to_contain_text("Infusion recorded")
    screenshot(page, "safety-walk-infused")

    # Investigator: a serious, possibly related event on the subject page.
    sign_in_as(page, site, "investigator")
    page.goto(f"{site}/studies/{study_id}")
    page.click("main a:has-text('S-001')")
    page.wait_for_url(re.compile(r".*/subjects/\d+$"))
    page.fill("#f-term", "Anaphylaxis")
    page.fill("#f-onset_on", today.isoformat())
    page.select_option("#f-grade", "3")
    page.select_option("#f-relatedness", "possible")
    page.select_option("#f-outcome", "recovering")
    page.check("#f-serious")
    page.fill("#f-description", "Stridor and urticaria 20 minutes after the infusion; epinephrine given.")
    page.click("button:has-text('Record the adverse event')")
    expect(page.locator("main")).to_contain_text("Adverse event recorded: Anaphylaxis, grade 3, serious, possible.")
    expect(page.locator("#adverse-events")).to_contain_text("Anaphylaxis")
    screenshot(page, "safety-walk-subject-event")
    event = db.session.scalars(select(AdverseEvent)).one()
    assert (event.serious, event.relatedness, event.grade, event.lot_id, event.bag_id is not None) == (
        True, "possible", 3, lot_id, True)
    db.session.remove()

    # At once on the investigator's home page.
    assert "Serious adverse events (1)" in (inv_home := home(page, site, "investigator-home"))
    assert "Anaphylaxis — subject S-001, grade 3, possible" in inv_home

    # Tier 1 is full and infused: its review lists the event, and proceed is refused naming it.
    page.goto(f"{site}/studies/{study_id}")
    expect(page.locator("#review-title ~ p").first).to_contain_text("Tier 1 is full and every subject infused")
    expect(page.locator("#cohort-events-1")).to_contain_text("Anaphylaxis")
    sign_dialog(page, "review-1", lambda d: d.locator("select[name='decision']").select_option("proceed"))
    alert = page.locator("[role=alert]").first
    expect(alert).to_contain_text("cohort Tier 1 cannot proceed: serious related adverse event(s) stand:")
    expect(alert).to_contain_text("Anaphylaxis (subject S-001, grade 3, possible)")
    screenshot(page, "safety-walk-proceed-refused")
    assert db.session.scalar(select(func.count()).select_from(SafetyReview)) == 0
    assert db.session.scalar(select(func.count()).select_from(Signature)
                             .where(Signature.record_type == "safety_reviews")) == 0
    assert cohort_statuses(study_id) == {"Tier 1": "awaiting_review", "Tier 2": "not_open", "Tier 3": "not_open",
                                         "Expansion": "not_open"}

    # The board stops the escalation: signed, and Tier 2 stays closed.
    sign_dialog(page, "review-1", lambda d: d.locator("select[name='decision']").select_option("stop"))
    expect(page.locator("main")).to_contain_text("Safety review of Tier 1 signed: escalation stops here.")
    screenshot(page, "safety-walk-stopped")
    db.session.remove()
    assert [(r.decision, r.cohort.name) for r in db.session.scalars(select(SafetyReview))] == [("stop", "Tier 1")]
    assert db.session.scalars(select(Signature.meaning).where(Signature.record_type == "safety_reviews")).all() == [
        "reviewed"]
    assert cohort_statuses(study_id) == {"Tier 1": "stopped", "Tier 2": "not_open", "Tier 3": "not_open",
                                         "Expansion": "not_open"}
    db.session.remove()

    # QA: the serious event on the home page, and under the lot (its page and the API).
    sign_in_as(page, site, "qa")
    qa_home = home(page, site, "qa-home")
    assert "Serious adverse events (1)" in qa_home and "Anaphylaxis — subject S-001, grade 3, possible" in qa_home
    page.goto(f"{site}/lots/{lot_id}")
    expect(page.locator("main")).to_contain_text("Adverse events after this lot (1)")
    expect(page.locator("main")).to_contain_text("Anaphylaxis")
    screenshot(page, "safety-walk-lot")
    token = page.request.post(f"{site}/api/v1/auth/token",
                              data={"username": "qa", "password": DEMO_PASSWORD}).json()["token"]
    listing = page.request.get(f"{site}/api/v1/lots/{lot_id}/adverse-events",
                               headers={"Authorization": f"Bearer {token}"}).json()
    assert [(e["term"], e["subject"], e["serious"], e["relatedness"], e["lot_id"]) for e in listing["events"]] == [
        ("Anaphylaxis", "S-001", True, "possible", lot_id)]
