"""Traceability both ways (SPEC §12): lot -> containers -> bags -> subjects, and subject -> bag -> lot -> donor."""
from sqlalchemy import select
from sqlalchemy.orm import defaultload, joinedload, lazyload

from lims.auth.models import User
from lims.chainofcustody.models import CustodyEvent, Infusion
from lims.doses.models import Bag, DoseContainer
from lims.doses.services import bag_view
from lims.extensions import db
from lims.lots.models import Container
from lims.studies.models import Subject
from lims.timeutil import iso

# The models load generously for the pages (a subject brings its study's cohorts and their safety reviews, a user
# its roles). A trace reads a few dozen rows out of a history of a million custody events, so it loads what it
# shows and nothing more, in one query per kind of row (bench/trace.py: 17 statements down to 6 for a subject).
_BAG_LOADS = (joinedload(Bag.subject).options(lazyload(Subject.study), lazyload(Subject.cohort)),
              defaultload(Bag.holder).lazyload(User.role_rows), lazyload(Bag.dose))
_PEOPLE_ONLY = (defaultload(CustodyEvent.actor).lazyload(User.role_rows),
                defaultload(CustodyEvent.holder).lazyload(User.role_rows), lazyload(CustodyEvent.bag))


def event_view(e):
    return {"event": e.event, "from": e.from_status, "to": e.to_status, "at": iso(e.at),
            "by": e.actor.username, "by_name": e.actor.full_name, "location": e.location,
            "holder": e.holder.username if e.holder else None, "scanned": e.scanned, "reason": e.reason}


def lot_trace(lot):
    containers = db.session.scalars(select(Container).where(Container.lot_id == lot.id).order_by(Container.id)).all()
    bags = db.session.scalars(select(Bag).where(Bag.lot_id == lot.id).order_by(Bag.id).options(*_BAG_LOADS)).all()
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
    bags = db.session.scalars(select(Bag).where(Bag.subject_id == subject.id).order_by(Bag.id)
                              .options(*_BAG_LOADS)).all()
    bag_ids = [b.id for b in bags]
    events = {bag_id: [] for bag_id in bag_ids}
    infusions, containers = {}, {b.dose_id: [] for b in bags}
    if bags:
        for e in db.session.scalars(select(CustodyEvent).where(CustodyEvent.bag_id.in_(bag_ids))
                                    .order_by(CustodyEvent.at, CustodyEvent.id).options(*_PEOPLE_ONLY)):
            events[e.bag_id].append(e)
        infusions = {i.bag_id: i for i in db.session.scalars(
            select(Infusion).where(Infusion.bag_id.in_(bag_ids))
            .options(lazyload(Infusion.signature), defaultload(Infusion.nurse).lazyload(User.role_rows)))}
        allocated = (select(DoseContainer.dose_id, Container.code)
                     .join(Container, Container.id == DoseContainer.container_id)
                     .where(DoseContainer.dose_id.in_(list(containers))).order_by(DoseContainer.id))
        for dose_id, code in db.session.execute(allocated):
            containers[dose_id].append(code)
    out = []
    for bag in bags:
        infusion = infusions.get(bag.id)
        lot = bag.lot
        out.append({
            "bag": bag_view(bag),
            "lot": {"id": lot.id, "din": lot.din, "check_character": lot.check_character, "status": lot.status,
                    "product_code": lot.product.code},
            "donor": {"id": lot.donor.id, "code": lot.donor.code, "eligibility": lot.donor.eligibility},
            "containers": containers[bag.dose_id],
            "custody": [event_view(e) for e in events[bag.id]],
            "infusion": None if infusion is None else {
                "started_at": iso(infusion.started_at), "completed_at": iso(infusion.completed_at),
                "volume_infused": {"value": infusion.volume_infused_ml, "unit": "mL"},
                "nurse": infusion.nurse.username},
        })
    return {"subject": {"id": subject.id, "code": subject.code, "wristband": subject.wristband,
                        "study": subject.study.code, "cohort": subject.cohort.name}, "bags": out}
