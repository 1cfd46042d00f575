"""One dose per subject (SPEC §6, §7.6, §11): no second dose is planned or prepared while the subject was infused or
holds a bag in circulation, a returned bag included (it may be dispensed again). A returned bag must be discarded,
with its reason, before another dose is prepared: a returned bag is re-issued or discarded, never both."""
import datetime as dt

import pytest
from sqlalchemy import func, select, update

from lims.audit.models import AuditEntry
from lims.doses.models import Bag, Dose
from lims.extensions import db
from lims.lots.models import Container
from tests.support import (PASSWORD, bedside, enrol, expansion_study, planned_dose, prepared_dose, received_bag,
                           released_lot, sig, signed_in)
from tests.support import page_text as text


@pytest.fixture
def study(api):
    return expansion_study(api)


@pytest.fixture
def subject(api, study):
    return enrol(api, study["id"], code="S-001", cohort="Expansion", weight="160 lb")


@pytest.fixture
def lot(api):
    return released_lot(api, containers=10)


def plan(api, subject_id, lot_id):
    return api.post("/doses", {"subject_id": subject_id, "lot_id": lot_id}, as_="pharm1")


def prepare(api, dose_id):
    thawed = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=15)).isoformat()
    return api.post(f"/doses/{dose_id}/prepare", {"signature": sig(), "thawed_at": thawed}, as_="pharm1")


def move(api, scan, event, as_, **extra):
    r = api.post("/custody/events", {"bag": scan, "event": event, "location": "Research pharmacy", **extra}, as_=as_)
    assert r.status_code == 201, r.get_json()


def returned_bag(api, subject, lot):
    bag = received_bag(api, subject["id"], lot["id"])
    move(api, bag["scan"], "returned", "nurse1")  # the patient was not ready
    return bag


def infused_bag(api, subject, lot):
    bag = received_bag(api, subject["id"], lot["id"])
    assert bedside(api, bag["scan"], subject["wristband"]).status_code == 200
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    r = api.post(f"/bags/{bag['code']}/infusion", {"started_at": start.isoformat(), "completed_at": start.isoformat(),
                                                   "volume_infused": "10.1 mL", "reactions": [],
                                                   "signature": sig()}, as_="nurse1")
    assert r.status_code == 201, r.get_json()
    return bag


def leftover_plan(api, subject, lot, bag):
    """A plan of the subject made while its bag was set aside (as records made before this rule allow): the bag is
    marked discarded straight in the database for the plan, then put back as it was."""
    db.session.expire_all()
    status = db.session.scalar(select(Bag.status).where(Bag.code == bag["code"]))
    db.session.execute(update(Bag).where(Bag.code == bag["code"]).values(status="discarded"))
    db.session.commit()
    dose = planned_dose(api, subject["id"], lot["id"])
    db.session.execute(update(Bag).where(Bag.code == bag["code"]).values(status=status))
    db.session.commit()
    return dose


def rows():
    """Doses, bags, containers in storage and audit rows: what a refused plan or preparation must leave as it was."""
    db.session.expire_all()
    count = lambda model, *where: db.session.scalar(select(func.count()).select_from(model).where(*where))  # noqa: E731
    return {"doses": count(Dose), "bags": count(Bag), "in_storage": count(Container, Container.status == "in_storage"),
            "audit": count(AuditEntry)}


def test_a_subject_whose_bag_was_returned_cannot_be_planned_again(api, subject, lot):
    bag = returned_bag(api, subject, lot)
    before = rows()
    r = plan(api, subject["id"], lot["id"])
    assert r.status_code == 409
    error = r.get_json()["error"]
    assert error["code"] == "already_dosed" and r.get_json()["bag_status"] == "returned"
    assert error["message"] == (f"subject S-001 already has bag {bag['code']} (returned): dispense that bag again, "
                                "or discard it with a reason, before a new dose is prepared")
    assert rows() == before


def test_a_plan_left_over_beside_a_returned_bag_cannot_be_prepared(api, subject, lot):
    bag = returned_bag(api, subject, lot)
    dose = leftover_plan(api, subject, lot, bag)
    before = rows()
    r = prepare(api, dose["id"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_dosed"
    assert bag["code"] in r.get_json()["error"]["message"]
    assert rows() == before  # no bag, no container thawed, no audit row
    assert api.get(f"/doses/{dose['id']}", as_="pharm1").get_json()["status"] == "planned"


def test_once_the_returned_bag_is_discarded_the_subject_can_be_dosed_again(api, subject, lot):
    bag = returned_bag(api, subject, lot)
    move(api, bag["scan"], "discarded", "pharm1", reason="returned unused; outside its handling conditions")
    dose = planned_dose(api, subject["id"], lot["id"])
    assert prepare(api, dose["id"]).status_code == 200


def test_an_infused_subject_cannot_be_planned_again(api, subject, lot):
    bag = infused_bag(api, subject, lot)
    before = rows()
    r = plan(api, subject["id"], lot["id"])
    assert r.status_code == 409
    error = r.get_json()["error"]
    assert error["code"] == "already_infused" and r.get_json()["bag"] == bag["code"]
    assert error["message"] == (f"subject S-001 was already infused from bag {bag['code']}: a subject receives one "
                                "dose; no other can be planned or prepared")
    assert rows() == before


def test_a_plan_left_over_for_an_infused_subject_cannot_be_prepared(api, subject, lot):
    bag = infused_bag(api, subject, lot)
    db.session.expire_all()
    infused_at = db.session.scalar(select(Bag).where(Bag.code == bag["code"])).subject.infused_at
    from lims.studies.models import Subject
    db.session.execute(update(Subject).where(Subject.id == subject["id"]).values(infused_at=None))
    db.session.commit()
    dose = leftover_plan(api, subject, lot, bag)
    db.session.execute(update(Subject).where(Subject.id == subject["id"]).values(infused_at=infused_at))
    db.session.commit()
    before = rows()
    r = prepare(api, dose["id"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_infused"
    assert rows() == before


def test_a_prepared_bag_is_the_subjects_dose_until_it_is_discarded(api, subject, lot):
    dose = prepared_dose(api, subject["id"], lot["id"])
    r = plan(api, subject["id"], lot["id"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_dosed"
    assert r.get_json()["error"]["message"] == (
        f"subject S-001 already has bag {dose['bag']['code']} (prepared): that bag is the subject's dose; return "
        "and discard it before a new dose is prepared")


# --- the pages say it in words ----------------------------------------------------------------------------------

def test_the_worklist_does_not_offer_a_subject_with_a_returned_bag_and_the_plan_form_refuses_it_in_words(
        app, users, api, subject, lot):
    bag = returned_bag(api, subject, lot)
    pharm1 = signed_in(app, "pharm1")
    page = pharm1.get("/doses").get_data(as_text=True)
    assert f'name="subject_id" value="{subject["id"]}"' not in page  # not in the step "plan"
    before = rows()
    r = pharm1.post("/doses/new", {"subject_id": subject["id"], "lot_id": lot["id"]})
    assert r.status_code == 409
    assert (f"subject S-001 already has bag {bag['code']} (returned): dispense that bag again, or discard it with a "
            "reason, before a new dose is prepared") in text(r)
    assert rows() == before


def test_the_dose_page_refuses_preparing_a_second_dose_in_words(app, users, api, subject, lot):
    bag = returned_bag(api, subject, lot)
    dose = leftover_plan(api, subject, lot, bag)
    pharm1 = signed_in(app, "pharm1")
    assert (f"Preparing now would be refused: subject S-001 already has bag {bag['code']} (returned)"
            in text(pharm1.get(f"/doses/{dose['id']}")))  # warned before anything is thawed
    before = rows()
    r = pharm1.post(f"/doses/{dose['id']}/prepare", {"signature.password": PASSWORD})
    assert r.status_code == 409
    assert f"subject S-001 already has bag {bag['code']} (returned)" in text(r)
    assert rows() == before
