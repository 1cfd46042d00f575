"""Scanned custody moves refused with their reasons; nothing moves (SPEC §10)."""
from tests.chainofcustody.helpers import dispense, expire_bag, hold_lot, move, receive, snapshot
from tests.support import prepared_dose, verified_bag


def test_dispensing_an_expired_bag_is_409(api, lot, subject):
    bag = verified_bag(api, subject["id"], lot["id"])
    expire_bag(bag["code"])
    before = snapshot(api, bag["code"])
    r = dispense(api, bag["scan"])
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "bag_expired"
    assert snapshot(api, bag["code"]) == before and before[0] == "verified"


def test_receiving_a_bag_of_a_held_lot_is_409(api, lot, subject):
    bag = verified_bag(api, subject["id"], lot["id"])
    assert dispense(api, bag["scan"]).status_code == 201
    hold_lot(api, lot["id"])
    before = snapshot(api, bag["code"])
    r = receive(api, bag["scan"])
    assert r.status_code == 409
    body = r.get_json()
    assert body["error"]["code"] == "lot_blocked" and body["lot_status"] == "on_hold"
    assert snapshot(api, bag["code"]) == before and before[0] == "dispensed"


def test_dispensing_an_unverified_bag_is_409_naming_its_state(api, lot, subject):
    bag = prepared_dose(api, subject["id"], lot["id"])["bag"]
    before = snapshot(api, bag["code"])
    r = dispense(api, bag["scan"])
    assert r.status_code == 409
    body = r.get_json()
    assert body["error"]["code"] == "invalid_transition" and body["status"] == "prepared"
    assert "prepared" in body["error"]["message"]
    assert snapshot(api, bag["code"]) == before


def test_nurse_cannot_dispense(api, lot, subject):
    bag = verified_bag(api, subject["id"], lot["id"])
    before = snapshot(api, bag["code"])
    r = dispense(api, bag["scan"], as_="nurse1")
    assert r.status_code == 403
    assert "pharmacist" in r.get_json()["error"]["message"]
    assert snapshot(api, bag["code"]) == before


def test_pharmacist_cannot_receive(api, lot, subject):
    bag = verified_bag(api, subject["id"], lot["id"])
    assert dispense(api, bag["scan"]).status_code == 201
    before = snapshot(api, bag["code"])
    r = receive(api, bag["scan"], as_="pharm2")
    assert r.status_code == 403
    assert "nurse" in r.get_json()["error"]["message"]
    assert snapshot(api, bag["code"]) == before


def test_receiving_a_verified_bag_is_409_naming_its_state(api, lot, subject):
    bag = verified_bag(api, subject["id"], lot["id"])
    before = snapshot(api, bag["code"])
    r = receive(api, bag["scan"])
    assert r.status_code == 409
    body = r.get_json()
    assert body["status"] == "verified" and "verified" in body["error"]["message"]
    assert snapshot(api, bag["code"]) == before


def test_technician_cannot_move_a_bag(api, lot, subject):
    bag = verified_bag(api, subject["id"], lot["id"])
    r = dispense(api, bag["scan"], as_="tech")
    assert r.status_code == 403
    assert snapshot(api, bag["code"])[0] == "verified"


def test_garbage_scan_of_a_custody_move_is_422(api, lot, subject):
    r = dispense(api, "hello world")
    assert r.status_code == 422 and "bag" in r.get_json()["error"]["fields"]


def test_unknown_custody_event_is_422(api, lot, subject):
    bag = verified_bag(api, subject["id"], lot["id"])
    r = move(api, bag["scan"], "bedside_verified", "nurse1")
    assert r.status_code == 422 and "event" in r.get_json()["error"]["fields"]
    assert snapshot(api, bag["code"])[0] == "verified"


def test_returned_bag_can_be_dispensed_again(api, lot, subject):
    bag = verified_bag(api, subject["id"], lot["id"])
    assert dispense(api, bag["scan"]).status_code == 201
    r = move(api, bag["scan"], "returned", "nurse1", location="Research pharmacy")
    assert r.status_code == 201 and r.get_json()["status"] == "returned"
    r = dispense(api, bag["scan"], as_="pharm2")
    assert r.status_code == 201 and r.get_json()["status"] == "dispensed"


def test_discarded_bag_cannot_move_again(api, lot, subject):
    bag = verified_bag(api, subject["id"], lot["id"])
    r = api.post("/custody/events", {"bag": bag["scan"], "event": "discarded", "location": "Pharmacy",
                                     "reason": "bag dropped"}, as_="pharm1")
    assert r.status_code == 201 and r.get_json()["status"] == "discarded"
    r = dispense(api, bag["scan"])
    assert r.status_code == 409 and r.get_json()["status"] == "discarded"
    assert snapshot(api, bag["code"])[0] == "discarded"
