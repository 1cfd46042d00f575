"""The bedside check refuses, with its reasons, and moves nothing (SPEC §11)."""
import datetime as dt
import json

from sqlalchemy import func, select

from lims.chainofcustody.models import BedsideCheck
from lims.extensions import db
from tests.chainofcustody.helpers import (bag_state, custody, dispense, expire_bag, failure_names, hold_lot, infuse,
                                          now, snapshot)
from tests.support import PASSWORD, bedside, prepared_dose, received_bag


def _checks(ok=None):
    db.session.expire_all()
    query = select(BedsideCheck).order_by(BedsideCheck.id)
    if ok is not None:
        query = query.where(BedsideCheck.ok.is_(ok))
    return db.session.scalars(query).all()


def test_bag_scanned_for_the_wrong_wristband_is_refused_as_right_subject(api, lot, subject, other_subject):
    bag = received_bag(api, subject["id"], lot["id"])
    before = snapshot(api, bag["code"])
    r = bedside(api, bag["scan"], other_subject["wristband"])
    assert r.status_code == 409
    body = r.get_json()
    assert body["ok"] is False
    assert failure_names(r) == {"right_subject"}
    assert "S-001" in body["failures"][0]["message"] and "S-002" in body["failures"][0]["message"]
    assert body["error"]["code"] == "bedside_check_failed"
    assert snapshot(api, bag["code"]) == before == ("received", before[1])


def test_wrong_wristband_is_recorded_as_a_near_miss(api, lot, subject, other_subject):
    bag = received_bag(api, subject["id"], lot["id"])
    assert bedside(api, bag["scan"], other_subject["wristband"]).status_code == 409
    [miss] = _checks(ok=False)
    assert miss.ok is False
    assert miss.subject_id == other_subject["id"]
    assert miss.wristband_scan == other_subject["wristband"] and miss.bag_scan == bag["scan"]
    assert miss.nurse.username == "nurse1" and miss.witness.username == "nurse2"
    assert [f["name"] for f in json.loads(miss.failures)] == ["right_subject"]
    assert _checks(ok=True) == []


def test_unknown_wristband_fails_right_subject(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    r = bedside(api, bag["scan"], "MRN-NOBODY")
    assert r.status_code == 409 and failure_names(r) == {"right_subject"}
    assert "no enrolled subject" in r.get_json()["failures"][0]["message"]
    assert bag_state(api, bag["code"]) == "received"


def test_expired_bag_fails_within_expiry(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    expire_bag(bag["code"])
    before = snapshot(api, bag["code"])
    r = bedside(api, bag["scan"], subject["wristband"])
    assert r.status_code == 409 and failure_names(r) == {"within_expiry"}
    assert snapshot(api, bag["code"]) == before
    assert len(_checks(ok=False)) == 1


def test_bag_of_a_held_lot_fails_lot_released(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    assert hold_lot(api, lot["id"])["status"] == "on_hold"
    before = snapshot(api, bag["code"])
    r = bedside(api, bag["scan"], subject["wristband"])
    assert r.status_code == 409 and failure_names(r) == {"lot_released"}
    assert "is on hold" in r.get_json()["failures"][0]["message"]  # in words, not the enum on_hold
    assert snapshot(api, bag["code"]) == before


def test_bag_already_infused_fails_not_infused(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    assert bedside(api, bag["scan"], subject["wristband"]).status_code == 200
    start = now()
    assert infuse(api, bag["code"], start, start + dt.timedelta(seconds=1)).status_code == 201
    before = snapshot(api, bag["code"])
    r = bedside(api, bag["scan"], subject["wristband"])
    assert r.status_code == 409
    assert "not_infused" in failure_names(r)
    assert failure_names(r) == {"not_infused", "bag_received"}
    assert snapshot(api, bag["code"]) == before and before[0] == "infused"


def test_unverified_bag_fails_bag_verified(api, lot, subject):
    bag = prepared_dose(api, subject["id"], lot["id"])["bag"]
    r = bedside(api, bag["scan"], subject["wristband"])
    assert r.status_code == 409
    assert {"bag_verified", "bag_received"} == failure_names(r)
    assert bag_state(api, bag["code"]) == "prepared"
    assert [e["event"] for e in custody(api, bag["code"])] == ["prepared"]


def test_dispensed_but_not_received_bag_fails_bag_received(api, lot, subject):
    from tests.support import verified_bag
    bag = verified_bag(api, subject["id"], lot["id"])
    assert dispense(api, bag["scan"]).status_code == 201
    r = bedside(api, bag["scan"], subject["wristband"])
    assert r.status_code == 409 and failure_names(r) == {"bag_received"}
    assert bag_state(api, bag["code"]) == "dispensed"


def test_every_failed_check_is_reported_at_once(api, lot, subject, other_subject):
    bag = received_bag(api, subject["id"], lot["id"])
    expire_bag(bag["code"])
    hold_lot(api, lot["id"])
    r = bedside(api, bag["scan"], other_subject["wristband"])
    assert r.status_code == 409
    assert failure_names(r) == {"right_subject", "within_expiry", "lot_released"}
    assert bag_state(api, bag["code"]) == "received"


def test_witness_who_is_the_scanning_nurse_is_403(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    before = snapshot(api, bag["code"])
    r = bedside(api, bag["scan"], subject["wristband"], witness="nurse1")
    assert r.status_code == 403
    assert r.get_json()["error"]["code"] == "segregation_of_duties"
    assert snapshot(api, bag["code"]) == before
    assert _checks() == []


def test_witness_with_a_wrong_password_is_401(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    before = snapshot(api, bag["code"])
    r = bedside(api, bag["scan"], subject["wristband"], password="not-" + PASSWORD)
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "invalid_credentials"
    assert snapshot(api, bag["code"]) == before
    assert _checks() == []


def test_unknown_witness_is_401(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    r = bedside(api, bag["scan"], subject["wristband"], witness="nobody")
    assert r.status_code == 401
    assert bag_state(api, bag["code"]) == "received" and _checks() == []


def test_witness_who_is_not_a_nurse_is_403(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    before = snapshot(api, bag["code"])
    r = bedside(api, bag["scan"], subject["wristband"], witness="pharm1")
    assert r.status_code == 403
    assert r.get_json()["error"]["code"] == "role_required"
    assert "pharm1" in r.get_json()["error"]["message"]
    assert snapshot(api, bag["code"]) == before
    assert _checks() == []


def test_pharmacist_cannot_run_the_bedside_check(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    r = bedside(api, bag["scan"], subject["wristband"], as_="pharm1")
    assert r.status_code == 403
    assert bag_state(api, bag["code"]) == "received"


def test_garbage_bag_scan_is_422(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    r = bedside(api, "]C1 not a label at all", subject["wristband"])
    assert r.status_code == 422
    assert "bag" in r.get_json()["error"]["fields"]
    assert bag_state(api, bag["code"]) == "received" and _checks() == []


def _with_wrong_check_character(scan):
    prefix, checked, product, division = scan.split(":")
    wrong = "0" if checked[-1] != "0" else "1"
    return ":".join((prefix, checked[:-1] + wrong, product, division))


def test_scan_with_a_wrong_din_check_character_is_422(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    forged = _with_wrong_check_character(bag["scan"])
    assert forged != bag["scan"]
    r = bedside(api, forged, subject["wristband"])
    assert r.status_code == 422
    assert "check character" in r.get_json()["error"]["fields"]["bag"][0]
    assert bag_state(api, bag["code"]) == "received" and _checks() == []


def test_well_formed_scan_naming_no_bag_is_404(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    ghost = bag["scan"].rsplit(":", 1)[0] + ":B999"
    r = bedside(api, ghost, subject["wristband"])
    assert r.status_code == 404
    assert r.get_json()["error"]["code"] == "bag_not_found"
    assert bag_state(api, bag["code"]) == "received" and _checks() == []


def test_bare_bag_code_is_accepted_as_a_scan(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    r = bedside(api, bag["code"], subject["wristband"])
    assert r.status_code == 200 and r.get_json()["ok"] is True
    assert bag_state(api, bag["code"]) == "bedside_verified"


def test_second_bedside_check_of_a_verified_bag_is_refused(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    assert bedside(api, bag["scan"], subject["wristband"]).status_code == 200
    r = bedside(api, bag["scan"], subject["wristband"])
    assert r.status_code == 409 and failure_names(r) == {"bag_received"}
    events = [e["event"] for e in custody(api, bag["code"])]
    assert events.count("bedside_verified") == 1
    assert db.session.scalar(select(func.count()).select_from(BedsideCheck)) == 2
