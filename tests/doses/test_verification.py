"""The second pharmacist's independent check (SPEC §8): the label is printed once the dose is prepared and put on
the bag; the verifier scans it and enters the volume measured in the bag. A label naming another bag, or a volume
more than one volume step from the plan, is refused (409) and the attempt is recorded."""
import pytest
from sqlalchemy import select

from lims.audit.models import AuditEntry
from lims.chainofcustody.models import CustodyEvent
from lims.doses.models import DoseVerification
from lims.extensions import db
from tests.support import enrol, expansion_study, label, labelled_dose, prepared_dose, released_lot, sig, verify


@pytest.fixture
def study(api):
    return expansion_study(api)


@pytest.fixture
def lot(api):
    return released_lot(api)


@pytest.fixture
def dose(api, study, lot):
    """Subject S-001, 160 lb at 1.5e6 cell/kg: a 10.1 mL bag, its label printed."""
    subject = enrol(api, study["id"], code="S-001", cohort="Expansion", weight="160 lb")
    return labelled_dose(api, subject["id"], lot["id"])


def dose_state(api, dose_id):
    d = api.get(f"/doses/{dose_id}", as_="pharm1").get_json()
    return d["status"], d["bag"]["status"]


def attempts():
    db.session.expire_all()
    return db.session.scalars(select(DoseVerification).order_by(DoseVerification.id)).all()


def test_a_second_pharmacist_verifies_by_scanning_the_label_and_measuring_the_volume(api, dose):
    r = verify(api, dose, measured_volume="10.1 mL")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "verified" and r.get_json()["bag"]["status"] == "verified"
    [attempt] = attempts()
    assert (attempt.ok, attempt.measured_volume_ml, attempt.planned_volume_ml) == (True, 10.1, 10.1)
    assert attempt.bag_scan == dose["bag"]["scan"] and attempt.scanned_bag_code == dose["bag"]["code"]


def test_the_bare_bag_code_is_accepted_as_the_scan(api, dose):
    assert verify(api, dose, bag=dose["bag"]["code"]).status_code == 200


def test_a_measured_volume_one_step_from_the_plan_passes(api, dose):
    assert verify(api, dose, measured_volume="10.2 mL").status_code == 200


def test_a_measured_volume_in_another_unit_is_converted(api, dose):
    assert verify(api, dose, measured_volume="0.0101 L").status_code == 200


def test_a_measured_volume_more_than_one_step_off_is_409_and_recorded(api, dose):
    r = verify(api, dose, measured_volume="10.3 mL")
    assert r.status_code == 409
    body = r.get_json()
    assert body["error"]["code"] == "measured_volume_off_plan"
    assert "10.3 mL" in body["error"]["message"] and "10.1 mL" in body["error"]["message"]
    assert [f["name"] for f in body["failures"]] == ["measured_volume"]
    assert dose_state(api, dose["id"]) == ("prepared", "prepared")
    [attempt] = attempts()
    assert (attempt.ok, attempt.measured_volume_ml) == (False, 10.3)
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("dose.verif%"))).all()
    assert actions == ["dose.verification_refused"]


def test_a_label_naming_another_bag_is_409_and_recorded(api, study, lot, dose):
    other = enrol(api, study["id"], code="S-002", cohort="Expansion", weight="70 kg")
    other_dose = prepared_dose(api, other["id"], lot["id"])
    r = verify(api, dose, bag=other_dose["bag"]["scan"])
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "wrong_bag"
    assert other_dose["bag"]["code"] in r.get_json()["error"]["message"]
    assert dose_state(api, dose["id"]) == ("prepared", "prepared")
    [attempt] = attempts()
    assert (attempt.ok, attempt.scanned_bag_code) == (False, other_dose["bag"]["code"])


def test_both_failures_are_named_when_both_fail(api, dose):
    r = verify(api, dose, bag=f"{dose['bag']['code'][:-1]}9", measured_volume="8 mL")
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "verification_refused"
    assert [f["name"] for f in r.get_json()["failures"]] == ["right_bag", "measured_volume"]


def test_a_refused_attempt_leaves_the_dose_verifiable(api, dose):
    assert verify(api, dose, measured_volume="9 mL").status_code == 409
    assert verify(api, dose, measured_volume="10.1 mL").status_code == 200
    assert [a.ok for a in attempts()] == [False, True]


def test_an_unreadable_scan_is_422_and_records_nothing(api, dose):
    r = verify(api, dose, bag="not a label")
    assert r.status_code == 422 and "bag" in r.get_json()["error"]["fields"]
    assert attempts() == []


def test_the_measured_volume_is_required(api, dose):
    r = api.post(f"/doses/{dose['id']}/verify", {"signature": sig(), "bag": dose["bag"]["scan"]}, as_="pharm2")
    assert r.status_code == 422 and "measured_volume" in r.get_json()["error"]["fields"]


def test_the_label_scan_is_required(api, dose):
    r = api.post(f"/doses/{dose['id']}/verify", {"signature": sig(), "measured_volume": "10.1 mL"}, as_="pharm2")
    assert r.status_code == 422 and "bag" in r.get_json()["error"]["fields"]


def test_a_measured_volume_of_the_wrong_dimension_is_422(api, dose):
    r = verify(api, dose, measured_volume="10.1 kg")
    assert r.status_code == 422 and "measured_volume" in r.get_json()["error"]["fields"]


def test_a_dose_whose_label_is_not_printed_cannot_be_verified(api, study, lot):
    subject = enrol(api, study["id"], code="S-003", cohort="Expansion", weight="160 lb")
    dose = prepared_dose(api, subject["id"], lot["id"])
    r = verify(api, dose)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "label_not_printed"
    assert attempts() == []


def test_the_preparer_cannot_verify(api, dose):
    r = verify(api, dose, as_="pharm1")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "segregation_of_duties"
    assert dose_state(api, dose["id"]) == ("prepared", "prepared")


def test_a_wrong_signature_password_is_401_and_records_no_attempt(api, dose):
    r = api.post(f"/doses/{dose['id']}/verify", {"signature": sig("not-the-password"), "bag": dose["bag"]["scan"],
                                                 "measured_volume": "10.1 mL"}, as_="pharm2")
    assert r.status_code == 401
    assert attempts() == [] and dose_state(api, dose["id"]) == ("prepared", "prepared")


def test_a_planned_dose_cannot_be_verified(api, study, lot):
    subject = enrol(api, study["id"], code="S-004", cohort="Expansion")
    r = api.post("/doses", {"subject_id": subject["id"], "lot_id": lot["id"]}, as_="pharm1")
    planned = r.get_json()
    r = api.post(f"/doses/{planned['id']}/verify", {"signature": sig(), "bag": "W123426000001-S1234-B001",
                                                    "measured_volume": "10.1 mL"}, as_="pharm2")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "dose_not_prepared"


def test_a_verified_dose_cannot_be_verified_again(api, dose):
    assert verify(api, dose).status_code == 200
    r = verify(api, dose)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "dose_not_prepared"


def test_the_verified_custody_event_keeps_the_scan_and_how_it_was_entered(api, dose):
    assert verify(api, dose, bag_entry="typed").status_code == 200
    event = db.session.scalar(select(CustodyEvent).where(CustodyEvent.event == "verified"))
    assert (event.scanned, event.scan_entry) == (dose["bag"]["scan"], "typed")
    assert attempts()[0].bag_entry == "typed"


def test_the_label_printed_before_verification_is_the_original(api, dose):
    assert verify(api, dose).status_code == 200
    r = label(api, dose["bag"]["code"])
    assert r.status_code == 422 and "reprint_reason" in r.get_json()["error"]["fields"]


def test_a_bag_of_a_lot_on_hold_cannot_be_verified_until_qa_releases_the_lot(api, lot, dose):
    from tests.chainofcustody.helpers import hold_lot
    hold_lot(api, lot["id"])
    r = verify(api, dose)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "lot_blocked"
    assert dose_state(api, dose["id"]) == ("prepared", "prepared") and attempts() == []
    hold_lot(api, lot["id"], action="release", reason="investigation closed: culture negative")
    assert verify(api, dose).status_code == 200
