"""Telling the subjects a held or recalled lot reached (SPEC §5): each notification is recorded per subject, with
who told them, when and how, so the recall page shows who is still to be told. A lot on hold counts as well as a
recalled one: a donor look-back holds its lots, and their subjects are told while QA decides."""
import datetime as dt

from flask import current_app
from sqlalchemy import select

from lims.audit import services as audit
from lims.errors import Conflict, invalid
from lims.extensions import db
from lims.lots import services as lots
from lims.lots.models import SubjectNotification
from lims.timeutil import iso, local, utcnow

INFUSED = ("infusing", "infused")
METHOD_WORDS = {"phone": "by phone", "letter": "by letter", "in_person": "in person", "other": "other"}


def record_notification(user, lot_id, subject_id, method, notified_at=None, note=None):
    from lims.doses.models import Bag
    lot = lots.get_lot(lot_id)
    if lot.status not in ("on_hold", "recalled"):
        raise Conflict(f"lot {lot.printed_number} is {lot.status.replace('_', ' ')}: subjects are notified of a "
                       "hold, a recall or a donor look-back", code="lot_not_held", extra={"status": lot.status})
    reached = db.session.scalar(select(Bag.id).where(Bag.lot_id == lot.id, Bag.subject_id == subject_id,
                                                     Bag.status.in_(INFUSED)).limit(1))
    if reached is None:
        raise Conflict(f"subject {subject_id} received no bag of lot {lot.printed_number}",
                       code="subject_not_reached", fields={"subject_id": ["not infused from this lot"]})
    now = utcnow()
    notified_at = notified_at or now
    if notified_at > now + dt.timedelta(minutes=current_app.config["LIMS_CLOCK_SKEW_MINUTES"]):
        raise invalid("notified_at", "cannot be in the future")
    if notified_at < now - dt.timedelta(days=3650):
        raise invalid("notified_at", "more than ten years ago: check the date")
    since = _blocked_since(lot)
    # The clock-skew allowance: a time typed to the minute, in the minute of the hold, is not before it.
    if since is not None and notified_at < since - dt.timedelta(minutes=current_app.config["LIMS_CLOCK_SKEW_MINUTES"]):
        # A subject is told of a hold or recall that exists: a date before it is a typing slip, not a notification.
        raise invalid("notified_at", f"{local(notified_at)} is before lot {lot.printed_number} was put on hold or "
                                     f"recalled ({local(since)}): a subject is notified after the hold or recall")
    row = SubjectNotification(lot_id=lot.id, subject_id=subject_id, method=method, notified_at=notified_at,
                              note=note.strip() if note and note.strip() else None, recorded_by_id=user.id,
                              recorded_at=now)
    db.session.add(row)
    audit.record("subject.notified", row, reason=row.note)
    db.session.flush()
    answer = notification_view(row, user)
    db.session.commit()
    return answer


def _blocked_since(lot):
    """When the lot's present hold or recall began: the latest change into `on_hold` or `recalled` from a state that
    did not block (a recall of a lot already on hold keeps the hold's start)."""
    from lims.lots.models import LotDisposition
    blocked = ("on_hold", "recalled")
    return db.session.scalar(select(LotDisposition.at).where(
        LotDisposition.lot_id == lot.id, LotDisposition.to_status.in_(blocked),
        LotDisposition.from_status.not_in(blocked)).order_by(LotDisposition.id.desc()).limit(1))


def notification_view(row, recorded_by=None):
    who = recorded_by or row.recorded_by
    return {"id": row.id, "lot_id": row.lot_id, "subject_id": row.subject_id, "method": row.method,
            "notified_at": iso(row.notified_at), "note": row.note, "recorded_by": who.username,
            "recorded_by_name": who.full_name, "recorded_at": iso(row.recorded_at)}


def notifications_of_lot(lot_id):
    lots.get_lot(lot_id)
    return [notification_view(n) for n in db.session.scalars(
        select(SubjectNotification).where(SubjectNotification.lot_id == lot_id).order_by(SubjectNotification.id))]


def notifications_by_subject(lot_rows):
    """{(lot id, subject id): [notifications, oldest first]} for a page of lots, in one statement."""
    ids = [lot.id for lot in lot_rows]
    found = {}
    if ids:
        for n in db.session.scalars(select(SubjectNotification).where(SubjectNotification.lot_id.in_(ids))
                                    .order_by(SubjectNotification.id)):
            found.setdefault((n.lot_id, n.subject_id), []).append(n)
    return found
