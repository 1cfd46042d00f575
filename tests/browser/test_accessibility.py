"""Every page each demo role reaches passes axe-core's WCAG 2.1 A and AA rules (issue 20), as Section 508 and
EN 301 549 ask of what a hospital buys.

The pages are found, not listed: each role's crawl follows the links of its home page and navigation, so a page
another engineer adds is covered as soon as a link reaches it. Beside the crawl, what links cannot reach: the
sign-in page with its error, each signing dialog open, a form sent back with its refusal, the bedside's STOP and
PASS; the nurse's pages at a phone's 390 × 844. A violation fails the test naming its rule, page and element; the
pages checked are printed and written to test-artifacts/accessibility-<role>.txt.
"""
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from lims.extensions import db
from lims.timeutil import site_today
from tests.browser import axe
from tests.browser.conftest import ARTIFACTS, fill_signature, serving, sign_in
from tests.lots.helpers import infused_bag
from tests.support import (PASSING_QC, PASSWORD, bedside, enrol, label, make_lot, make_study, planned_dose,
                           prepared_dose, received_bag, record_qc, released_lot)

PHONE = {"width": 390, "height": 844}
WRONG_PASSWORD = "Not-the-password-1"


@pytest.fixture
def site(app, api):
    """A trial under way, so each role's pages have something to show: a lot released and one in quarantine with
    QC missing, S-001's bag received on the ward, S-002's dose planned, S-003's prepared, a STOP near miss on
    record; a second lot infused into S-004, its bag for E-001 on the ward, corrected after release (QA's review
    waits) and held (subjects to notify, a STOP on the nurse's pages). Built through the API with the suite's
    builders, which follow the contract as it changes."""
    if app.database.is_postgresql:
        pytest.skip("browser runs use SQLite (tests/browser/conftest.py)")
    lot = released_lot(api)
    held = released_lot(api, product_exists=True, containers=12)  # infused into S-004, corrected late, then held
    pending = make_lot(api, product="S1234")
    record_qc(api, pending["id"], PASSING_QC[:5])
    study = make_study(api)
    first = enrol(api, study["id"], code="S-001", wristband="MRN-0001")
    second = enrol(api, study["id"], code="S-002", wristband="MRN-0002")
    bag = received_bag(api, first["id"], lot["id"], ward="Stroke unit")
    assert bedside(api, bag["scan"], "MRN-0002").status_code == 409  # a near miss for QA's pages
    planned_dose(api, second["id"], lot["id"])
    third = enrol(api, study["id"], code="S-003", wristband="MRN-0003")
    prepared = prepared_dose(api, third["id"], lot["id"])  # labelled, waits for the second pharmacist's check
    assert label(api, prepared["bag"]["code"]).status_code == 200
    infused_bag(api, enrol(api, study["id"], code="S-004", wristband="MRN-0004"), held["id"])
    # On the ward when the hold comes: the nurse's STOP. In a study of its own: Tier 1 keeps its last place.
    from tests.support import expansion_study
    elsewhere = expansion_study(api, code="EXP-HOLD")
    received_bag(api, enrol(api, elsewhere["id"], code="E-001", wristband="MRN-E-001", cohort="Expansion")["id"],
                 held["id"], ward="Stroke unit")
    assert api.post(f"/lots/{held['id']}/qc-results", {"test": "viability", "result": "88 %",
                                                       "reason": "recount"}, as_="tech").status_code == 201
    assert api.post(f"/lots/{held['id']}/hold", {"signature": {"password": PASSWORD}, "reason": "donor look-back"},
                    as_="qa").status_code == 200
    criteria_study, criteria_subject = enrolled_with_criteria(api, lot["id"])
    review_study, event_subject = adverse_events_under_review(api, lot["id"])
    db.session.remove()
    with serving(app) as url:
        yield {"url": url, "bag": bag, "criteria_study": criteria_study, "criteria_subject": criteria_subject,
               "lot": lot, "review_study": review_study, "event_subject": event_subject}


def adverse_events_under_review(api, lot_id):
    """A study whose Tier 1 (one subject, infused from the released lot) awaits its safety review while a serious,
    possibly related event stands (the investigator's and QA's home pages list it, the review refuses `proceed`),
    beside an event corrected once (its earlier version struck through under the subject's history). Made last, so
    the studies list keeps its first study."""

    from tests.support import make_study
    study = make_study(api, code="SAFE-REV", cohorts=[{"name": "Tier 1", "dose": "0.5e6 cell/kg", "size": 1},
                                                       {"name": "Tier 2", "dose": "1.0e6 cell/kg", "size": 1}])
    subject = enrol(api, study["id"], code="R-001", wristband="MRN-R-001")
    infused_bag(api, subject, lot_id)
    onset = site_today().isoformat()  # the day of the infusion: the events follow the lot, listed under it

    def event(term, grade, serious, relatedness, outcome):
        return {"term": term, "onset_on": onset, "grade": grade, "serious": serious, "relatedness": relatedness,
                "outcome": outcome, "description": "Accessibility check"}
    r = api.post(f"/subjects/{subject['id']}/adverse-events", event("Anaphylaxis", 3, True, "possible", "recovering"),
                 as_="inv")
    assert r.status_code == 201, r.get_json()
    r = api.post(f"/subjects/{subject['id']}/adverse-events", event("Headache", 1, False, "unlikely", "recovered"),
                 as_="nurse1")
    assert r.status_code == 201, r.get_json()
    r = api.post(f"/adverse-events/{r.get_json()['id']}/supersede",
                 event("Migraine", 2, False, "unlikely", "recovered") | {"reason": "re-assessed"}, as_="inv")
    assert r.status_code == 201, r.get_json()
    return study, subject


def enrolled_with_criteria(api, lot_id):
    """A study with the reference entry criteria and one subject enrolled on them and infused (its follow-up visits
    scheduled, the first recorded done), a wrong weight struck through."""
    import datetime as dt

    from lims.demo.cli import REFERENCE_CRITERIA
    from tests.support import sig
    r = api.post("/studies", {"code": "CRIT-1", "title": "With entry criteria", "escalation": "none",
                              "cohorts": [{"name": "Expansion", "dose": "1.5e6 cell/kg", "size": 21}],
                              "eligibility": REFERENCE_CRITERIA}, as_="admin")
    assert r.status_code == 201, r.get_json()
    study = r.get_json()
    today = site_today()
    r = api.post("/subjects", {"study_id": study["id"], "code": "C-001", "wristband": "MRN-C-001",
                               "cohort": "Expansion", "weight": "160 lb", "weighed_on": today.isoformat(),
                               "eligibility": {"ischemic_stroke": True, "nihss": 8,
                                               "stroke_onset_on": (today - dt.timedelta(days=300)).isoformat()},
                               "consent_signed_on": today.isoformat(), "signature": sig()}, as_="inv")
    assert r.status_code == 201, r.get_json()
    subject = r.get_json()
    from tests.studies.test_studies import infuse
    infuse(api, subject, lot_id)
    r = api.post(f"/subjects/{subject['id']}/follow-up-visits", {"day": 1, "done_on": today.isoformat()}, as_="inv")
    assert r.status_code == 201, r.get_json()
    r = api.post(f"/subjects/{subject['id']}/weights", {"weight": "75 kg", "weighed_on": today.isoformat()},
                 as_="inv")
    assert r.status_code == 201, r.get_json()
    r = api.post(f"/subjects/{subject['id']}/weights/{r.get_json()['id']}/strike", {"reason": "another subject's"},
                 as_="inv")
    assert r.status_code == 200, r.get_json()
    return study, subject


@pytest.fixture
def audit(page):
    axe.install(page.context)
    return axe.Audit()


def open_each_dialog(audit):
    """Audits the page with each of its signing dialogs open: one of each kind (release-1 and release-2 are one)."""
    def on_page(page, where):
        kinds = set()
        for opener in page.locator("[data-open-dialog]").all():
            dialog_id = opener.get_attribute("data-open-dialog")
            kind = re.sub(r"\d+", "N", dialog_id)
            if kind in kinds or not opener.is_visible():
                continue
            kinds.add(kind)
            opener.click()
            dialog = page.locator(f"dialog#{dialog_id}")
            expect(dialog).to_be_visible()
            audit.check(page, f"{where} (dialog {dialog_id} open)")
            page.keyboard.press("Escape")
            expect(dialog).to_be_hidden()
    return on_page


def sign_in_as(page, site, username):
    sign_in(page, site["url"], username)


def refuse_a_signature(page, audit, label):
    """Sends the page's first signing dialog with a wrong password: the refusal, and the page it comes back on."""
    opener = page.locator("[data-open-dialog]").first
    dialog = page.locator(f"dialog#{opener.get_attribute('data-open-dialog')}")
    opener.click()
    fill_signature(dialog, label, WRONG_PASSWORD)  # the signed-in user's own username, the password wrong
    for field in dialog.locator("input[required]:visible, textarea[required]:visible").all():
        if field.get_attribute("name") in ("signature.username", "signature.password"):
            continue
        if not field.input_value():
            field.fill("Accessibility check")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        dialog.locator("button[type=submit]").click()
    assert answer.value.status == 401, answer.value.status
    expect(page.locator("[role=alert]").first).to_be_visible()
    audit.check(page, f"{label} {urlsplit(page.url).path} signature refused [401]")


def finish(audit, role):
    """Prints and saves the pages checked, then fails on any violation."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"accessibility-{role}.txt").write_text(audit.report() + "\n")
    print(f"\naxe-core {axe.AXE_VERSION}, {len(audit.pages)} page states checked for {role}:\n{audit.report()}")
    audit.assert_clean()


def test_sign_in_page_and_its_refusal_have_no_accessibility_violation(site, page, audit):
    page.goto(site["url"] + "/login")
    audit.check(page, "anyone /login")
    page.fill("#username", "nurse1")
    page.fill("#password", WRONG_PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#password")).to_be_focused()
    audit.check(page, "anyone /login refused [401]")
    finish(audit, "anyone")


@pytest.mark.parametrize("username", ["tech", "qa", "inv", "pharm1", "pharm2", "nurse1", "admin"])
def test_every_page_a_role_reaches_has_no_accessibility_violation(site, page, audit, username):
    sign_in_as(page, site, username)
    assert axe.crawl(page, site["url"], audit, username, on_page=open_each_dialog(audit)) >= 2
    finish(audit, username)


def test_refused_forms_have_no_accessibility_violation(site, page, audit):
    """A form sent back with its refusal beside it, for a form of each kind: a plain form, a signing dialog."""
    url = site["url"]
    sign_in_as(page, site, "tech")
    page.goto(url + "/lots")
    page.click("main a[href^='/lots/']")
    page.fill("#f-result", "29,5 %")  # a decimal comma: 422, "use a decimal point"
    page.click("form.qc-form button[type=submit]")
    expect(page.locator("#qc [role=alert]")).to_be_visible()
    audit.check(page, "tech QC result refused [422]")

    page.click("text=Sign out")
    sign_in_as(page, site, "qa")
    page.goto(url + "/lots/release-queue")
    refuse_a_signature(page, audit, "qa")

    page.click("text=Sign out")
    sign_in_as(page, site, "inv")
    page.goto(url + "/studies")
    page.click("main a[href^='/studies/']")
    page.fill("#f-code", "S-003")
    page.fill("#f-wristband", "MRN-0003")
    page.fill("#f-weight", "160")  # no unit: 422
    page.click("button:has-text('Enrol')")
    expect(page.locator("[role=alert]").first).to_be_visible()
    audit.check(page, "inv enrolment refused [422]")

    # Entry criteria (SPEC §6): the check step's met / not met, then the refusal listing each criterion not met.
    page.goto(url + f"/studies/{site['criteria_study']['id']}")
    page.fill("#f-code", "C-002")
    page.fill("#f-wristband", "MRN-C-002")
    page.fill("#f-weight", "160 lb")
    page.select_option("#f-eligibility-ischemic_stroke", "yes")
    page.fill("#f-eligibility-stroke_onset_on", "2025-01-01")
    page.fill("#f-eligibility-nihss", "3")
    # The site's today, not the machine's: at 02:00 UTC New York is still on yesterday, before the study existed.
    page.fill("#f-consent_signed_on", site_today().isoformat())
    page.click("button:has-text('Check the criteria')")
    expect(page.locator("#eligibility-check")).to_be_visible()
    audit.check(page, "inv enrolment criteria checked")
    fill_signature(page, "inv")
    page.click("button:has-text('Sign and enrol')")
    expect(page.locator("[role=alert]").first).to_be_visible()
    audit.check(page, "inv enrolment refused, criteria not met [409]")

    # The subject's answers and a struck weight; a weight far from the latest asks "is this right?".
    page.goto(url + f"/subjects/{site['criteria_subject']['id']}")
    audit.check(page, "inv subject with entry criteria and a struck weight")
    page.fill("#f-weight", "165 kg")
    page.click("button:has-text('Record weight')")
    expect(page.locator("#weight-question")).to_be_visible()
    audit.check(page, "inv weight change asks to confirm [409]")
    page.fill("#f-done_on", "2000-01-01")  # before the infusion: 422
    page.click("button:has-text('Record the visit done')")
    expect(page.locator("#follow-up-title ~ [role=alert]").first).to_be_visible()
    audit.check(page, "inv follow-up visit refused [422]")
    page.goto(url + "/follow-up")
    audit.check(page, "inv follow-up visits that wait")
    finish(audit, "refusals")


def sign(dialog, password=PASSWORD, username=None):
    """A signature as the form asks for it: the username where shown (a page session's first signature), the
    password always."""
    asked = dialog.locator("input[name='signature.username']")
    if username and asked.count() and asked.first.is_visible():
        asked.first.fill(username)
    dialog.locator("input[name='signature.password']").first.fill(password)


def test_adverse_event_pages_have_no_accessibility_violation(site, page, audit):
    """SPEC §6 on the pages: serious events on the investigator's and QA's home pages, the subject page with its
    history and correction form open, a correction refused, the lot's events, and the review's refused proceed."""
    url, subject = site["url"], site["event_subject"]
    sign_in_as(page, site, "inv")
    expect(page.locator("main")).to_contain_text("Anaphylaxis — subject R-001, grade 3, possible")
    audit.check(page, "inv / with a serious adverse event")
    page.goto(url + f"/subjects/{subject['id']}")
    expect(page.locator("#adverse-event-history")).to_be_visible()
    page.locator("#adverse-event-history summary").click()
    correction = page.locator("details.supersede").first
    correction.locator("summary").click()
    expect(correction.locator("input[name=reason]")).to_be_visible()
    audit.check(page, "inv subject with adverse events, history and a correction form open")
    correction.locator("input[name=reason]").fill("   ")  # only spaces: no reason, 422
    correction.locator("button[type=submit]").click()
    expect(page.locator("details.supersede[open] [role=alert]")).to_be_visible()
    audit.check(page, "inv adverse event correction refused [422]")

    page.goto(url + f"/studies/{site['review_study']['id']}")
    expect(page.locator("#cohort-events-1")).to_contain_text("Anaphylaxis")
    audit.check(page, "inv safety review with the cohort's adverse events")
    page.click("button[data-open-dialog='review-1']")
    dialog = page.locator("dialog#review-1")
    expect(dialog).to_be_visible()
    dialog.locator("select[name=decision]").select_option("proceed")
    sign(dialog, username="inv")
    dialog.locator("button[type=submit]").click()
    expect(page.locator("[role=alert]").first).to_contain_text("cannot proceed: serious related adverse event(s)")
    audit.check(page, "inv safety review proceed refused [409]")

    page.click("text=Sign out")
    sign_in_as(page, site, "qa")
    expect(page.locator("main")).to_contain_text("Anaphylaxis — subject R-001, grade 3, possible")
    audit.check(page, "qa / with a serious adverse event")
    page.goto(url + f"/lots/{site['lot']['id']}")
    expect(page.locator("main")).to_contain_text("Adverse events after this lot (2)")
    audit.check(page, "qa lot with its adverse events")
    finish(audit, "adverse-events")


def test_the_nurses_pages_on_a_phone_have_no_accessibility_violation(site, page, audit, api):
    """The ward, the bedside and its STOP and PASS, each refusal, at 390 × 844, then every page the nurse reaches;
    last, the PASS page reloaded after its lot was put on hold, now a STOP."""
    url, bag = site["url"], site["bag"]
    page.set_viewport_size(PHONE)
    sign_in_as(page, site, "nurse1")
    axe.crawl(page, url, audit, "nurse1 390x844", on_page=open_each_dialog(audit))

    page.goto(url + "/ward")
    page.fill("#receive-location", "Stroke unit")
    page.fill("#receive-bag", "MSC1:nothing")
    page.press("#receive-bag", "Enter")
    expect(page.locator("[role=alert]").first).to_be_visible()
    audit.check(page, "nurse1 390x844 ward receive refused")

    def bedside(wristband, witness_password=None):
        """The scans first; the witness only once they match (SPEC §11: identity first)."""
        page.goto(url + "/bedside")
        page.fill("#scan-wristband", wristband)
        page.fill("#scan-bag", bag["scan"])
        page.press("#scan-bag", "Enter")
        if witness_password is None:
            return
        expect(page.locator("#witness-username")).to_be_visible()
        page.fill("#witness-username", "nurse2")
        page.fill("#witness-password", witness_password)
        page.click("#bedside-form button[type=submit]")

    page.goto(url + "/bedside")
    page.fill("#scan-wristband", "MRN-0001")
    page.fill("#scan-bag", bag["scan"])
    page.press("#scan-bag", "Enter")
    expect(page.locator("#witness-username")).to_be_visible()
    audit.check(page, "nurse1 390x844 bedside scans matched, witness asked")
    bedside("MRN-0001", WRONG_PASSWORD)
    expect(page.locator("[role=alert]").first).to_be_visible()
    audit.check(page, "nurse1 390x844 bedside witness refused [401]")
    bedside("MRN-0002")
    expect(page.locator("#verdict")).to_have_text("STOP")
    audit.check(page, "nurse1 390x844 bedside STOP")
    bedside("MRN-0001", PASSWORD)
    expect(page.locator("#verdict")).to_have_text("PASS")
    expect(page.locator("#verdict")).to_be_focused()
    audit.check(page, "nurse1 390x844 bedside PASS")
    passed = page.url
    page.fill("#f-completed_at", page.input_value("#f-started_at"))
    page.fill("#f-volume_infused", "3.3")  # no unit: 422
    fill_signature(page, "nurse1")
    page.click("button:has-text('Sign: infusion administered')")
    expect(page.locator("[role=alert]").first).to_be_visible()
    audit.check(page, "nurse1 390x844 infusion refused [422]")
    assert api.post(f"/lots/{site['lot']['id']}/hold", {"signature": {"password": PASSWORD}, "reason": "sterility"},
                    as_="qa").status_code == 200
    page.goto(passed)
    expect(page.locator("#verdict")).to_have_text("STOP")
    audit.check(page, "nurse1 390x844 bedside PASS page after a hold: STOP")
    finish(audit, "nurse1-phone")


# The focused element's ring (its outline, and its box-shadow's band inside it) and the first opaque background
# behind the element, as rgb() strings.
RING = """el => {
  const style = getComputedStyle(el);
  let behind = el.parentElement, bg = "rgba(0, 0, 0, 0)";
  while (behind) {
    bg = getComputedStyle(behind).backgroundColor;
    if (!/rgba\\(.*, 0\\)$/.test(bg)) { break; }
    behind = behind.parentElement;
  }
  const band = (style.boxShadow.match(/rgba?\\([^)]*\\)/) || [null])[0];
  return {outline: style.outlineColor, width: parseFloat(style.outlineWidth), style: style.outlineStyle,
          band: band, background: behind ? bg : "rgb(255, 255, 255)"};
}"""


def _luminance(rgb):
    channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a, b):
    lighter, darker = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def ring_contrast(page):
    ring = page.evaluate_handle("document.activeElement").evaluate(RING)
    assert ring["style"] != "none" and ring["width"] >= 2, (ring, page.evaluate("document.activeElement.outerHTML"))
    bands = [ring["outline"]] + ([ring["band"]] if ring["band"] else [])
    return max(contrast(band, ring["background"]) for band in bands), ring


def test_the_focus_ring_stands_out_3_to_1_on_light_and_dark_backgrounds(site, page):
    url = site["url"]
    sign_in_as(page, site, "qa")
    page.goto(url + "/lots/release-queue")
    seen = []
    while True:  # the skip link, the header's links and button, then the page's own controls, to the last
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            break
        ratio, ring = ring_contrast(page)
        seen.append((page.evaluate("document.activeElement.outerHTML.slice(0, 60)"), round(ratio, 2)))
        assert ratio >= 3, (ring, seen)
    assert len(seen) >= 11, seen
    page.click("text=Sign out")
    sign_in_as(page, site, "nurse1")
    page.goto(url + "/bedside")
    page.fill("#scan-wristband", "MRN-0001")
    page.fill("#scan-bag", site["bag"]["scan"])
    page.press("#scan-bag", "Enter")  # identity first: the witness is asked once the scans match
    page.fill("#witness-username", "nurse2")
    page.fill("#witness-password", PASSWORD)
    page.click("#bedside-form button[type=submit]")
    expect(page.locator("#verdict")).to_be_focused()
    ratio, ring = ring_contrast(page)  # PASS on its green band: the ring's white inner band carries it
    assert ring["background"] == "rgb(11, 107, 43)" and ratio >= 3, ring
