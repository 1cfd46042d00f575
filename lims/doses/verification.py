"""The second pharmacist's independent check (SPEC §8).

The label prints once the dose is prepared and goes on the bag; the verifier then scans that label and measures
the volume in the bag, without being shown the planned volume first. What the check compares is what the bag
carries, not what the plan says: a label stuck on the wrong bag, or a bag drawn to the wrong volume, is caught here
rather than at the bedside. A refused attempt is kept (and audited) even though the dose does not move.
"""
import json

from flask import current_app
from sqlalchemy import select

from lims import barcodes, units
from lims.audit import services as audit
from lims.auth import services as auth
from lims.doses.models import DoseVerification
from lims.errors import Conflict, Forbidden, invalid
from lims.extensions import db
from lims.timeutil import utcnow

# A measured volume is read to the volume step: a small tolerance keeps 10.2 vs 10.1 inside one 0.1 mL step
# whatever the binary float makes of it.
_FLOAT_SLACK_ML = 1e-6
# A failed check -> (the error code when it fails alone, the request field it is about)
REFUSAL_CODES = {"right_bag": ("wrong_bag", "bag"), "measured_volume": ("measured_volume_off_plan", "measured_volume")}


def _scanned_code(scan):
    try:
        return barcodes.bag_code_from_scan(scan)
    except barcodes.ScanError as e:
        raise invalid("bag", str(e)) from None


def verification_failures(dose, bag, scanned_code, measured_ml, step_ml):
    """The named checks an attempt fails: [{name, message}], empty when the bag passes."""
    failures = []
    if scanned_code != bag.code:
        failures.append({"name": "right_bag", "message":
                         f"the label scanned names bag {scanned_code}, not this dose's bag {bag.code}: "
                         "the bag in hand is not this dose's, or carries another bag's label"})
    if abs(measured_ml - dose.volume_ml) > step_ml + _FLOAT_SLACK_ML:
        failures.append({"name": "measured_volume", "message":
                         f"the volume measured in the bag ({measured_ml:g} mL) is more than {step_ml:g} mL from "
                         f"the plan ({dose.volume_ml:.1f} mL): do not release this bag; re-measure, or prepare "
                         "the dose again"})
    return failures


def verify_dose(user, dose_id, signature, bag_scan, measured_volume, bag_entry=None):
    """Signed by a second pharmacist once the label is on the bag: the scan must name this dose's bag and the
    measured volume be within one volume step of the plan, else 409 and the attempt is recorded."""
    from lims.doses.services import get_dose
    auth.authenticate_signer(user, signature)
    dose = get_dose(dose_id, lock=True)
    if dose.status != "prepared":
        raise Conflict(f"dose {dose.id} is {dose.status}; only a prepared dose can be verified",
                       code="dose_not_prepared", extra={"status": dose.status})
    if dose.prepared_by_id == user.id:
        raise Forbidden("segregation of duties: the pharmacist who prepared a dose cannot verify it",
                        code="segregation_of_duties")
    bag = dose.bag
    if bag.status != "prepared":
        raise Conflict(f"bag {bag.code} is {bag.status}", code="invalid_transition", extra={"status": bag.status})
    if dose.lot.blocked:
        # Verification releases the bag to move (SPEC §8); a hold blocks every bag of the lot at once (SPEC §5).
        raise Conflict(f"lot {dose.lot.printed_number} is {dose.lot.status_text}: its bags are blocked; keep this bag "
                       "in the pharmacy until QA decides", code="lot_blocked",
                       extra={"status": dose.status, "lot_status": dose.lot.status})
    if bag.label_prints < 1:
        raise Conflict(f"bag {bag.code} has no label yet: print it and put it on the bag, then verify by scanning "
                       "it", code="label_not_printed", extra={"status": bag.status})
    scanned_code = _scanned_code(bag_scan)
    measured_ml = units.magnitude(measured_volume, "volume")
    step_ml = float(current_app.config["LIMS_VOLUME_STEP_ML"])
    failures = verification_failures(dose, bag, scanned_code, measured_ml, step_ml)
    attempt = DoseVerification(dose_id=dose.id, bag_id=bag.id, verifier_id=user.id, at=utcnow(),
                               bag_scan=bag_scan[:128], bag_entry=bag_entry, scanned_bag_code=scanned_code[:40],
                               measured_volume_ml=measured_ml, planned_volume_ml=dose.volume_ml, ok=not failures,
                               failures=json.dumps(failures) if failures else None)
    db.session.add(attempt)
    if failures:
        audit.record("dose.verification_refused", attempt, actor=user)
        db.session.commit()  # the refusal stays on record; the dose and the bag do not move
        code = REFUSAL_CODES[failures[0]["name"]][0] if len(failures) == 1 else "verification_refused"
        raise Conflict("; ".join(f["message"] for f in failures), code=code,
                       fields={REFUSAL_CODES[f["name"]][1]: [f["message"]] for f in failures},
                       extra={"status": dose.status, "failures": failures})
    from lims.chainofcustody import services as custody
    before = audit.snapshot(dose)
    dose.status, dose.verified_by_id, dose.verified_at = "verified", user.id, attempt.at
    bag.status = "verified"
    custody.record_bag_event(user, bag, "prepared", "verified", bag.location, holder=bag.holder, scanned=bag_scan,
                             entry=bag_entry)
    auth.record_signature(user, "verified", dose)
    audit.record("dose.verified", dose, before=before)
    audit.record("dose.verification_passed", attempt, actor=user)
    db.session.commit()
    return dose


def verifications_of(dose):
    """Every verification attempt of a dose, refused ones included, oldest first."""
    return db.session.scalars(select(DoseVerification).where(DoseVerification.dose_id == dose.id)
                              .order_by(DoseVerification.id)).all()


def failures_of(attempt):
    return json.loads(attempt.failures) if attempt.failures else []
