"""SPEC §6 with ICH E2A: a life-threatening (grade 4) or fatal (grade 5) event is serious by definition, so the
escalation gate cannot be passed by an unticked box; causality and seriousness are the investigator's judgement."""
import pytest
from sqlalchemy import func, select

from lims.extensions import db
from lims.safety.models import AdverseEvent
from lims.studies.models import SafetyReview
from tests.safety.test_adverse_events import SMALL, event_body, infuse, record, review
from tests.safety.test_pages import correction_form, event_form
from tests.support import enrol, make_study, page_text, released_lot, signed_in

SERIOUS_MESSAGE = "a grade 4 or 5 event, or a fatal outcome, is serious by definition (ICH E2A): mark it serious"


@pytest.fixture
def study(api):
    return make_study(api, code="AE-S", cohorts=SMALL)


@pytest.fixture
def infused(api, study):
    lot = released_lot(api)
    subject = enrol(api, study["id"], code="S-001")
    return subject, lot, infuse(api, subject, lot["id"])


def event_count():
    return db.session.scalar(select(func.count()).select_from(AdverseEvent))


def review_count():
    return db.session.scalar(select(func.count()).select_from(SafetyReview))


@pytest.mark.parametrize("grade,outcome", [(5, "fatal"), (4, "recovering"), (4, "not_recovered")])
def test_a_life_threatening_or_fatal_event_not_marked_serious_is_422_naming_serious(api, infused, grade, outcome):
    r = record(api, infused[0]["id"], grade=grade, outcome=outcome, serious=False, relatedness="definite")
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"] == {"serious": [SERIOUS_MESSAGE]}
    assert SERIOUS_MESSAGE in r.get_json()["error"]["message"]
    assert event_count() == 0


def test_grade_5_with_an_outcome_other_than_fatal_is_422_naming_outcome(api, infused):
    r = record(api, infused[0]["id"], grade=5, outcome="recovered", serious=True)
    assert r.status_code == 422 and list(r.get_json()["error"]["fields"]) == ["outcome"]
    assert "grade 5 is death (CTCAE): its outcome is fatal" in r.get_json()["error"]["message"]
    assert event_count() == 0


def test_a_fatal_outcome_below_grade_5_is_422_naming_grade(api, infused):
    r = record(api, infused[0]["id"], grade=3, outcome="fatal", serious=True)
    assert r.status_code == 422 and list(r.get_json()["error"]["fields"]) == ["grade"]
    assert "a fatal outcome is grade 5 (CTCAE: death), not grade 3" in r.get_json()["error"]["message"]
    assert event_count() == 0


def test_every_inconsistency_is_named_at_once(api, infused):
    r = record(api, infused[0]["id"], grade=2, outcome="fatal", serious=False)
    assert sorted(r.get_json()["error"]["fields"]) == ["grade", "serious"]


def test_a_correctly_recorded_fatal_related_event_keeps_proceed_refused(api, study, infused):
    r = record(api, infused[0]["id"], term="Cardiac arrest", grade=5, outcome="fatal", serious=True,
               relatedness="definite")
    assert r.status_code == 201, r.get_json()
    r = review(api, study["id"], "proceed")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "serious_related_events"
    assert "Cardiac arrest" in r.get_json()["error"]["message"] and review_count() == 0


def test_superseding_a_serious_event_into_an_unserious_death_is_422_and_the_bar_stands(api, study, infused):
    old = record(api, infused[0]["id"], term="Seizure", grade=3, serious=True, relatedness="possible").get_json()
    r = api.post(f"/adverse-events/{old['id']}/supersede",
                 event_body(term="Seizure", grade=5, outcome="fatal", serious=False, relatedness="definite",
                            reason="died"), as_="inv")
    assert r.status_code == 422 and r.get_json()["error"]["fields"] == {"serious": [SERIOUS_MESSAGE]}
    assert event_count() == 1 and db.session.get(AdverseEvent, old["id"]).superseded_by_id is None
    assert review(api, study["id"], "proceed").status_code == 409


def test_an_unticked_death_is_refused_on_the_page_naming_serious_and_writes_nothing(app, infused):
    r = signed_in(app, "inv").post(f"/subjects/{infused[0]['id']}/adverse-events",
                                   event_form(grade="5", outcome="fatal", serious=None, relatedness="definite"))
    assert r.status_code == 422 and 'role="alert"' in r.get_data(as_text=True)
    assert SERIOUS_MESSAGE in page_text(r)
    assert event_count() == 0


def test_an_unticked_death_is_refused_in_the_correction_form_and_writes_nothing(app, api, infused):
    old = record(api, infused[0]["id"], term="Headache", grade=2).get_json()
    r = signed_in(app, "inv").post(f"/subjects/{infused[0]['id']}/adverse-events/{old['id']}/supersede",
                                   correction_form(grade="5", outcome="fatal", serious=None))
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    form_part = body[body.index(f'id="supersede-{old["id"]}" open'):]
    assert SERIOUS_MESSAGE in page_text(r) and 'role="alert"' in form_part[:form_part.index("</details>")]
    assert event_count() == 1


def test_a_nurse_cannot_change_the_investigators_relatedness(api, study, infused):
    old = record(api, infused[0]["id"], term="Seizure", grade=3, serious=True, relatedness="probable").get_json()
    r = api.post(f"/adverse-events/{old['id']}/supersede",
                 event_body(term="Seizure", grade=3, serious=True, relatedness="unrelated", reason="epilepsy"),
                 as_="nurse1")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "investigator_judgement"
    assert "only an investigator may change the relatedness (causality)" in r.get_json()["error"]["message"]
    assert event_count() == 1 and db.session.get(AdverseEvent, old["id"]).superseded_by_id is None
    assert review(api, study["id"], "proceed").status_code == 409


def test_a_nurse_cannot_change_the_seriousness(api, infused):
    old = record(api, infused[0]["id"], term="Fall", grade=3, serious=True, relatedness="unrelated").get_json()
    r = api.post(f"/adverse-events/{old['id']}/supersede",
                 event_body(term="Fall", grade=3, serious=False, relatedness="unrelated", reason="not admitted"),
                 as_="nurse1")
    assert r.status_code == 403 and "seriousness" in r.get_json()["error"]["message"]
    assert event_count() == 1


def test_a_nurse_may_correct_what_is_not_a_judgement(api, infused):
    old = record(api, infused[0]["id"], term="Headache", grade=2, relatedness="unlikely", as_="nurse1").get_json()
    r = api.post(f"/adverse-events/{old['id']}/supersede",
                 event_body(term="Migraine", grade=2, relatedness="unlikely", reason="term clarified"), as_="nurse1")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["term"] == "Migraine"


def test_an_investigator_may_change_the_relatedness(api, infused):
    old = record(api, infused[0]["id"], relatedness="possible", as_="nurse1").get_json()
    r = api.post(f"/adverse-events/{old['id']}/supersede", event_body(relatedness="unrelated", reason="re-assessed"),
                 as_="inv")
    assert r.status_code == 201 and r.get_json()["relatedness"] == "unrelated"


def test_a_nurses_change_of_relatedness_is_refused_on_the_page_with_its_reason(app, api, infused):
    old = record(api, infused[0]["id"], term="Headache", grade=2, relatedness="possible").get_json()
    r = signed_in(app, "nurse1").post(f"/subjects/{infused[0]['id']}/adverse-events/{old['id']}/supersede",
                                      correction_form(term="Headache", grade="2", relatedness="unrelated"))
    assert r.status_code == 403 and "only an investigator may change the relatedness" in page_text(r)
    assert event_count() == 1


# --- rows recorded before the rule (0ed6ec1): serious=false at grade 4/5, written here as they stand, not via the API

def old_unticked_row(subject_id, lot_id, term="Anaphylaxis", grade=4, outcome="recovering", relatedness="probable"):
    """An event as a release before 0ed6ec1 could store it: life-threatening or fatal but serious=false."""
    from lims.auth.models import User
    from lims.timeutil import site_today
    inv = db.session.scalar(select(User.id).where(User.username == "inv"))
    event = AdverseEvent(subject_id=subject_id, lot_id=lot_id, term=term, onset_on=site_today(), grade=grade,
                         serious=False, relatedness=relatedness, outcome=outcome, recorded_by_id=inv)
    db.session.add(event)
    db.session.commit()
    return event.id


@pytest.mark.parametrize("grade,outcome", [(4, "recovering"), (5, "fatal")])
def test_an_old_unticked_grade_4_or_5_related_event_refuses_proceed(api, study, infused, grade, outcome):
    event_id = old_unticked_row(infused[0]["id"], infused[1]["id"], grade=grade, outcome=outcome)
    r = review(api, study["id"], "proceed")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "serious_related_events"
    assert [e["id"] for e in r.get_json()["adverse_events"]] == [event_id]
    assert review_count() == 0


def test_an_old_unticked_grade_4_unrelated_event_does_not_refuse_proceed(api, study, infused):
    old_unticked_row(infused[0]["id"], infused[1]["id"], relatedness="unrelated")
    assert review(api, study["id"], "proceed").status_code == 201


@pytest.mark.parametrize("username", ["inv", "qa"])
def test_an_old_unticked_grade_4_event_is_listed_on_the_investigators_and_qas_home(app, infused, username):
    old_unticked_row(infused[0]["id"], infused[1]["id"], term="Anaphylaxis")
    old_unticked_row(infused[0]["id"], infused[1]["id"], term="Headache", grade=2, outcome="recovered")
    page = page_text(signed_in(app, username).get("/"))
    assert "Serious adverse events (1)" in page and "Anaphylaxis — subject S-001, grade 4, probable" in page
    assert "Headache" not in page


def test_the_lot_and_subject_pages_mark_an_old_unticked_grade_4_event_serious_and_say_why(app, infused):
    subject, lot, _ = infused
    old_unticked_row(subject["id"], lot["id"], term="Anaphylaxis")
    client = signed_in(app, "qa")
    for path in (f"/lots/{lot['id']}", f"/subjects/{subject['id']}"):
        page = page_text(client.get(path))
        assert "4 serious (grade 4: serious by definition; recorded as not serious) probable recovering" in page, path


def test_the_api_keeps_the_recorded_flag_and_says_the_event_counts_as_serious(api, infused):
    old_unticked_row(infused[0]["id"], infused[1]["id"])
    [event] = api.get(f"/lots/{infused[1]['id']}/adverse-events", as_="qa").get_json()["events"]
    assert (event["serious"], event["counts_as_serious"]) == (False, True)


def test_a_nurse_may_tick_serious_when_correcting_an_old_unticked_grade_4_event(api, infused):
    event_id = old_unticked_row(infused[0]["id"], infused[1]["id"], term="Anaphylaxis")
    r = api.post(f"/adverse-events/{event_id}/supersede",
                 event_body(term="Anaphylactic reaction", grade=4, outcome="recovering", serious=True,
                            relatedness="probable", reason="term as in MedDRA"), as_="nurse1")
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["serious"], r.get_json()["counts_as_serious"]) == (True, True)
