"""SPEC §6: entry criteria as versioned study data, every one judged at enrolment, the answers kept with the subject
and signed by the enrolling investigator; the enrolment form asks each in words and shows met / not met."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from lims.auth.models import Signature
from lims.demo.cli import REFERENCE_CRITERIA
from lims.extensions import db
from lims.studies.eligibility import months_earlier
from lims.studies.models import EligibilityAnswer, Subject
from lims.timeutil import site_today, site_zone
from tests.support import PASSWORD, make_study, sig, signed_in
from tests.support import page_text as text

COHORTS = [{"name": "Tier 1", "dose": "0.5e6 cell/kg", "size": 5},
           {"name": "Tier 2", "dose": "1.0e6 cell/kg", "size": 5}]


def criteria_study(api, code="NCT01297413", criteria=REFERENCE_CRITERIA, **extra):
    r = api.post("/studies", {"code": code, "title": "itMSC for chronic ischemic stroke", "escalation": "sequential",
                              "cohorts": COHORTS, "eligibility": criteria, **extra}, as_="admin")
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def eligible_answers(**changes):
    answers = {"ischemic_stroke": True, "stroke_onset_on": (site_today() - dt.timedelta(days=300)).isoformat(),
               "nihss": 8}
    answers.update(changes)
    return {k: v for k, v in answers.items() if v is not None}


def enrolment(study_id, code="S-001", answers=None, consent=None, signature=True, **extra):
    body = {"study_id": study_id, "code": code, "wristband": f"MRN-{code}", "cohort": "Tier 1", "weight": "160 lb",
            "weighed_on": (site_today() - dt.timedelta(days=1)).isoformat(),
            "eligibility": eligible_answers() if answers is None else answers,
            "consent_signed_on": (consent or site_today()).isoformat(), **extra}  # the study was registered today
    if signature:
        body["signature"] = sig()
    return body


def subjects():
    return db.session.scalar(select(func.count()).select_from(Subject))


def signatures(meaning="enrolled"):
    return db.session.scalar(select(func.count()).select_from(Signature).where(Signature.meaning == meaning))


@pytest.fixture
def study(api):
    return criteria_study(api)


# --- criteria as study data ------------------------------------------------------------------------------------

def test_a_study_keeps_its_entry_criteria_as_version_1(api, study):
    got = api.get(f"/studies/{study['id']}", as_="nurse1").get_json()["eligibility"]
    assert got["version"] == 1
    assert [(c["name"], c["kind"], c["value"]) for c in got["criteria"]] == [
        ("ischemic_stroke", "yes", True), ("stroke_onset_on", "months_before", 6), ("nihss", "min", 6)]
    assert (got["criteria"][2]["integer"], got["criteria"][2]["lowest"], got["criteria"][2]["highest"]) == (True, 0, 42)


def test_a_study_without_criteria_says_so(api):
    assert make_study(api, code="PLAIN")["eligibility"] is None


def test_the_follow_up_schedule_defaults_to_the_reference_trials(api, study):
    assert study["follow_up_days"] == [1, 7, 30, 90, 180, 365]


def test_the_follow_up_schedule_is_taken_from_the_study(api):
    assert criteria_study(api, code="SHORT", follow_up_days=[30, 7, 1])["follow_up_days"] == [1, 7, 30]


@pytest.mark.parametrize("days", [[], [0], [7, 7], [1.5], ["7"]])
def test_a_follow_up_schedule_that_is_not_distinct_whole_days_is_422(api, days):
    r = api.post("/studies", {"code": "BAD", "title": "t", "escalation": "none", "cohorts": COHORTS[:1],
                              "follow_up_days": days}, as_="admin")
    assert r.status_code == 422 and "follow_up_days" in r.get_json()["error"]["fields"]


@pytest.mark.parametrize("criterion", [{"name": "nihss", "kind": "min", "value": True},
                                       {"name": "stroke", "kind": "yes", "value": 1},
                                       {"name": "onset", "kind": "months_before", "value": 1.5},
                                       {"name": "age", "kind": "between", "value": 18},
                                       {"name": "Bad Name", "kind": "yes", "value": True}])
def test_a_criterion_not_of_its_kind_is_422(api, criterion):
    r = api.post("/studies", {"code": "BAD", "title": "t", "escalation": "none", "cohorts": COHORTS[:1],
                              "eligibility": [criterion]}, as_="admin")
    assert r.status_code == 422 and "eligibility" in r.get_json()["error"]["fields"]


def test_a_new_criteria_version_judges_later_enrolments_and_earlier_ones_keep_theirs(api, study):
    first = api.post("/subjects", enrolment(study["id"], code="S-001"), as_="inv").get_json()
    r = api.post(f"/studies/{study['id']}/eligibility",
                 {"eligibility": [*REFERENCE_CRITERIA, {"name": "age", "kind": "min", "value": 18}],
                  "reason": "amendment 2: adults only", "signature": sig()}, as_="admin")
    assert r.status_code == 201 and r.get_json()["eligibility"]["version"] == 2
    r = api.post("/subjects", enrolment(study["id"], code="S-002"), as_="inv")
    assert r.status_code == 409 and [u["name"] for u in r.get_json()["unmet"]] == ["age"]
    second = api.post("/subjects", enrolment(study["id"], code="S-002", answers=eligible_answers(age=40)),
                      as_="inv").get_json()
    assert second["eligibility"]["criteria_version"] == 2
    assert api.get(f"/subjects/{first['id']}", as_="inv").get_json()["eligibility"]["criteria_version"] == 1


def test_demo_load_gives_the_reference_study_the_trials_criteria(app):
    assert app.test_cli_runner().invoke(args=["demo", "load"]).exit_code == 0
    from lims.studies import services
    study = next(s for s in services.list_studies() if s.code == "NCT01297413")
    assert [(c.name, c.kind, c.value) for c in study.eligibility.criteria] == [
        ("ischemic_stroke", "yes", True), ("stroke_onset_on", "months_before", 6), ("nihss", "min", 6)]


# --- enrolment judged ------------------------------------------------------------------------------------------

def test_an_eligible_subject_is_enrolled_with_its_answers_signed_by_the_investigator(api, study):
    r = api.post("/subjects", enrolment(study["id"]), as_="inv")
    assert r.status_code == 201, r.get_json()
    got = r.get_json()["eligibility"]
    assert got["criteria_version"] == 1
    assert got["consent_signed_on"] == site_today().isoformat()
    assert got["answers"] == [{"name": "ischemic_stroke", "answer": True, "met": True},
                              {"name": "stroke_onset_on", "answer": eligible_answers()["stroke_onset_on"], "met": True},
                              {"name": "nihss", "answer": 8, "met": True}]
    assert (got["signature"]["meaning"], got["signature"]["printed_name"]) == ("enrolled", "Inv Person")


def test_an_ineligible_subject_is_refused_listing_each_unmet_criterion_and_nothing_is_written(api, study):
    answers = eligible_answers(ischemic_stroke=False, nihss=4,
                               stroke_onset_on=(site_today() - dt.timedelta(days=60)).isoformat())
    r = api.post("/subjects", enrolment(study["id"], answers=answers), as_="inv")
    assert r.status_code == 409
    body = r.get_json()
    assert body["error"]["code"] == "eligibility_unmet"
    assert [u["name"] for u in body["unmet"]] == ["ischemic_stroke", "stroke_onset_on", "nihss"]
    assert set(body["error"]["fields"]) == {"ischemic_stroke", "stroke_onset_on", "nihss"}
    assert body["unmet"][2]["message"] == "NIHSS score (0–42): 4 does not meet “at least 6”"
    assert subjects() == 0 and signatures() == 0
    assert db.session.scalar(select(func.count()).select_from(EligibilityAnswer)) == 0


def test_unanswered_criteria_and_a_missing_consent_are_each_listed(api, study):
    body = enrolment(study["id"], answers={"nihss": 10})
    del body["consent_signed_on"]
    r = api.post("/subjects", body, as_="inv")
    assert r.status_code == 409
    assert [u["name"] for u in r.get_json()["unmet"]] == ["ischemic_stroke", "stroke_onset_on", "consent_signed_on"]
    assert subjects() == 0


def test_consent_signed_after_the_day_of_enrolment_is_unmet(api, study):
    r = api.post("/subjects", enrolment(study["id"], consent=site_today() + dt.timedelta(days=1)), as_="inv")
    assert r.status_code == 409 and [u["name"] for u in r.get_json()["unmet"]] == ["consent_signed_on"]


def test_consent_dated_before_the_study_was_registered_is_422_naming_it_and_writes_nothing(api, study):
    r = api.post("/subjects", enrolment(study["id"], consent=dt.date(1990, 1, 1)), as_="inv")
    assert r.status_code == 422 and list(r.get_json()["error"]["fields"]) == ["consent_signed_on"]
    assert r.get_json()["error"]["message"] == (
        f"consent_signed_on: informed consent signed on 1990-01-01 is before study NCT01297413 was registered "
        f"({site_today().isoformat()}): a subject cannot consent to a study that did not exist; check the date")
    assert db.session.scalar(select(func.count()).select_from(Subject)) == 0


def test_consent_on_the_day_the_study_was_registered_is_met(api, study):
    from lims.studies.models import Study
    created = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30)
    db.session.execute(db.update(Study).values(created_at=created))
    db.session.commit()
    registered = created.astimezone(site_zone()).date()  # the day in the site's zone
    assert api.post("/subjects", enrolment(study["id"], consent=registered - dt.timedelta(days=1)),
                    as_="inv").status_code == 422
    r = api.post("/subjects", enrolment(study["id"], consent=registered), as_="inv")
    assert r.status_code == 201 and r.get_json()["eligibility"]["consent_signed_on"] == registered.isoformat()


def test_consent_signed_on_the_day_of_enrolment_is_met(api, study):
    assert api.post("/subjects", enrolment(study["id"], consent=site_today()), as_="inv").status_code == 201


def test_onset_exactly_six_months_before_is_not_more_than_six_months(api, study):
    six = months_earlier(site_today(), 6)
    r = api.post("/subjects", enrolment(study["id"], answers=eligible_answers(stroke_onset_on=six.isoformat())),
                 as_="inv")
    assert r.status_code == 409 and [u["name"] for u in r.get_json()["unmet"]] == ["stroke_onset_on"]
    day_before = (six - dt.timedelta(days=1)).isoformat()
    r = api.post("/subjects", enrolment(study["id"], answers=eligible_answers(stroke_onset_on=day_before)), as_="inv")
    assert r.status_code == 201


def test_months_are_counted_on_the_calendar():
    assert months_earlier(dt.date(2026, 8, 31), 6) == dt.date(2026, 2, 28)
    assert months_earlier(dt.date(2026, 3, 15), 6) == dt.date(2025, 9, 15)


def test_an_nihss_of_exactly_6_meets_the_minimum(api, study):
    r = api.post("/subjects", enrolment(study["id"], answers=eligible_answers(nihss=6)), as_="inv")
    assert r.status_code == 201


@pytest.mark.parametrize("nihss", [43, -1, 7.5, "seven", True, None])
def test_an_nihss_that_is_not_a_whole_number_from_0_to_42_is_422(api, study, nihss):
    answers = eligible_answers()
    answers["nihss"] = nihss if nihss is not None else {"score": 8}
    r = api.post("/subjects", enrolment(study["id"], answers=answers), as_="inv")
    assert r.status_code == 422 and "eligibility.nihss" in r.get_json()["error"]["fields"]
    assert subjects() == 0


def test_an_onset_date_in_the_future_is_422(api, study):
    answers = eligible_answers(stroke_onset_on=(site_today() + dt.timedelta(days=1)).isoformat())
    r = api.post("/subjects", enrolment(study["id"], answers=answers), as_="inv")
    assert r.status_code == 422 and "eligibility.stroke_onset_on" in r.get_json()["error"]["fields"]


def test_an_answer_to_no_criterion_is_422(api, study):
    r = api.post("/subjects", enrolment(study["id"], answers=eligible_answers(age=40)), as_="inv")
    assert r.status_code == 422 and "eligibility.age" in r.get_json()["error"]["fields"]


def test_an_enrolment_into_a_study_with_criteria_must_be_signed(api, study):
    r = api.post("/subjects", enrolment(study["id"], signature=False), as_="inv")
    assert r.status_code == 422 and "signature" in r.get_json()["error"]["fields"]
    assert subjects() == 0


def test_a_wrong_signature_password_is_401_and_enrols_nobody(api, study):
    body = {**enrolment(study["id"], signature=False), "signature": {"password": "Not-the-password-1"}}
    r = api.post("/subjects", body, as_="inv")
    assert r.status_code == 401 and subjects() == 0


# --- studies without criteria (the contract's) -----------------------------------------------------------------

def test_a_study_without_criteria_enrols_without_answers_consent_or_signature(api):
    study = make_study(api, code="PLAIN")
    r = api.post("/subjects", {"study_id": study["id"], "code": "S-001", "wristband": "MRN-1", "cohort": "Tier 1",
                               "weight": "160 lb", "weighed_on": site_today().isoformat()}, as_="inv")
    assert r.status_code == 201 and r.get_json()["eligibility"] is None


def test_a_study_without_criteria_still_judges_a_consent_date_given(api):
    study = make_study(api, code="PLAIN")
    body = {"study_id": study["id"], "code": "S-001", "wristband": "MRN-1", "cohort": "Tier 1", "weight": "160 lb",
            "weighed_on": site_today().isoformat()}
    r = api.post("/subjects", {**body, "consent_signed_on": (site_today() + dt.timedelta(days=3)).isoformat()},
                 as_="inv")
    assert r.status_code == 409 and [u["name"] for u in r.get_json()["unmet"]] == ["consent_signed_on"]
    r = api.post("/subjects", {**body, "consent_signed_on": site_today().isoformat()}, as_="inv")
    assert r.status_code == 201 and r.get_json()["eligibility"]["consent_signed_on"] == site_today().isoformat()


def test_answers_to_a_study_without_criteria_are_422(api):
    study = make_study(api, code="PLAIN")
    r = api.post("/subjects", {"study_id": study["id"], "code": "S-001", "wristband": "MRN-1", "cohort": "Tier 1",
                               "weight": "160 lb", "weighed_on": site_today().isoformat(),
                               "eligibility": {"nihss": 8}}, as_="inv")
    assert r.status_code == 422 and subjects() == 0


# --- the pages -------------------------------------------------------------------------------------------------

def form(**changes):
    values = {"code": "S-001", "wristband": "MRN-S-001", "cohort": "Tier 1", "weight": "160 lb",
              "weighed_on": site_today().isoformat(), "eligibility.ischemic_stroke": "yes",
              "eligibility.stroke_onset_on": (site_today() - dt.timedelta(days=300)).isoformat(),
              "eligibility.nihss": "8", "consent_signed_on": site_today().isoformat(),
              "signature.password": PASSWORD}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


@pytest.fixture
def inv(app, users):
    return signed_in(app, "inv")


def test_the_enrolment_form_asks_each_criterion_in_words(inv, study):
    page = text(inv.get(f"/studies/{study['id']}"))
    assert "Entry criteria (version 1) and informed consent" in page
    for words in ("Ischemic stroke confirmed by imaging?", "Required: yes.", "Date of stroke onset",
                  "Required: more than 6 months before today.", "NIHSS score (0–42)", "Required: at least 6.",
                  "Informed consent signed on", "sign this record as enrolled"):
        assert words in page


def test_the_check_step_shows_met_and_not_met_and_writes_nothing(inv, study):
    r = inv.post(f"/studies/{study['id']}/subjects/check", form(**{"eligibility.nihss": "4",
                                                                     "signature.password": None}))
    assert r.status_code == 200
    page = text(r)
    assert "Not eligible as answered" in page
    assert "met Ischemic stroke confirmed by imaging?: yes meets “yes”" in page
    assert "not met NIHSS score (0–42): 4 does not meet “at least 6”" in page
    assert subjects() == 0


def test_the_check_step_says_when_every_criterion_is_met(inv, study):
    page = text(inv.post(f"/studies/{study['id']}/subjects/check", form()))
    assert "Every criterion is met: sign to enrol." in page and subjects() == 0


def test_the_page_enrols_an_eligible_subject_with_a_signature(inv, study):
    r = inv.post(f"/studies/{study['id']}/subjects", form())
    assert r.status_code == 302, text(r)
    assert subjects() == 1 and signatures() == 1


def test_the_page_refuses_an_ineligible_subject_listing_each_unmet(inv, study):
    r = inv.post(f"/studies/{study['id']}/subjects", form(**{"eligibility.ischemic_stroke": "no",
                                                              "eligibility.nihss": "3"}))
    assert r.status_code == 409
    page = text(r)
    assert "Ischemic stroke confirmed by imaging?: no does not meet “yes”" in page
    assert "NIHSS score (0–42): 3 does not meet “at least 6”" in page
    assert subjects() == 0


def test_the_subject_page_shows_the_answers_and_the_signature(app, api, inv, study):
    subject = api.post("/subjects", enrolment(study["id"]), as_="inv").get_json()
    page = text(inv.get(f"/subjects/{subject['id']}"))
    assert "Enrolment: consent and entry criteria" in page
    assert f"signed on {site_today().isoformat()}" in page
    assert "NIHSS score (0–42) 8 met" in page and "Ischemic stroke confirmed by imaging? yes met" in page
    assert "enrolled by Inv Person" in page
