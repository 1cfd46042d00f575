"""The infusion record: its times lie after the bedside check, not in the future, end not before start (SPEC §11)."""
import datetime as dt

from sqlalchemy import func, select

from lims.chainofcustody.models import Infusion
from lims.extensions import db
from tests.chainofcustody.helpers import infuse, now, snapshot
from tests.support import PASSWORD, bedside, received_bag, sig


def _checked_bag(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    assert bedside(api, bag["scan"], subject["wristband"]).status_code == 200
    return bag


def _infusions():
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Infusion))


def test_infusion_ending_before_it_starts_is_422(api, lot, subject):
    bag = _checked_bag(api, lot, subject)
    before = snapshot(api, bag["code"])
    start = now()
    r = infuse(api, bag["code"], start, start - dt.timedelta(seconds=30))
    assert r.status_code == 422
    assert "completed_at" in r.get_json()["error"]["fields"]
    assert snapshot(api, bag["code"]) == before and before[0] == "bedside_verified"
    assert _infusions() == 0


def test_infusion_starting_in_the_future_is_422(api, lot, subject):
    bag = _checked_bag(api, lot, subject)
    before = snapshot(api, bag["code"])
    start = now() + dt.timedelta(hours=1)
    r = infuse(api, bag["code"], start, start + dt.timedelta(minutes=30))
    assert r.status_code == 422
    assert "future" in r.get_json()["error"]["fields"]["started_at"][0]
    assert snapshot(api, bag["code"]) == before
    assert _infusions() == 0


def test_infusion_within_the_clock_skew_is_accepted(api, lot, subject):
    bag = _checked_bag(api, lot, subject)
    start = now()
    r = infuse(api, bag["code"], start, start + dt.timedelta(minutes=3))
    assert r.status_code == 201, r.get_json()


def test_infusion_before_the_bedside_check_is_422(api, lot, subject):
    bag = _checked_bag(api, lot, subject)
    before = snapshot(api, bag["code"])
    r = infuse(api, bag["code"], now() - dt.timedelta(minutes=20), now() - dt.timedelta(minutes=10))
    assert r.status_code == 422
    assert "bedside check" in r.get_json()["error"]["fields"]["started_at"][0]
    assert snapshot(api, bag["code"]) == before
    assert _infusions() == 0


def test_infusion_without_a_passed_bedside_check_is_409(api, lot, subject, other_subject):
    bag = received_bag(api, subject["id"], lot["id"])
    assert bedside(api, bag["scan"], other_subject["wristband"]).status_code == 409  # a near miss, not a pass
    before = snapshot(api, bag["code"])
    start = now()
    r = infuse(api, bag["code"], start, start + dt.timedelta(seconds=1))
    assert r.status_code == 409
    body = r.get_json()
    assert body["status"] == "received" and "received" in body["error"]["message"]
    assert snapshot(api, bag["code"]) == before
    assert _infusions() == 0


def test_infusion_with_a_wrong_signature_is_401(api, lot, subject):
    bag = _checked_bag(api, lot, subject)
    before = snapshot(api, bag["code"])
    start = now()
    r = infuse(api, bag["code"], start, start + dt.timedelta(seconds=1), signature=sig("not-" + PASSWORD))
    assert r.status_code == 401
    assert snapshot(api, bag["code"]) == before
    assert _infusions() == 0


def test_infusing_more_than_the_bag_holds_is_422(api, lot, subject):
    bag = _checked_bag(api, lot, subject)
    start = now()
    r = infuse(api, bag["code"], start, start + dt.timedelta(seconds=1), volume="50 mL")
    assert r.status_code == 422 and "volume_infused" in r.get_json()["error"]["fields"]
    assert snapshot(api, bag["code"])[0] == "bedside_verified"


def test_infusion_volume_of_the_wrong_dimension_is_422(api, lot, subject):
    bag = _checked_bag(api, lot, subject)
    start = now()
    r = infuse(api, bag["code"], start, start + dt.timedelta(seconds=1), volume="10 kg")
    assert r.status_code == 422 and "volume_infused" in r.get_json()["error"]["fields"]
    assert snapshot(api, bag["code"])[0] == "bedside_verified"


def test_infusion_of_an_unknown_bag_is_404(api, lot, subject):
    start = now()
    r = infuse(api, f"{lot['din']}-S1234-B999", start, start)
    assert r.status_code == 404


def test_pharmacist_cannot_record_an_infusion(api, lot, subject):
    bag = _checked_bag(api, lot, subject)
    start = now()
    r = infuse(api, bag["code"], start, start + dt.timedelta(seconds=1), as_="pharm1")
    assert r.status_code == 403
    assert snapshot(api, bag["code"])[0] == "bedside_verified"


def test_infusion_of_a_bag_whose_lot_was_held_after_the_bedside_check_is_409(api, lot, subject):
    from tests.chainofcustody.helpers import hold_lot
    bag = _checked_bag(api, lot, subject)
    hold_lot(api, lot["id"])
    start = now()
    r = infuse(api, bag["code"], start, start + dt.timedelta(seconds=1))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "lot_blocked"
    assert snapshot(api, bag["code"])[0] == "bedside_verified"
    assert _infusions() == 0


def test_an_infusion_cannot_start_before_the_bag_was_thawed(api, lot, subject):
    from lims.doses.models import Bag
    bag = _checked_bag(api, lot, subject)
    row = db.session.scalar(select(Bag).where(Bag.code == bag["code"]))
    row.thawed_at = now() - dt.timedelta(minutes=1)  # a thaw recorded just before the bag was carried up
    db.session.commit()
    before = snapshot(api, bag["code"])
    r = infuse(api, bag["code"], now() - dt.timedelta(minutes=3), now())  # within the skew of the bedside check
    assert r.status_code == 422
    assert "before the bag was thawed" in r.get_json()["error"]["fields"]["started_at"][0]
    assert snapshot(api, bag["code"]) == before
    assert _infusions() == 0
