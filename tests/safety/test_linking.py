"""SPEC §6 biovigilance: an event is linked to the bag, lot and donor the subject *received*, so a lot lists the events
after it. A subject never infused, or an onset before the infusion's day, makes a pre-treatment event: on the
subject, unlinked, not under any lot."""
import datetime as dt

import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.safety.models import AdverseEvent
from lims.timeutil import site_today
from tests.safety.test_adverse_events import SMALL, event_body, infuse, record
from tests.support import enrol, make_study, page_text, prepared_dose, received_bag, released_lot, signed_in



def long_ago():
    return (site_today() - dt.timedelta(days=2000)).isoformat()


@pytest.fixture
def study(api):
    return make_study(api, code="AE-L", cohorts=SMALL)


@pytest.fixture
def lot(api):
    return released_lot(api)


def links(event):
    return (event["bag_id"], event["lot_id"], event["donor_id"], event["pre_treatment"])


def lot_terms(api, lot_id):
    return [e["term"] for e in api.get(f"/lots/{lot_id}/adverse-events", as_="qa").get_json()["events"]]


def test_an_event_of_a_subject_whose_bag_was_only_received_is_not_linked_to_its_lot(api, study, lot):
    subject = enrol(api, study["id"], code="S-001")
    received_bag(api, subject["id"], lot["id"])
    event = record(api, subject["id"], term="Headache before infusion").get_json()
    assert links(event) == (None, None, None, True)
    assert lot_terms(api, lot["id"]) == []


def test_an_event_of_a_subject_whose_bag_was_only_prepared_is_not_linked(api, study, lot):
    subject = enrol(api, study["id"], code="S-001")
    prepared_dose(api, subject["id"], lot["id"])
    assert links(record(api, subject["id"], onset_on=long_ago()).get_json()) == (None, None, None, True)
    assert lot_terms(api, lot["id"]) == []


def test_an_onset_before_the_infusion_day_stays_on_the_subject_unlinked(api, study, lot):
    subject = enrol(api, study["id"], code="S-001")
    infuse(api, subject, lot["id"])
    before = (site_today() - dt.timedelta(days=1)).isoformat()
    event = record(api, subject["id"], term="Migraine", onset_on=before).get_json()
    assert links(event) == (None, None, None, True)
    assert lot_terms(api, lot["id"]) == []
    listed = api.get(f"/subjects/{subject['id']}/adverse-events", as_="inv").get_json()["events"]
    assert [(e["term"], e["pre_treatment"]) for e in listed] == [("Migraine", True)]


def test_an_onset_on_the_infusion_day_is_linked_to_the_infused_bag_lot_and_donor(api, study, lot):
    subject = enrol(api, study["id"], code="S-001")
    bag = infuse(api, subject, lot["id"])
    event = record(api, subject["id"], term="Fever").get_json()
    assert (event["lot_id"], event["donor_id"], event["pre_treatment"]) == (lot["id"], lot["donor"]["id"], False)
    assert db.session.scalar(select(AdverseEvent.bag_id).where(AdverseEvent.id == event["id"])) == bag["id"]
    assert lot_terms(api, lot["id"]) == ["Fever"]


def test_an_onset_years_before_enrolment_is_accepted_as_a_pre_treatment_event(api, study, lot):
    subject = enrol(api, study["id"], code="S-001")
    infuse(api, subject, lot["id"])
    r = record(api, subject["id"], term="Old fracture", onset_on=long_ago())
    assert r.status_code == 201 and links(r.get_json()) == (None, None, None, True)
    assert lot_terms(api, lot["id"]) == []


def test_a_correction_of_the_onset_links_or_unlinks_the_event_by_the_new_date(api, study, lot):
    subject = enrol(api, study["id"], code="S-001")
    infuse(api, subject, lot["id"])
    first = record(api, subject["id"], term="Rash").get_json()
    assert first["lot_id"] == lot["id"]
    earlier = api.post(f"/adverse-events/{first['id']}/supersede",
                       event_body(term="Rash", onset_on=long_ago(), reason="began before the trial"), as_="inv")
    assert earlier.status_code == 201 and links(earlier.get_json()) == (None, None, None, True)
    assert lot_terms(api, lot["id"]) == []
    later = api.post(f"/adverse-events/{earlier.get_json()['id']}/supersede",
                     event_body(term="Rash", reason="date misread after all"), as_="inv")
    assert later.get_json()["lot_id"] == lot["id"] and lot_terms(api, lot["id"]) == ["Rash"]


def test_the_subject_page_says_a_pre_treatment_event_is_not_linked(app, api, study, lot):
    subject = enrol(api, study["id"], code="S-001")
    record(api, subject["id"], term="Migraine", onset_on=long_ago())
    page = page_text(signed_in(app, "inv").get(f"/subjects/{subject['id']}"))
    assert "Migraine (pre-treatment: onset before the infusion, not linked to a lot)" in page


def test_the_lot_page_says_earlier_events_stay_on_the_subject(app, api, study, lot):
    page = page_text(signed_in(app, "qa").get(f"/lots/{lot['id']}"))
    assert "an earlier one is a pre-treatment event and stays on the subject's page" in page
