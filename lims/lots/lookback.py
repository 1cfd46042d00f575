"""Donor look-back (SPEC §5): a donor found ineligible after release — a late infectious-disease result, a history
learnt afterwards — is changed by QA with a reason and a signature, and in the same transaction every lot of that
donor stops: the released ones go on hold (which blocks their containers and every bag not yet infused, as any hold
does), the quarantined ones can no longer be released (release needs an eligible donor), and the answer names the
subjects already infused from any lot of the donor, who are to be told."""
from sqlalchemy import select

from lims.audit import services as audit
from lims.auth import services as auth
from lims.errors import Conflict, NotFound, invalid
from lims.extensions import db, locked_or_read
from lims.lots import services as lots
from lims.lots.models import ELIGIBILITY, Donor, Lot
from lims.timeutil import iso

INFUSED = ("infusing", "infused")


def determine_donor_eligibility(user, donor_id, eligibility, reason, signature):
    """QA's signed change of a donor's eligibility. Anything but `eligible` holds every released lot of the donor;
    all or nothing: one transaction, the donor's row and its lots' rows locked (FOR UPDATE) so that a release or a
    dispensing of one of its lots cannot slip between the change and the holds."""
    auth.authenticate_signer(user, signature)
    if eligibility not in ELIGIBILITY:
        raise invalid("eligibility", f"one of {', '.join(ELIGIBILITY)}")
    if not (reason and reason.strip()):
        raise invalid("reason", "a change of donor eligibility needs a reason (the result or finding behind it)")
    donor = locked_or_read(Donor, Donor.id == donor_id, lock=True)
    if donor is None:
        raise NotFound(f"no donor {donor_id}", code="donor_not_found")
    if donor.eligibility == eligibility:
        raise Conflict(f"donor {donor.code} is already {eligibility}", code="eligibility_unchanged",
                       extra={"eligibility": eligibility})
    # Locked in id order, as every writer locks lots one at a time: no two look-backs deadlock on each other.
    donor_lots = db.session.scalars(
        select(Lot).where(Lot.donor_id == donor.id).order_by(Lot.id)
        .with_for_update(of=Lot).execution_options(populate_existing=True)).all()
    before = donor.audit_dict()
    donor.eligibility = eligibility
    audit.record("donor.eligibility_changed", donor, before=before, reason=reason)
    auth.record_signature(user, "eligibility_determined", donor)
    held, unreleasable = [], []
    if eligibility != "eligible":
        for lot in donor_lots:
            if lot.status == "released":
                lots.hold_in_transaction(user, lot, f"donor look-back: donor {donor.code} {eligibility}: {reason}")
                held.append(lot)
            elif lot.status in ("quarantine", "on_hold"):
                unreleasable.append(lot)  # release_blockers() refuses them from now on: the donor is not eligible
    answer = {"donor": {"id": donor.id, "code": donor.code, "eligibility": donor.eligibility},
              "lots_held": [_lot_view(lot) for lot in held],
              "lots_unreleasable": [_lot_view(lot) for lot in unreleasable],
              "subjects_to_notify": subjects_infused_from(donor_lots)}
    db.session.commit()
    return answer


def _lot_view(lot):
    return {"id": lot.id, "din": lot.din, "check_character": lot.check_character,
            "printed_number": lot.printed_number, "status": lot.status}


def subjects_infused_from(lot_rows):
    """Every subject a bag of these lots reached (infusing or infused), with the bag, the lot and the infusion's end:
    the people a look-back or recall must reach. One statement, whatever the number of lots."""
    from lims.chainofcustody.models import Infusion
    from lims.doses.models import Bag
    from lims.studies.models import Subject
    by_id = {lot.id: lot for lot in lot_rows}
    if not by_id:
        return []
    rows = db.session.execute(
        select(Subject.id, Subject.code, Subject.wristband, Bag.code.label("bag"), Bag.lot_id,
               Infusion.completed_at)
        .join(Bag, Bag.subject_id == Subject.id).outerjoin(Infusion, Infusion.bag_id == Bag.id)
        .where(Bag.lot_id.in_(by_id), Bag.status.in_(INFUSED)).order_by(Subject.code, Bag.id)).all()
    return [{"subject_id": r.id, "code": r.code, "wristband": r.wristband, "bag": r.bag, "lot_id": r.lot_id,
             "lot": by_id[r.lot_id].printed_number,
             "infused_at": iso(r.completed_at) if r.completed_at else None} for r in rows]
