"""Traceability both ways (SPEC §12): lot -> containers -> bags -> subjects, and subject -> bag -> lot -> donor."""
from sqlalchemy import select

from lims.chainofcustody.models import CustodyEvent, Infusion
from lims.doses.models import Bag, DoseContainer
from lims.doses.services import bag_view
from lims.extensions import db
from lims.lots.models import Container
from lims.timeutil import iso


def event_view(e):
    return {"event": e.event, "from": e.from_status, "to": e.to_status, "at": iso(e.at),
            "by": e.actor.username, "by_name": e.actor.full_name, "location": e.location,
            "holder": e.holder.username if e.holder else None, "scanned": e.scanned}


def lot_trace(lot):
    containers = db.session.scalars(select(Container).where(Container.lot_id == lot.id).order_by(Container.id)).all()
    bags = db.session.scalars(select(Bag).where(Bag.lot_id == lot.id).order_by(Bag.id)).all()
    allocation = dict(db.session.execute(
        select(DoseContainer.container_id, Bag.code).join(Bag, Bag.dose_id == DoseContainer.dose_id)
        .where(Bag.lot_id == lot.id)).all())
    infused = [b for b in bags if b.status in ("infusing", "infused")]
    return {
        "lot": {"id": lot.id, "din": lot.din, "check_character": lot.check_character, "status": lot.status,
                "donor": {"id": lot.donor.id, "code": lot.donor.code, "eligibility": lot.donor.eligibility}},
        "containers": [{"code": c.code, "status": c.status, "location": c.location, "bag": allocation.get(c.id)}
                       for c in containers],
        "bags": [dict(bag_view(b), subject={"id": b.subject.id, "code": b.subject.code}) for b in bags],
        "subjects": [{"id": b.subject.id, "code": b.subject.code, "bag": b.code, "bag_status": b.status}
                     for b in bags],
        # The people to notify on a recall: everyone this lot reached.
        "infused_subjects": [{"id": b.subject.id, "code": b.subject.code, "bag": b.code} for b in infused],
    }


def subject_trace(subject):
    bags = db.session.scalars(select(Bag).where(Bag.subject_id == subject.id).order_by(Bag.id)).all()
    out = []
    for bag in bags:
        events = db.session.scalars(select(CustodyEvent).where(CustodyEvent.bag_id == bag.id)
                                    .order_by(CustodyEvent.at, CustodyEvent.id)).all()
        infusion = db.session.scalar(select(Infusion).where(Infusion.bag_id == bag.id))
        lot = bag.lot
        out.append({
            "bag": bag_view(bag),
            "lot": {"id": lot.id, "din": lot.din, "check_character": lot.check_character, "status": lot.status,
                    "product_code": lot.product.code},
            "donor": {"id": lot.donor.id, "code": lot.donor.code, "eligibility": lot.donor.eligibility},
            "containers": [a.container.code for a in bag.dose.allocations],
            "custody": [event_view(e) for e in events],
            "infusion": None if infusion is None else {
                "started_at": iso(infusion.started_at), "completed_at": iso(infusion.completed_at),
                "volume_infused": {"value": infusion.volume_infused_ml, "unit": "mL"},
                "nurse": infusion.nurse.username},
        })
    return {"subject": {"id": subject.id, "code": subject.code, "wristband": subject.wristband,
                        "study": subject.study.code, "cohort": subject.cohort.name}, "bags": out}
