"""The investigator's pages: studies and escalation in words, the enrolment chart, enrolling, safety reviews,
subjects and their weights (issue 4)."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from lims.extensions import db
from lims.studies.models import SafetyReview, Subject, SubjectWeight
from lims.timeutil import site_today
from tests.studies.test_studies import infuse
from tests.support import PASSWORD, enrol, make_study, planned_dose, released_lot, sig, signed_in, text_of, verified_bag
from tests.support import page_text as text


@pytest.fixture
def study(api):
    return make_study(api)


@pytest.fixture
def inv(app, users):
    return signed_in(app, "inv")


def enrol_form(code="S-001", cohort="Tier 1", weight="160 lb", weighed_on=None, wristband=None):
    return {"code": code, "wristband": wristband or f"MRN-{code}", "cohort": cohort, "weight": weight,
            "weighed_on": (weighed_on or site_today() - dt.timedelta(days=1)).isoformat()}


def subject_count():
    return db.session.scalar(select(func.count()).select_from(Subject))


@pytest.fixture
def small_study(api):
    """Two sequential cohorts of one subject each: one infusion fills Tier A and makes it reviewable."""
    return make_study(api, code="SMALL-1", cohorts=[{"name": "Tier A", "dose": "0.5e6 cell/kg", "size": 1},
                                                    {"name": "Tier B", "dose": "1.0e6 cell/kg", "size": 1}])


@pytest.fixture
def tier_a_infused(api, small_study):
    lot = released_lot(api)
    infuse(api, enrol(api, small_study["id"], code="A-1", cohort="Tier A"), lot["id"])
    return small_study


# --- reading ---------------------------------------------------------------------------------------------------

def test_studies_page_lists_cohorts_in_order_with_dose_size_enrolment_and_status(app, api, study):
    enrol(api, study["id"], code="S-001")
    page = text(signed_in(app, "nurse1").get("/studies"))
    assert "NCT01297413" in page
    assert ("Tier 1 5 × 10⁵ cell/kg 5 1 open Tier 2 1 × 10⁶ cell/kg 5 0 not open "
            "Tier 3 1.5 × 10⁶ cell/kg 5 0 not open Expansion 1.5 × 10⁶ cell/kg 21 0 not open") in page


def test_studies_page_with_no_study_says_so(app, users):
    assert "No study is registered yet" in text(signed_in(app, "inv").get("/studies"))


def test_study_page_explains_the_escalation_in_words(inv, api, study):
    enrol(api, study["id"], code="S-001")
    page = text(inv.get(f"/studies/{study['id']}"))
    assert "Sequential escalation: each cohort opens only when the one before it is full" in page
    assert "Tier 1 is open: 1 of 5 enrolled, 4 place(s) left." in page
    assert "Tier 2 opens when Tier 1 is full, infused and reviewed." in page
    assert "Tier 3 opens when Tier 2 is full, infused and reviewed." in page


def test_study_page_draws_enrolment_by_tier_as_accessible_svg(inv, api, study):
    enrol(api, study["id"], code="S-001")
    body = inv.get(f"/studies/{study['id']}").get_data(as_text=True)
    svg = body[body.index("<svg"):body.index("</svg>")]
    assert 'role="img"' in svg and "<title" in svg and "Cohort enrolment by tier" in svg
    assert "Tier 1: 1 of 5 enrolled, 0 infused; Tier 2: 0 of 5 enrolled, 0 infused" in svg
    assert svg.count("<rect") == 4 * 3 + 3  # three bars a cohort, three legend keys
    assert "style=" not in svg  # the CSP allows no inline style
    assert '<table id="cohort-table">' in body


def test_unknown_study_is_404(inv):
    assert inv.get("/studies/999").status_code == 404


# --- enrolling -------------------------------------------------------------------------------------------------

def test_enrol_through_the_page(inv, study):
    r = inv.post(f"/studies/{study['id']}/subjects", enrol_form(weight="160 lb"))
    assert r.status_code == 302 and r.headers["Location"] == f"/studies/{study['id']}"
    subject = db.session.scalar(select(Subject))
    assert (subject.code, subject.wristband, subject.cohort.name) == ("S-001", "MRN-S-001", "Tier 1")
    weight = db.session.scalar(select(SubjectWeight))
    assert weight.entered == "160 lb" and weight.weight_kg == pytest.approx(72.5747792, rel=1e-9)
    page = text(inv.get(f"/studies/{study['id']}"))
    assert "S-001 enrolled in Tier 1 (wristband MRN-S-001)." in page
    assert "Tier 1 is open: 1 of 5 enrolled" in page


def test_enrol_form_offers_only_open_cohorts(inv, study):
    body = inv.get(f"/studies/{study['id']}").get_data(as_text=True)
    start = body.index(f'action="/studies/{study["id"]}/subjects"')
    form = body[start:body.index("</form>", start)]  # the enrol form alone: the subject filter names every cohort
    assert '<option value="Tier 1"' in form and '<option value="Tier 2"' not in form
    assert ">Tier 1 — 5 × 10⁵ cell/kg, 5 place(s) left</option>" in form
    assert '<div class="span-2"><label for="f-cohort">Cohort</label>' in form  # room for the whole choice


def test_enrolment_into_tier_2_before_tier_1_is_reviewed_shows_409_beside_the_form(inv, study):
    r = inv.post(f"/studies/{study['id']}/subjects", enrol_form(code="T2-1", cohort="Tier 2"))
    assert r.status_code == 409
    page = text(r)
    enrol_card = page[page.index("Enrol a subject"):]
    assert "cohort Tier 2 is not open yet (the previous cohort must be full, infused and reviewed)" in enrol_card
    assert subject_count() == 0
    assert 'value="T2-1"' in r.get_data(as_text=True)  # what was typed is kept


def test_enrolment_into_a_full_cohort_shows_409(inv, api):
    study = make_study(api, code="FULL-1", escalation="none",
                       cohorts=[{"name": "Only", "dose": "1e6 cell/kg", "size": 1}])
    enrol(api, study["id"], code="S-001", cohort="Only")
    r = inv.post(f"/studies/{study['id']}/subjects", enrol_form(code="S-002", cohort="Only"))
    assert r.status_code == 409 and "cohort Only is full" in text(r)
    assert subject_count() == 1


@pytest.mark.parametrize("weight", ["700 lb", "15 kg"])
def test_weight_out_of_range_shows_422_and_enrols_nobody(inv, study, weight):
    r = inv.post(f"/studies/{study['id']}/subjects", enrol_form(weight=weight))
    assert r.status_code == 422
    assert "is outside the plausible 20–300 kg" in text(r)
    assert subject_count() == 0 and db.session.scalar(select(func.count()).select_from(SubjectWeight)) == 0


def test_weighing_date_in_the_future_shows_422(inv, study):
    r = inv.post(f"/studies/{study['id']}/subjects", enrol_form(weighed_on=site_today() + dt.timedelta(days=1)))
    assert r.status_code == 422 and "a weighing date cannot be after today" in text(r)
    assert subject_count() == 0


def test_weight_without_a_unit_shows_422_naming_the_field(inv, study):
    r = inv.post(f"/studies/{study['id']}/subjects", enrol_form(weight="72"))
    assert r.status_code == 422 and "Weight : a unit is required" in text(r)


def test_only_an_investigator_sees_and_uses_the_enrol_form(app, study):
    pharm = signed_in(app, "pharm1")
    assert "Enrol a subject" not in text(pharm.get(f"/studies/{study['id']}"))
    assert pharm.post(f"/studies/{study['id']}/subjects", enrol_form()).status_code == 403
    assert subject_count() == 0


# --- safety review ---------------------------------------------------------------------------------------------

def test_safety_review_through_the_dialog_opens_the_next_cohort(inv, tier_a_infused):
    study_id = tier_a_infused["id"]
    before = inv.get(f"/studies/{study_id}").get_data(as_text=True)
    assert "Tier A is full and every subject infused: it awaits an investigator's signed safety review" in text_of(
        before)
    assert f'action="/studies/{study_id}/cohorts/Tier%20A/safety-review"' in before
    r = inv.post(f"/studies/{study_id}/cohorts/Tier%20A/safety-review",
                 {"decision": "proceed", "notes": "no dose-limiting toxicity", "signature.password": PASSWORD})
    assert r.status_code == 302
    page = text(inv.get(f"/studies/{study_id}"))
    assert "Safety review of Tier A signed: escalation proceeds." in page
    assert "Tier A was reviewed with the decision to proceed (signed by Inv Person); Tier B is open" in page
    assert "reviewed by Inv Person" in page
    assert '<option value="Tier B"' in inv.get(f"/studies/{study_id}").get_data(as_text=True)


def test_safety_review_with_a_wrong_password_shows_401_and_records_nothing(inv, tier_a_infused):
    r = inv.post(f"/studies/{tier_a_infused['id']}/cohorts/Tier%20A/safety-review",
                 {"decision": "proceed", "signature.password": "not-mine"})
    assert r.status_code == 401 and "wrong password" in text(r)
    assert db.session.scalar(select(func.count()).select_from(SafetyReview)) == 0


def test_safety_review_of_a_cohort_not_complete_shows_409(inv, api, study):
    enrol(api, study["id"], code="S-001")
    r = inv.post(f"/studies/{study['id']}/cohorts/Tier%201/safety-review",
                 {"decision": "proceed", "signature.password": PASSWORD})
    assert r.status_code == 409
    assert "cohort Tier 1 is not yet full and wholly infused (1/5 enrolled, 0 infused)" in text(r)


# --- subjects --------------------------------------------------------------------------------------------------

def test_subject_page_shows_weights_dose_and_trace_link(app, api, study):
    s = enrol(api, study["id"], code="S-001", weight="160 lb")
    dose = planned_dose(api, s["id"], released_lot(api)["id"])
    body = signed_in(app, "pharm1").get(f"/subjects/{s['id']}").get_data(as_text=True)
    page = text_of(body)
    assert "Wristband MRN-S-001" in page and "Tier 1 — 5 × 10⁵ cell/kg" in page
    assert "160 lb 72.5748 kg" in page
    assert f'href="/doses/{dose["id"]}"' in body and "3.4 mL" in page
    assert f'href="/trace/subjects/{s["id"]}"' in body


def test_subject_page_shows_the_lot_as_printed(app, api, study):
    s = enrol(api, study["id"], code="S-001")
    lot = released_lot(api)
    planned_dose(api, s["id"], lot["id"])
    body = signed_in(app, "inv").get(f"/subjects/{s['id']}").get_data(as_text=True)
    din = lot["din"]
    assert (f'<span class="din">{din[:5]} {din[5:7]} {din[7:]}</span> <span class="check" '
            f'title="ISBT 128 check character">{lot["check_character"]}</span>') in body
    assert f'href="/lots/{lot["id"]}"' in body


def _recall(api, lot_id, reason):
    r = api.post(f"/lots/{lot_id}/recall", {"signature": sig(), "reason": reason}, as_="qa")
    assert r.status_code == 200, r.get_json()


def test_subject_infused_from_a_recalled_lot_shows_the_infused_bag_and_the_recall(app, api, study):
    s = enrol(api, study["id"], code="S-001")
    lot = released_lot(api)
    bag = infuse(api, s, lot["id"])
    _recall(api, lot["id"], "sterility culture positive")
    body = signed_in(app, "inv").get(f"/subjects/{s['id']}").get_data(as_text=True)
    page = text_of(body)
    din = f"{lot['din'][:5]} {lot['din'][5:7]} {lot['din'][7:]} {lot['check_character']}"
    start = body.index(">", body.index('id="lot-alert"')) + 1
    alert = text_of(body[start:body.index("</div>", start)])
    assert alert.startswith(f'Lot {din} was recalled on 20')
    assert alert.endswith("(sterility culture positive): this subject was infused from it — follow the study's "
                          "notification procedure.")
    assert f"Bag {bag['code']} infused" in page
    assert "Infusion 3.4 mL infused from" in page
    assert "badge verified" not in body  # the dose's own status no longer stands for the bag's
    study_page = text(signed_in(app, "inv").get(f"/studies/{study['id']}"))
    assert "MRN-S-001 Tier 1 160 lb" in study_page and "infused lot recalled" in study_page


def test_subject_whose_bag_is_held_before_infusion_is_told_the_bag_is_blocked(app, api, study):
    s = enrol(api, study["id"], code="S-001")
    lot = released_lot(api)
    verified_bag(api, s["id"], lot["id"])
    r = api.post(f"/lots/{lot['id']}/hold", {"signature": sig(), "reason": "deviation DV-7"}, as_="qa")
    assert r.status_code == 200
    page = text(signed_in(app, "inv").get(f"/subjects/{s['id']}"))
    assert "was put on hold on" in page
    assert "(deviation DV-7): the bag is blocked: it cannot be dispensed, received or infused." in page
    assert "infused from it" not in page


def test_subject_page_without_a_hold_or_recall_shows_no_lot_note(app, api, study):
    s = enrol(api, study["id"], code="S-001")
    verified_bag(api, s["id"], released_lot(api)["id"])
    body = signed_in(app, "inv").get(f"/subjects/{s['id']}").get_data(as_text=True)
    assert 'id="lot-alert"' not in body and "badge verified" in body  # the bag's state: verified


def test_record_a_weight_through_the_page(inv, api, study):
    s = enrol(api, study["id"], code="S-001")
    r = inv.post(f"/subjects/{s['id']}/weights", {"weight": "72.5 kg", "weighed_on": site_today().isoformat()})
    assert r.status_code == 302
    page = text(inv.get(f"/subjects/{s['id']}"))
    assert f"Weight 72.5 kg (72.5 kg) recorded for {site_today().isoformat()}." in page
    assert page.index("72.5 kg") < page.index("160 lb")  # newest first


def test_implausible_weight_on_the_subject_page_shows_422(inv, api, study):
    s = enrol(api, study["id"], code="S-001")
    r = inv.post(f"/subjects/{s['id']}/weights", {"weight": "400 kg", "weighed_on": site_today().isoformat()})
    assert r.status_code == 422 and "(400 kg) is outside the plausible 20–300 kg" in text(r)
    assert db.session.scalar(select(func.count()).select_from(SubjectWeight)) == 1


# --- the investigator's home -----------------------------------------------------------------------------------

def test_dashboard_lists_each_cohort_with_awaiting_review_first(app, api, study, tier_a_infused):
    page = text(signed_in(app, "inv").get("/"))
    assert "Studies and dose escalation" in page
    first = page.index("SMALL-1 · Tier A: awaiting review")
    assert first < page.index("NCT01297413 · Tier 1: open") < page.index("NCT01297413 · Tier 2: not open")
    assert "Tier B opens when Tier A is full, infused and reviewed." in page


def test_dashboard_with_no_study_says_so(app, users):
    assert "No study is registered yet; an administrator creates studies." in text(signed_in(app, "inv").get("/"))
