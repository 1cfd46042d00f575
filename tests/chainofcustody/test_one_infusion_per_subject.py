"""One infusion per subject (SPEC §6, §11): a second bag of an infused subject fails the bedside check, and its
infusion record is refused by name, whatever let that bag reach the ward (planning refuses it now, tests/doses)."""
import datetime as dt

from sqlalchemy import func, select, update

from lims.audit.models import AuditEntry
from lims.auth.models import Signature
from lims.chainofcustody.models import BedsideCheck, CustodyEvent, Infusion
from lims.doses.models import Bag
from lims.extensions import db
from lims.studies.models import FollowUpVisit
from tests.chainofcustody.helpers import failure_names, infuse, now, snapshot
from tests.support import bedside, received_bag


def _set_status(code, status):
    db.session.execute(update(Bag).where(Bag.code == code).values(status=status))
    db.session.commit()


def two_bags_on_the_ward(api, subject, lot):
    """Two received bags of one subject, as a returned bag re-dispensed beside a second preparation left them before
    planning refused it: the first bag is set aside as discarded, straight in the database, while the second is made,
    then put back."""
    first = received_bag(api, subject["id"], lot["id"])
    _set_status(first["code"], "discarded")
    second = received_bag(api, subject["id"], lot["id"])
    _set_status(first["code"], "received")
    return first, second


def _infused(api, subject, bag):
    assert bedside(api, bag["scan"], subject["wristband"]).status_code == 200
    start = now() - dt.timedelta(minutes=1)
    r = infuse(api, bag["code"], start, start + dt.timedelta(seconds=30))
    assert r.status_code == 201, r.get_json()


def _counts():
    db.session.expire_all()
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Infusion, BedsideCheck, CustodyEvent, Signature, FollowUpVisit, AuditEntry)}


def test_the_bedside_check_of_a_second_bag_after_the_subject_was_infused_is_a_409_stop(api, lot, subject):
    first, second = two_bags_on_the_ward(api, subject, lot)
    _infused(api, subject, first)
    before = snapshot(api, second["code"])

    r = bedside(api, second["scan"], subject["wristband"])

    assert r.status_code == 409 and r.get_json()["ok"] is False
    assert failure_names(r) == {"subject_not_yet_infused"}
    [failure] = r.get_json()["failures"]
    assert failure["message"] == ("subject S-001 was already infused from another bag: do not infuse this one; "
                                  "return it to pharmacy")
    assert snapshot(api, second["code"]) == before and before[0] == "received"  # nothing moved
    db.session.expire_all()
    near_miss = db.session.scalar(select(BedsideCheck).where(BedsideCheck.bag_id == second["id"]))
    assert near_miss.ok is False and "subject_not_yet_infused" in near_miss.failures


def test_the_check_of_a_subject_never_infused_passes_it(api, lot, subject):
    first, second = two_bags_on_the_ward(api, subject, lot)
    r = bedside(api, second["scan"], subject["wristband"])
    assert r.status_code == 200
    assert {"name": "subject_not_yet_infused", "passed": True} in r.get_json()["checks"]


def test_an_infused_bag_checked_again_fails_as_itself_not_as_another_bag(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    _infused(api, subject, bag)
    r = bedside(api, bag["scan"], subject["wristband"])
    assert r.status_code == 409 and "subject_not_yet_infused" not in failure_names(r)
    assert "not_infused" in failure_names(r)


def test_the_infusion_record_of_a_second_bag_of_an_infused_subject_is_refused_by_name(api, lot, subject):
    first, second = two_bags_on_the_ward(api, subject, lot)
    # both checked at the bedside before either was infused: the record is the last guard
    assert bedside(api, second["scan"], subject["wristband"]).status_code == 200
    _infused(api, subject, first)
    before, counts = snapshot(api, second["code"]), _counts()

    start = now() - dt.timedelta(seconds=30)
    r = infuse(api, second["code"], start, start + dt.timedelta(seconds=20))

    assert r.status_code == 409
    error = r.get_json()["error"]
    assert error["code"] == "subject_already_infused"
    assert error["message"].startswith(f"subject S-001 was already infused from bag {first['code']} at ")
    assert error["message"].endswith(f"a subject receives one dose; do not infuse bag {second['code']}, return it "
                                     "to pharmacy")
    assert r.get_json()["infused_bag"] == first["code"]
    assert snapshot(api, second["code"]) == before and before[0] == "bedside_verified"
    assert _counts() == counts  # no infusion, event, signature, visit or audit row


def test_the_bedside_page_shows_stop_in_words_for_a_second_bag_of_an_infused_subject(app, users, api, lot, subject):
    from tests.support import PageClient, page_text
    first, second = two_bags_on_the_ward(api, subject, lot)
    _infused(api, subject, first)
    nurse = PageClient(app).sign_in("nurse1")
    r = nurse.post("/bedside", {"wristband": subject["wristband"], "bag": second["scan"]})  # the scans, no witness
    assert r.status_code == 303
    stop = nurse.get(r.headers["Location"])
    page, said = stop.get_data(as_text=True), page_text(stop)
    assert '<h1 id="verdict">STOP</h1>' in page
    assert "Subject never infused before (one dose per subject)" in said
    assert "subject S-001 was already infused from another bag: do not infuse this one; return it to pharmacy" in said
    assert 'name="witness.password"' not in page  # stopped before any witness was asked


def test_the_database_refuses_a_second_infusion_row_of_one_subject(api, lot, subject):
    """The unique index on infusions.subject_id (migration 0012): two records for one subject cannot both commit,
    whatever path wrote them."""
    import pytest
    from sqlalchemy import inspect
    from sqlalchemy.exc import IntegrityError
    first, second = two_bags_on_the_ward(api, subject, lot)
    _infused(api, subject, first)
    [index] = [i for i in inspect(db.engine).get_indexes("infusions") if i["column_names"] == ["subject_id"]]
    assert index["name"] == "ix_infusions_subject_id" and index["unique"]
    earlier = db.session.scalar(select(Infusion).where(Infusion.bag_id == first["id"]))
    db.session.add(Infusion(bag_id=second["id"], subject_id=earlier.subject_id,
                            bedside_check_id=earlier.bedside_check_id, started_at=earlier.started_at,
                            completed_at=earlier.completed_at, volume_infused_ml=1.0, reactions="[]",
                            nurse_id=earlier.nurse_id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Infusion)) == 1
