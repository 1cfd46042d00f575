"""QA's review of QC results that came after release (SPEC §5). Release on interim results is normal, so a result
recorded or corrected on a released lot (or one on hold, which was released before) is flagged as it is recorded,
even when the lot still passes: a corrected sterility reading or a revised cell count changes what was released.
The flag stays on QA's home page until QA signs, with the meaning `reviewed`, that the lot's late results were read.
A failing late result also puts the lot on hold in the same transaction (lims.lots.services.record_qc_result)."""
from sqlalchemy import func, select

from lims.audit import services as audit
from lims.auth import services as auth
from lims.errors import Conflict
from lims.extensions import db
from lims.lots import services as lots
from lims.lots.models import LateQcReview, Lot
from lims.timeutil import iso, utcnow


def open_reviews_of(lot):
    """The lot's late results not yet reviewed, oldest first."""
    return db.session.scalars(select(LateQcReview).where(LateQcReview.lot_id == lot.id,
                                                         LateQcReview.reviewed_at.is_(None))
                              .order_by(LateQcReview.id)).all()


def reviews_of(lot):
    """Every late result of the lot, reviewed or not, oldest first (the lot page's record of them)."""
    return db.session.scalars(select(LateQcReview).where(LateQcReview.lot_id == lot.id)
                              .order_by(LateQcReview.id)).all()


def review_late_qc(user, lot_id, signature, note=None):
    """QA signs that it has read every late result of the lot now open; the flags close together under one
    signature over the lot as it stands. Nothing open: 409."""
    auth.authenticate_signer(user, signature)
    lot = lots.get_lot(lot_id, lock=True)  # a late result recorded meanwhile waits for this lock, then stays open
    flags = open_reviews_of(lot)
    if not flags:
        raise Conflict(f"no late QC result of lot {lot.printed_number} waits for review", code="nothing_to_review",
                       extra={"status": lot.status})
    signed = auth.record_signature(user, "reviewed", lot)
    now = utcnow()
    for flag in flags:
        flag.reviewed_at, flag.reviewed_by_id, flag.signature_id = now, user.id, signed.id
        flag.note = note.strip() if note and note.strip() else None
    reviewed = [f.qc_result_id for f in flags]
    audit.record("lot.reviewed", lot, before={"status": lot.status, "awaiting_review": reviewed},
                 after={"status": lot.status, "awaiting_review": [], "reviewed_qc_results": reviewed}, reason=note)
    answer = {"lot_id": lot.id, "status": lot.status, "reviewed": [review_view(f) for f in flags],
              "signature": {"printed_name": signed.printed_name, "meaning": signed.meaning,
                            "signed_at": iso(signed.signed_at)}}
    db.session.commit()
    return answer


def review_view(flag):
    r = flag.qc_result
    return {"qc_result_id": r.id, "test": r.test, "correction": r.supersedes_id is not None,
            "result": r.text_value if r.text_value is not None else {"value": r.numeric_value, "unit": r.unit},
            "recorded_at": iso(r.recorded_at), "flagged_at": iso(flag.flagged_at),
            "reviewed_at": iso(flag.reviewed_at) if flag.reviewed_at else None, "note": flag.note}


def open_reviews(limit=5):
    """QA's home page: the oldest open flags (at most `limit`) with their lots, and how many are open in all."""
    flags = db.session.scalars(select(LateQcReview).where(LateQcReview.reviewed_at.is_(None))
                               .order_by(LateQcReview.id).limit(limit)).all()
    total = len(flags) if len(flags) < limit else db.session.scalar(
        select(func.count()).select_from(LateQcReview).where(LateQcReview.reviewed_at.is_(None)))
    ids = {f.lot_id for f in flags}
    by_id = {lot.id: lot for lot in db.session.scalars(select(Lot).where(Lot.id.in_(ids)))} if ids else {}
    return [{"flag": f, "lot": by_id[f.lot_id]} for f in flags], total
