"""SPEC §6: studies, ordered cohorts, enrolment, weights and sequential escalation."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from lims.extensions import db
from lims.timeutil import site_today
from lims.studies.models import Subject
from tests.support import (bedside, enrol, expansion_study, make_study, planned_dose, received_bag, released_lot,
                           sig)


def subject_body(study_id, code="S-001", wristband=None, cohort="Tier 1", weight="160 lb", weighed_on=None):
    return {"study_id": study_id, "code": code, "wristband": wristband or f"MRN-{code}", "cohort": cohort,
            "weight": weight, "weighed_on": (weighed_on or site_today() - dt.timedelta(days=1)).isoformat()}


def cohorts(api, study_id):
    return {c["name"]: c for c in api.get(f"/studies/{study_id}", as_="inv").get_json()["cohorts"]}


def subject_count():
    return db.session.scalar(select(func.count()).select_from(Subject))


def review(api, study_id, cohort, decision="proceed", as_="inv", password=None):
    return api.post(f"/studies/{study_id}/cohorts/{cohort}/safety-review",
                    {"signature": sig(password) if password else sig(), "decision": decision}, as_=as_)


def infuse(api, subject, lot_id):
    """Plan, prepare, verify, label, dispense, receive, check at the bedside and infuse one subject's dose."""
    bag = received_bag(api, subject["id"], lot_id)
    r = bedside(api, bag["scan"], subject["wristband"])
    assert r.status_code == 200, r.get_json()
    now = dt.datetime.now(dt.timezone.utc)
    r = api.post(f"/bags/{bag['code']}/infusion",
                 {"started_at": (now - dt.timedelta(seconds=30)).isoformat(), "completed_at": now.isoformat(),
                  "volume_infused": bag["volume"], "signature": sig()}, as_="nurse1")
    assert r.status_code == 201, r.get_json()
    return bag


def fill_and_infuse_tier_1(api, study_id):
    # Tier 1 at 0.5e6 cell/kg for 160 lb is 3.4 mL: one 5 mL container each, five of the lot's ten.
    lot = released_lot(api)
    for n in range(1, 6):
        infuse(api, enrol(api, study_id, code=f"T1-{n}", cohort="Tier 1"), lot["id"])
    return lot


@pytest.fixture
def study(api):
    return make_study(api)


# --- studies and cohorts ---------------------------------------------------------------------------------------

def test_studies_list_cohorts_in_order_with_dose_size_enrolment_and_status(api, study):
    enrol(api, study["id"], code="S-001")
    enrol(api, study["id"], code="S-002")
    listed = api.get("/studies", as_="nurse1").get_json()
    assert [s["code"] for s in listed] == ["NCT01297413"]
    assert listed[0]["escalation"] == "sequential"
    got = [{k: c[k] for k in ("name", "dose", "size", "enrolled", "status")} for c in listed[0]["cohorts"]]
    assert got == [
        {"name": "Tier 1", "dose": {"value": 0.5e6, "unit": "cell/kg"}, "size": 5, "enrolled": 2, "status": "open"},
        {"name": "Tier 2", "dose": {"value": 1.0e6, "unit": "cell/kg"}, "size": 5, "enrolled": 0,
         "status": "not_open"},
        {"name": "Tier 3", "dose": {"value": 1.5e6, "unit": "cell/kg"}, "size": 5, "enrolled": 0,
         "status": "not_open"},
        {"name": "Expansion", "dose": {"value": 1.5e6, "unit": "cell/kg"}, "size": 21, "enrolled": 0,
         "status": "not_open"},
    ]


def test_cohort_doses_are_parsed_as_quantities(api):
    study = make_study(api, code="UNITS", cohorts=[{"name": "Low", "dose": "500000 cell/kg", "size": 3},
                                                    {"name": "High", "dose": "1.5 million cell/kg", "size": 3}])
    assert [c["dose"] for c in study["cohorts"]] == [{"value": 5e5, "unit": "cell/kg"},
                                                      {"value": 1.5e6, "unit": "cell/kg"}]


def test_duplicate_study_code_is_409(api, study):
    r = api.post("/studies", {"code": "NCT01297413", "title": "again", "escalation": "none",
                              "cohorts": [{"name": "A", "dose": "1e6 cell/kg", "size": 1}]}, as_="admin")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "study_exists"


def test_cohort_names_must_be_unique_within_a_study(api):
    r = api.post("/studies", {"code": "DUP", "title": "dup", "escalation": "none",
                              "cohorts": [{"name": "A", "dose": "1e6 cell/kg", "size": 1},
                                          {"name": "A", "dose": "2e6 cell/kg", "size": 1}]}, as_="admin")
    assert r.status_code == 422 and "cohorts" in r.get_json()["error"]["fields"]


def test_only_an_admin_creates_a_study(api):
    r = api.post("/studies", {"code": "X", "title": "x", "escalation": "none",
                              "cohorts": [{"name": "A", "dose": "1e6 cell/kg", "size": 1}]}, as_="inv")
    assert r.status_code == 403


def test_expansion_only_study_opens_every_cohort_at_once(api):
    study = make_study(api, code="EXP-2", escalation="none",
                       cohorts=[{"name": "A", "dose": "1e6 cell/kg", "size": 2},
                                {"name": "B", "dose": "1.5e6 cell/kg", "size": 2}])
    assert [c["status"] for c in study["cohorts"]] == ["open", "open"]
    assert enrol(api, study["id"], code="S-B", cohort="B")["cohort"] == "B"


# --- enrolment and weights -------------------------------------------------------------------------------------

def test_enrolment_records_the_weight_in_kg_and_as_entered(api, study):
    s = enrol(api, study["id"], code="S-001", weight="160 lb")
    got = api.get(f"/subjects/{s['id']}", as_="pharm1").get_json()
    assert got["cohort"] == "Tier 1" and got["wristband"] == "MRN-S-001"
    assert len(got["weights"]) == 1
    assert got["weights"][0]["weight"]["unit"] == "kg"
    assert got["weights"][0]["weight"]["value"] == pytest.approx(72.5747792, rel=1e-9)
    assert got["weights"][0]["entered"] == "160 lb"


def test_enrolling_into_a_full_cohort_is_409(api):
    study = expansion_study(api, size=2)
    enrol(api, study["id"], code="S-001", cohort="Expansion")
    enrol(api, study["id"], code="S-002", cohort="Expansion")
    r = api.post("/subjects", subject_body(study["id"], code="S-003", cohort="Expansion"), as_="inv")
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "cohort_not_open"
    assert r.get_json()["cohort_status"] == "full"
    assert "is full" in r.get_json()["error"]["message"]
    assert subject_count() == 2
    assert cohorts(api, study["id"])["Expansion"]["status"] == "full"


def test_wristband_must_be_unique(api, study):
    enrol(api, study["id"], code="S-001", wristband="MRN-1")
    r = api.post("/subjects", subject_body(study["id"], code="S-002", wristband="MRN-1"), as_="inv")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "wristband_taken"
    assert subject_count() == 1


def test_wristband_is_unique_across_studies(api, study):
    other = expansion_study(api)
    enrol(api, study["id"], code="S-001", wristband="MRN-1")
    r = api.post("/subjects", subject_body(other["id"], code="S-001", wristband="MRN-1", cohort="Expansion"),
                 as_="inv")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "wristband_taken"


def test_a_wristband_differing_only_in_case_is_taken_as_an_exact_duplicate_is(api, study):
    enrol(api, study["id"], code="S-001", wristband="MRN-0001")
    r = api.post("/subjects", subject_body(study["id"], code="S-002", wristband="mrn-0001"), as_="inv")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "wristband_taken"
    assert r.get_json()["error"]["message"] == ("wristband mrn-0001 is already enrolled (as MRN-0001: wristbands are "
                                                "the same whatever their case)")
    assert subject_count() == 1


def test_a_wristband_is_kept_as_typed(api, study):
    subject = enrol(api, study["id"], code="S-001", wristband="Mrn-0001a")
    assert subject["wristband"] == "Mrn-0001a"
    assert db.session.scalar(select(Subject.wristband)) == "Mrn-0001a"


def test_the_database_refuses_a_wristband_differing_only_in_case(api, study):
    """The unique index on lower(wristband) (migration 0012), behind the service's check."""
    from sqlalchemy.exc import IntegrityError
    first = db.session.get(Subject, enrol(api, study["id"], code="S-001", wristband="MRN-0001")["id"])
    db.session.add(Subject(study_id=first.study_id, cohort_id=first.cohort_id, code="S-002", wristband="mrn-0001",
                           enrolled_by_id=first.enrolled_by_id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert subject_count() == 1


def test_subject_code_is_unique_within_a_study(api, study):
    enrol(api, study["id"], code="S-001", wristband="MRN-1")
    r = api.post("/subjects", subject_body(study["id"], code="S-001", wristband="MRN-2"), as_="inv")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "subject_exists"


@pytest.mark.parametrize("weight", ["19.9 kg", "300.1 kg", "700 lb", "40 lb"])
def test_weight_outside_20_to_300_kg_is_422(api, study, weight):
    r = api.post("/subjects", subject_body(study["id"], weight=weight), as_="inv")
    assert r.status_code == 422
    assert "weight" in r.get_json()["error"]["fields"]
    assert "20–300 kg" in r.get_json()["error"]["message"]
    assert subject_count() == 0


def test_a_weight_in_the_wrong_unit_is_refused_naming_what_was_typed(api, study):
    r = api.post("/subjects", subject_body(study["id"], weight="72 mg"), as_="inv")
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"]["weight"] == [
        "72 mg (7.2 × 10⁻⁵ kg) is outside the plausible 20–300 kg for a body weight; check the unit (kg or lb)"]


@pytest.mark.parametrize("weight", ["20 kg", "300 kg"])
def test_weight_at_the_limits_is_accepted(api, study, weight):
    s = enrol(api, study["id"], weight=weight)
    assert s["weights"][0]["weight"]["value"] == pytest.approx(float(weight.split()[0]))


def test_weight_must_be_a_mass(api, study):
    r = api.post("/subjects", subject_body(study["id"], weight="70 mL"), as_="inv")
    assert r.status_code == 422 and "weight" in r.get_json()["error"]["fields"]


def test_weighing_date_after_today_is_422(api, study):
    tomorrow = site_today() + dt.timedelta(days=1)
    r = api.post("/subjects", subject_body(study["id"], weighed_on=tomorrow), as_="inv")
    assert r.status_code == 422
    assert "weighed_on" in r.get_json()["error"]["fields"]
    assert subject_count() == 0


def test_a_later_weight_with_a_future_date_is_422(api, study):
    s = enrol(api, study["id"])
    tomorrow = site_today() + dt.timedelta(days=1)
    r = api.post(f"/subjects/{s['id']}/weights", {"weight": "70 kg", "weighed_on": tomorrow.isoformat()}, as_="inv")
    assert r.status_code == 422 and "weighed_on" in r.get_json()["error"]["fields"]
    assert len(api.get(f"/subjects/{s['id']}", as_="inv").get_json()["weights"]) == 1


def test_a_new_weight_is_recorded(api, study):
    s = enrol(api, study["id"])
    r = api.post(f"/subjects/{s['id']}/weights", {"weight": "70.5 kg", "weighed_on": site_today().isoformat()},
                 as_="inv")
    assert r.status_code == 201
    assert r.get_json()["weight"] == {"value": 70.5, "unit": "kg"} and r.get_json()["entered"] == "70.5 kg"
    assert len(api.get(f"/subjects/{s['id']}", as_="inv").get_json()["weights"]) == 2


def test_unknown_cohort_is_404(api, study):
    r = api.post("/subjects", subject_body(study["id"], cohort="Tier 9"), as_="inv")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "cohort_not_found"


def test_only_an_investigator_enrols(api, study):
    r = api.post("/subjects", subject_body(study["id"]), as_="pharm1")
    assert r.status_code == 403 and subject_count() == 0


# --- sequential escalation -------------------------------------------------------------------------------------

def test_enrolling_into_tier_2_before_tier_1_is_full_is_409(api, study):
    enrol(api, study["id"], code="T1-1")
    r = api.post("/subjects", subject_body(study["id"], code="T2-1", cohort="Tier 2"), as_="inv")
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "cohort_not_open"
    assert r.get_json()["cohort_status"] == "not_open"
    assert "not open yet" in r.get_json()["error"]["message"]


def test_tier_2_stays_closed_when_tier_1_is_full_but_not_infused(api, study):
    for n in range(1, 6):
        enrol(api, study["id"], code=f"T1-{n}")
    assert cohorts(api, study["id"])["Tier 1"]["status"] == "full"
    r = api.post("/subjects", subject_body(study["id"], code="T2-1", cohort="Tier 2"), as_="inv")
    assert r.status_code == 409 and r.get_json()["cohort_status"] == "not_open"


def test_safety_review_of_a_cohort_not_yet_full_is_409(api, study):
    enrol(api, study["id"], code="T1-1")
    r = review(api, study["id"], "Tier 1")
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "cohort_not_complete"
    assert "1/5 enrolled, 0 infused" in r.get_json()["error"]["message"]
    assert cohorts(api, study["id"])["Tier 1"]["status"] == "open"


def test_safety_review_of_a_full_cohort_not_wholly_infused_is_409(api, study):
    lot = released_lot(api)
    subjects = [enrol(api, study["id"], code=f"T1-{n}") for n in range(1, 6)]
    planned_dose(api, subjects[0]["id"], lot["id"])
    infuse(api, subjects[1], lot["id"])
    r = review(api, study["id"], "Tier 1")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "cohort_not_complete"
    assert "5/5 enrolled, 1 infused" in r.get_json()["error"]["message"]
    assert cohorts(api, study["id"])["Tier 1"]["infused"] == 1


def test_tier_2_opens_after_tier_1_is_full_infused_and_reviewed(api, study):
    fill_and_infuse_tier_1(api, study["id"])
    state = cohorts(api, study["id"])
    assert (state["Tier 1"]["enrolled"], state["Tier 1"]["infused"]) == (5, 5)
    assert state["Tier 1"]["status"] == "awaiting_review"
    assert state["Tier 2"]["status"] == "not_open"
    r = api.post("/subjects", subject_body(study["id"], code="T2-1", cohort="Tier 2"), as_="inv")
    assert r.status_code == 409  # infused but not yet reviewed

    r = review(api, study["id"], "Tier 1")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["cohort"] == "Tier 1" and r.get_json()["decision"] == "proceed"
    assert r.get_json()["signature"]["printed_name"] == "Inv Person"
    assert r.get_json()["signature"]["meaning"] == "reviewed"

    r = api.post("/subjects", subject_body(study["id"], code="T2-1", cohort="Tier 2"), as_="inv")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["cohort"] == "Tier 2"
    state = cohorts(api, study["id"])
    assert [state[n]["status"] for n in ("Tier 1", "Tier 2", "Tier 3")] == ["reviewed", "open", "not_open"]
    assert state["Tier 2"]["enrolled"] == 1

    assert review(api, study["id"], "Tier 1").get_json()["error"]["code"] == "already_reviewed"
    r = api.post("/subjects", subject_body(study["id"], code="T3-1", cohort="Tier 3"), as_="inv")
    assert r.status_code == 409 and r.get_json()["cohort_status"] == "not_open"


def test_a_stop_decision_keeps_the_next_cohort_closed(api, study):
    fill_and_infuse_tier_1(api, study["id"])
    r = review(api, study["id"], "Tier 1", decision="stop")
    assert r.status_code == 201 and r.get_json()["decision"] == "stop"
    state = cohorts(api, study["id"])
    assert state["Tier 1"]["status"] == "stopped" and state["Tier 2"]["status"] == "not_open"
    r = api.post("/subjects", subject_body(study["id"], code="T2-1", cohort="Tier 2"), as_="inv")
    assert r.status_code == 409 and r.get_json()["cohort_status"] == "not_open"


def test_safety_review_needs_an_investigator(api, study):
    r = review(api, study["id"], "Tier 1", as_="pharm1")
    assert r.status_code == 403


def test_safety_review_with_a_wrong_password_is_401(api, study):
    r = review(api, study["id"], "Tier 1", password="not-my-password-1")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "invalid_credentials"


def test_safety_review_of_an_unknown_cohort_is_404(api, study):
    r = review(api, study["id"], "Tier 9")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "cohort_not_found"
