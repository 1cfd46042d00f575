"""SPEC §6 on the pages: the safety review lists the cohort's adverse events and shows a refused `proceed` beside its
form; the subject page lists and records events; the lot page lists the events after the lot."""

import pytest
from sqlalchemy import func, select

from lims.extensions import db
from lims.safety.models import AdverseEvent
from lims.studies.models import SafetyReview
from lims.timeutil import site_today
from tests.safety.test_adverse_events import event_body, infuse, record
from tests.support import PASSWORD, enrol, make_study, page_text, released_lot, signed_in, text_of

SMALL = [{"name": "Tier 1", "dose": "0.5e6 cell/kg", "size": 1}, {"name": "Tier 2", "dose": "1.0e6 cell/kg", "size": 1}]


def onset_day():
    """The fixtures infuse today: an event after the infusion began today (an earlier onset is pre-treatment)."""
    return site_today().isoformat()


@pytest.fixture
def study(api):
    return make_study(api, code="AE-P", cohorts=SMALL)


@pytest.fixture
def infused(api, study):
    lot = released_lot(api)
    subject = enrol(api, study["id"], code="S-001")
    infuse(api, subject, lot["id"])
    return subject, lot


def event_count():
    return db.session.scalar(select(func.count()).select_from(AdverseEvent))


def event_form(**kw):
    form = {"term": "Anaphylaxis", "onset_on": onset_day(), "grade": "4", "serious": "true", "relatedness": "probable",
            "outcome": "recovering", "description": "Stridor 20 min after the infusion."}
    form.update(kw)
    return {k: v for k, v in form.items() if v is not None}


def test_the_review_lists_the_cohorts_current_events_with_their_grading(app, api, study, infused):
    record(api, infused[0]["id"], term="Anaphylaxis", grade=4, serious=True, relatedness="probable",
           outcome="recovering")
    page = page_text(signed_in(app, "inv").get(f"/studies/{study['id']}"))
    assert "Adverse events in Tier 1 (1)" in page
    assert "Anaphylaxis S-001 " + onset_day() + " 4 serious probable recovering" in page


def test_a_refused_proceed_shows_the_409_beside_the_kept_form(app, api, study, infused):
    record(api, infused[0]["id"], term="Anaphylaxis", grade=4, serious=True, relatedness="probable")
    r = signed_in(app, "inv").post(f"/studies/{study['id']}/cohorts/Tier%201/safety-review",
                                   {"decision": "proceed", "notes": "looked at", "signature.password": PASSWORD})
    body = r.get_data(as_text=True)
    assert r.status_code == 409 and 'role="alert"' in body
    assert "cohort Tier 1 cannot proceed: serious related adverse event(s) stand:" in page_text(r)
    assert "Anaphylaxis (subject S-001, grade 4, probable)" in page_text(r)
    assert '<option value="proceed" selected>' in body and 'value="looked at"' in body
    assert db.session.scalar(select(func.count()).select_from(SafetyReview)) == 0


def test_the_subject_page_lists_current_events_and_strikes_superseded_ones(app, api, infused):
    old = record(api, infused[0]["id"], term="Headache", grade=2).get_json()
    api.post(f"/adverse-events/{old['id']}/supersede", event_body(term="Migraine", grade=3, reason="misread"),
             as_="inv")
    r = signed_in(app, "nurse1").get(f"/subjects/{infused[0]['id']}")
    body, page = r.get_data(as_text=True), page_text(r)
    assert "Adverse events (1)" in page and "Migraine" in page
    assert "History: 1 superseded version(s)" in page and "<del>Headache</del>" in body


def test_a_nurse_records_an_event_from_the_subject_page(app, infused):
    nurse = signed_in(app, "nurse1")
    r = nurse.post(f"/subjects/{infused[0]['id']}/adverse-events", event_form())
    assert r.status_code == 302, r.get_data(as_text=True)
    event = db.session.scalars(select(AdverseEvent)).one()
    assert (event.term, event.grade, event.serious, event.relatedness, event.outcome, event.lot_id) == (
        "Anaphylaxis", 4, True, "probable", "recovering", infused[1]["id"])
    assert "Adverse event recorded: Anaphylaxis, grade 4, serious, probable." in page_text(
        nurse.get(f"/subjects/{infused[0]['id']}"))


def test_an_unchecked_serious_box_records_a_non_serious_event(app, infused):
    r = signed_in(app, "inv").post(f"/subjects/{infused[0]['id']}/adverse-events", event_form(serious=None, grade="3"))
    assert r.status_code == 302
    assert db.session.scalars(select(AdverseEvent.serious)).one() is False


def test_a_refused_event_re_renders_with_the_field_message_and_writes_no_row(app, infused):
    r = signed_in(app, "inv").post(f"/subjects/{infused[0]['id']}/adverse-events",
                                   event_form(relatedness=None, term="Rash"))
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and 'role="alert"' in body
    assert "Relatedness : Missing data for required field." in page_text(r)
    assert 'id="f-term" name="term" type="text" value="Rash"' in body
    assert event_count() == 0


def test_a_pharmacist_cannot_record_an_event_from_the_page(app, infused):
    r = signed_in(app, "pharm1").post(f"/subjects/{infused[0]['id']}/adverse-events", event_form())
    assert r.status_code == 403 and event_count() == 0


def test_the_form_is_not_offered_to_a_pharmacist(app, infused):
    body = signed_in(app, "pharm1").get(f"/subjects/{infused[0]['id']}").get_data(as_text=True)
    assert 'id="adverse-event-form"' not in body


def test_the_lot_page_shows_the_newest_twenty_events_and_the_count(app, api, infused):
    subject, lot = infused
    for i in range(21):
        record(api, subject["id"], term=f"Event {i:02d}")
    page = page_text(signed_in(app, "qa").get(f"/lots/{lot['id']}"))
    assert "Adverse events after this lot (21)" in page
    assert "Event 20" in page and "Event 01" in page and "Event 00" not in page
    assert "The newest 20 of 21 are shown" in page


def correction_form(**kw):
    values = {"term": "Migraine", "grade": "3", "serious": None, "relatedness": "unlikely", "outcome": "recovered",
              "reason": "grade re-assessed at day 7"}
    return event_form(**(values | kw))


def test_the_subject_page_offers_a_prefilled_correction_form_for_each_current_event(app, api, infused):
    first = record(api, infused[0]["id"], term="Headache", grade=2).get_json()
    second = record(api, infused[0]["id"], term="Anaphylaxis", grade=4, serious=True, relatedness="probable").get_json()
    body = signed_in(app, "inv").get(f"/subjects/{infused[0]['id']}").get_data(as_text=True)
    for event in (first, second):
        assert f'action="/subjects/{infused[0]["id"]}/adverse-events/{event["id"]}/supersede"' in body
        assert f'id="ae-{event["id"]}-term" name="term" required value="{event["term"]}"' in body
    assert f'id="ae-{second["id"]}-serious" name="serious" value="true" checked' in body
    assert f'id="ae-{first["id"]}-serious" name="serious" value="true">' in body


def test_a_correction_from_the_subject_page_supersedes_the_event_and_strikes_the_old_one(app, api, infused):
    subject = infused[0]
    old = record(api, subject["id"], term="Headache", grade=2).get_json()
    inv = signed_in(app, "inv")
    r = inv.post(f"/subjects/{subject['id']}/adverse-events/{old['id']}/supersede", correction_form())
    assert r.status_code == 302, r.get_data(as_text=True)
    old_row = db.session.get(AdverseEvent, old["id"])
    new_row = db.session.get(AdverseEvent, old_row.superseded_by_id)
    assert (new_row.term, new_row.grade, new_row.serious, new_row.relatedness, new_row.supersede_reason,
            new_row.supersedes_id, new_row.lot_id) == ("Migraine", 3, False, "unlikely", "grade re-assessed at day 7",
                                                       old["id"], infused[1]["id"])
    r = inv.get(f"/subjects/{subject['id']}")
    body, page = r.get_data(as_text=True), page_text(r)
    assert "Adverse event corrected: Migraine, grade 3, unlikely." in page
    assert "Adverse events (1)" in page and "History: 1 superseded version(s)" in page
    assert "<del>Headache</del>" in body
    # The superseded version is not offered for correction again: only the current one has a form.
    assert f"/adverse-events/{old['id']}/supersede" not in body
    assert f"/adverse-events/{new_row.id}/supersede" in body


def test_a_correction_without_a_reason_is_refused_beside_its_form_and_writes_nothing(app, api, infused):
    subject = infused[0]
    old = record(api, subject["id"], term="Headache", grade=2).get_json()
    r = signed_in(app, "nurse1").post(f"/subjects/{subject['id']}/adverse-events/{old['id']}/supersede",
                                      correction_form(reason="   "))
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    # The refusal sits inside this event's correction form, opened, with what was typed kept.
    form_part = body[body.index(f'id="supersede-{old["id"]}" open'):]
    form_part = form_part[:form_part.index("</details>")]
    assert 'role="alert"' in form_part and "Reason : Missing data for required field." in text_of(form_part)
    assert f'id="ae-{old["id"]}-term" name="term" required value="Migraine"' in form_part
    assert event_count() == 1 and db.session.get(AdverseEvent, old["id"]).superseded_by_id is None


def test_a_correction_posted_under_another_subject_is_404_and_writes_nothing(app, api, infused):
    old = record(api, infused[0]["id"], term="Headache").get_json()
    other = enrol(api, make_study(api, code="AE-Q", cohorts=SMALL)["id"], code="S-002")
    r = signed_in(app, "inv").post(f"/subjects/{other['id']}/adverse-events/{old['id']}/supersede", correction_form())
    assert r.status_code == 404 and event_count() == 1
    assert db.session.get(AdverseEvent, old["id"]).superseded_by_id is None


def test_a_pharmacist_cannot_correct_an_event_from_the_page(app, api, infused):
    old = record(api, infused[0]["id"]).get_json()
    body = signed_in(app, "pharm1").get(f"/subjects/{infused[0]['id']}").get_data(as_text=True)
    assert "/supersede" not in body
    r = signed_in(app, "pharm1").post(f"/subjects/{infused[0]['id']}/adverse-events/{old['id']}/supersede",
                                      correction_form())
    assert r.status_code == 403 and event_count() == 1


def test_correcting_a_version_already_corrected_is_409_shown_on_the_page(app, api, infused):
    old = record(api, infused[0]["id"], term="Headache").get_json()
    page = signed_in(app, "inv")
    assert page.post(f"/subjects/{infused[0]['id']}/adverse-events/{old['id']}/supersede",
                     correction_form()).status_code == 302
    r = page.post(f"/subjects/{infused[0]['id']}/adverse-events/{old['id']}/supersede",
                  correction_form(term="Cluster headache"))
    assert r.status_code == 409 and 'role="alert"' in r.get_data(as_text=True)
    assert f"adverse event {old['id']} was already superseded by" in page_text(r)
    assert event_count() == 2
