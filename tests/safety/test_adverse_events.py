"""SPEC §6: adverse events, superseded with a reason, linked to bag, lot and donor; safety reviews read them."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from lims.audit.models import AuditEntry
from lims.extensions import db
from lims.safety.models import AdverseEvent
from lims.timeutil import site_today
from tests.support import bedside, enrol, make_study, page_text, received_bag, released_lot, sig, signed_in

SMALL = [{"name": "Tier 1", "dose": "0.5e6 cell/kg", "size": 1}, {"name": "Tier 2", "dose": "1.0e6 cell/kg", "size": 1},
         {"name": "Tier 3", "dose": "1.5e6 cell/kg", "size": 1}]


def event_body(**kw):
    # Today: the fixtures infuse today, and an event linked to the lot began on or after the infusion's day.
    body = {"term": "Headache", "onset_on": site_today().isoformat(), "grade": 2,
            "serious": False, "relatedness": "unlikely", "outcome": "recovered", "description": "Mild, resolved."}
    body.update(kw)
    return body


def infuse(api, subject, lot_id, reactions=()):
    bag = received_bag(api, subject["id"], lot_id)
    r = bedside(api, bag["scan"], subject["wristband"])
    assert r.status_code == 200, r.get_json()
    now = dt.datetime.now(dt.timezone.utc)
    r = api.post(f"/bags/{bag['code']}/infusion",
                 {"started_at": (now - dt.timedelta(seconds=30)).isoformat(), "completed_at": now.isoformat(),
                  "volume_infused": bag["volume"], "reactions": list(reactions), "signature": sig()}, as_="nurse1")
    assert r.status_code == 201, r.get_json()
    return bag


@pytest.fixture
def study(api):
    return make_study(api, code="AE-1", cohorts=SMALL)


@pytest.fixture
def infused(api, study):
    lot = released_lot(api)
    subject = enrol(api, study["id"], code="S-001")
    bag = infuse(api, subject, lot["id"])
    return subject, lot, bag


def record(api, subject_id, as_="inv", **kw):
    return api.post(f"/subjects/{subject_id}/adverse-events", event_body(**kw), as_=as_)


def review(api, study_id, decision):
    return api.post(f"/studies/{study_id}/cohorts/Tier 1/safety-review", {"signature": sig(), "decision": decision},
                    as_="inv")


def test_an_event_is_linked_to_the_bag_lot_and_donor_the_subject_received(api, infused):
    subject, lot, bag = infused
    r = record(api, subject["id"])
    assert r.status_code == 201, r.get_json()
    event = r.get_json()
    assert (event["lot_id"], event["donor_id"], event["grade"], event["term"]) == (lot["id"], lot["donor"]["id"], 2,
                                                                                  "Headache")
    assert db.session.get(AdverseEvent, event["id"]).bag_id is not None


def test_an_event_before_any_bag_has_no_bag_lot_or_donor(api, study):
    subject = enrol(api, study["id"], code="S-009")
    event = record(api, subject["id"], as_="nurse1").get_json()
    assert (event["bag_id"], event["lot_id"], event["donor_id"]) == (None, None, None)


def test_an_onset_after_today_is_refused_and_writes_no_row(api, infused):
    r = record(api, infused[0]["id"], onset_on=(site_today() + dt.timedelta(days=1)).isoformat())
    assert r.status_code == 422 and "onset_on" in r.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(AdverseEvent)) == 0


@pytest.mark.parametrize("field,value", [("grade", 6), ("grade", 0), ("relatedness", "maybe"), ("outcome", "fine"),
                                         ("serious", "yes")])
def test_out_of_vocabulary_values_are_422(api, infused, field, value):
    r = record(api, infused[0]["id"], **{field: value})
    assert r.status_code == 422 and field in r.get_json()["error"]["fields"]


def test_a_pharmacist_cannot_record_an_event(api, infused):
    assert record(api, infused[0]["id"], as_="pharm1").status_code == 403


def test_superseding_without_a_reason_is_422(api, infused):
    event = record(api, infused[0]["id"]).get_json()
    r = api.post(f"/adverse-events/{event['id']}/supersede", event_body(grade=3), as_="inv")
    assert r.status_code == 422 and "reason" in r.get_json()["error"]["fields"]


def test_a_superseded_event_stays_in_history_and_the_correction_is_current(api, infused):
    subject, lot, _ = infused
    old = record(api, subject["id"]).get_json()
    r = api.post(f"/adverse-events/{old['id']}/supersede", event_body(grade=3, reason="grade misread"), as_="inv")
    assert r.status_code == 201, r.get_json()
    listing = api.get(f"/subjects/{subject['id']}/adverse-events", as_="pharm1").get_json()
    assert [e["grade"] for e in listing["events"]] == [3]
    assert [(e["id"], e["grade"], e["superseded_by_id"]) for e in listing["superseded"]] == [
        (old["id"], 2, r.get_json()["id"])]
    assert api.post(f"/adverse-events/{old['id']}/supersede", event_body(reason="again"), as_="inv").status_code == 409


def test_the_lot_lists_every_event_after_it(api, infused):
    subject, lot, _ = infused
    record(api, subject["id"], term="Fever")
    listing = api.get(f"/lots/{lot['id']}/adverse-events", as_="qa").get_json()
    assert [e["term"] for e in listing["events"]] == ["Fever"]


def test_recording_and_superseding_write_audit_rows(api, infused):
    old = record(api, infused[0]["id"]).get_json()
    api.post(f"/adverse-events/{old['id']}/supersede", event_body(reason="typo"), as_="inv")
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "adverse_events")
                                 .order_by(AuditEntry.seq)).all()
    assert actions == ["adverse_event.recorded", "adverse_event.recorded", "adverse_event.superseded"]
    assert api.get("/audit/verify", as_="qa").get_json()["ok"] is True


def test_infusion_reactions_become_adverse_events_of_the_subject(api, study):
    lot = released_lot(api)
    subject = enrol(api, study["id"], code="S-002")
    infuse(api, subject, lot["id"], reactions=["Chills at 10 min"])
    events = api.get(f"/subjects/{subject['id']}/adverse-events", as_="inv").get_json()["events"]
    assert [(e["term"], e["grade"], e["serious"], e["relatedness"], e["outcome"], e["from_infusion"], e["lot_id"])
            for e in events] == [("Chills at 10 min", 1, False, "possible", "unknown", True, lot["id"])]


def test_proceed_is_refused_naming_a_serious_related_event(api, study, infused):
    event = record(api, infused[0]["id"], term="Anaphylaxis", grade=4, serious=True, relatedness="probable")
    r = review(api, study["id"], "proceed")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "serious_related_events"
    assert "Anaphylaxis" in r.get_json()["error"]["message"]
    assert [e["id"] for e in r.get_json()["adverse_events"]] == [event.get_json()["id"]]


def test_a_serious_unrelated_event_does_not_block_proceed(api, study, infused):
    record(api, infused[0]["id"], term="Fall", grade=3, serious=True, relatedness="unrelated")
    assert review(api, study["id"], "proceed").status_code == 201


def test_a_correction_to_unrelated_lifts_the_bar(api, study, infused):
    old = record(api, infused[0]["id"], term="Seizure", grade=3, serious=True, relatedness="possible").get_json()
    api.post(f"/adverse-events/{old['id']}/supersede",
             event_body(term="Seizure", grade=3, serious=True, relatedness="unrelated", reason="known epilepsy"),
             as_="inv")
    assert review(api, study["id"], "proceed").status_code == 201


def test_stop_is_signable_and_no_later_cohort_opens(api, study, infused):
    record(api, infused[0]["id"], term="Anaphylaxis", grade=4, serious=True, relatedness="definite")
    assert review(api, study["id"], "stop").status_code == 201
    statuses = [c["status"] for c in api.get(f"/studies/{study['id']}", as_="inv").get_json()["cohorts"]]
    assert statuses == ["stopped", "not_open", "not_open"]
    r = api.post("/subjects", {"study_id": study["id"], "code": "S-100", "wristband": "MRN-100", "cohort": "Tier 2",
                               "weight": "70 kg", "weighed_on": site_today().isoformat()}, as_="inv")
    assert r.status_code == 409


@pytest.mark.parametrize("username", ["inv", "qa"])
def test_a_serious_event_shows_at_once_on_the_investigators_and_qas_home(app, api, infused, username):
    record(api, infused[0]["id"], term="Anaphylaxis", grade=4, serious=True, relatedness="probable")
    record(api, infused[0]["id"], term="Headache", serious=False)
    page = page_text(signed_in(app, username).get("/"))
    assert "Serious adverse events (1)" in page and "Anaphylaxis — subject S-001, grade 4, probable" in page
    assert "Headache" not in page
