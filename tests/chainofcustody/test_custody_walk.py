"""A bag walked from the freezer to the vein: every move is a custody event with who, when and where (SPEC §10, §11)."""
import datetime as dt

from lims.chainofcustody.models import BedsideCheck, Infusion
from lims.extensions import db
from tests.chainofcustody.helpers import (BEDSIDE_CHECKS, bag_state, custody, dispense, infuse, now, receive)
from tests.support import bedside, label, prepared_dose, verify


def _container_states(api, lot_id):
    r = api.get(f"/lots/{lot_id}", as_="pharm1")
    assert r.status_code == 200
    return [c["status"] for c in r.get_json()["containers"]]


def test_bag_walks_from_storage_to_infused_with_its_custody_trail(api, lot, subject):
    assert _container_states(api, lot["id"]) == ["in_storage"] * 10

    prepared = prepared_dose(api, subject["id"], lot["id"])
    bag = prepared["bag"]
    assert bag["status"] == "prepared"
    assert bag["code"] == f"{lot['din']}-S1234-B001"
    assert bag["scan"] == f"MSC1:{lot['din']}{lot['check_character']}:S1234:B001"
    states = _container_states(api, lot["id"])
    assert states.count("thawed") == 3 and states.count("in_storage") == 7  # 10.1 mL from 5 mL containers

    r = label(api, bag["code"])  # printed once prepared: the label is on the bag for the second pharmacist
    assert r.status_code == 200 and r.mimetype == "application/pdf"

    r = verify(api, prepared)
    assert r.status_code == 200, r.get_json()
    assert bag_state(api, bag["code"]) == "verified"

    r = dispense(api, bag["scan"])
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["status"] == "dispensed" and r.get_json()["holder"] == "pharm1"
    assert r.get_json()["location"] == "Research pharmacy"

    r = receive(api, bag["scan"])
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["status"] == "received" and r.get_json()["holder"] == "nurse1"
    assert r.get_json()["location"] == "Ward 4"

    r = bedside(api, bag["scan"], subject["wristband"])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["ok"] is True
    assert {c["name"] for c in body["checks"]} == BEDSIDE_CHECKS
    assert all(c["passed"] is True for c in body["checks"])
    assert bag_state(api, bag["code"]) == "bedside_verified"

    started = now()
    completed = started + dt.timedelta(seconds=1)
    r = infuse(api, bag["code"], started, completed)
    assert r.status_code == 201, r.get_json()
    infusion = r.get_json()
    assert infusion["bag"] == bag["code"]
    assert infusion["volume_infused"] == {"value": 10.1, "unit": "mL"}
    assert infusion["signature"]["meaning"] == "administered"
    assert infusion["signature"]["printed_name"] == "Nurse1 Person"
    assert bag_state(api, bag["code"]) == "infused"

    trail = custody(api, bag["code"])
    assert [e["event"] for e in trail] == ["prepared", "verified", "dispensed", "received", "bedside_verified",
                                           "infusing", "infused"]
    assert [e["by"] for e in trail] == ["pharm1", "pharm2", "pharm1", "nurse1", "nurse1", "nurse1", "nurse1"]
    assert [e["from"] for e in trail] == [None, "prepared", "verified", "dispensed", "received",
                                          "bedside_verified", "infusing"]
    assert [e["location"] for e in trail[:4]] == ["Pharmacy", "Pharmacy", "Research pharmacy", "Ward 4"]
    assert all(e["location"] for e in trail)
    times = [dt.datetime.fromisoformat(e["at"].replace("Z", "+00:00")) for e in trail]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    assert trail[2]["scanned"] == bag["scan"] and trail[3]["scanned"] == bag["scan"]
    assert trail[3]["holder"] == "nurse1"


def test_passed_bedside_check_is_recorded_with_nurse_and_witness(api, lot, subject):
    from tests.support import received_bag
    bag = received_bag(api, subject["id"], lot["id"])
    r = bedside(api, bag["scan"], subject["wristband"])
    assert r.status_code == 200, r.get_json()
    db.session.expire_all()
    check = db.session.get(BedsideCheck, r.get_json()["check_id"])
    assert check.ok is True and check.failures is None
    assert check.nurse.username == "nurse1" and check.witness.username == "nurse2"
    assert check.subject_id == subject["id"] and check.wristband_scan == subject["wristband"]


def test_infusion_record_keeps_times_volume_and_reactions(api, lot, subject):
    from tests.support import received_bag
    bag = received_bag(api, subject["id"], lot["id"])
    assert bedside(api, bag["scan"], subject["wristband"]).status_code == 200
    started = now()
    completed = started + dt.timedelta(seconds=30)
    r = infuse(api, bag["code"], started, completed, volume="9.5 mL", reactions=["mild chills"])
    assert r.status_code == 201, r.get_json()
    db.session.expire_all()
    infusion = db.session.scalar(db.select(Infusion))
    assert infusion.subject_id == subject["id"] and infusion.volume_infused_ml == 9.5
    assert infusion.reactions == '["mild chills"]'
    assert abs((infusion.started_at.replace(tzinfo=dt.timezone.utc) - started).total_seconds()) < 0.001
    assert abs((infusion.completed_at.replace(tzinfo=dt.timezone.utc) - completed).total_seconds()) < 0.001
