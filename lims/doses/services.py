"""Planning, preparing and verifying doses (SPEC §7, §8)."""
import datetime as dt

from flask import current_app
from sqlalchemy import func, select

from lims import barcodes, units
from lims.audit import services as audit
from lims.auth import services as auth
from lims.doses import calculation
from lims.doses.models import Bag, Dose, DoseContainer
from lims.errors import Conflict, Invalid, NotFound, invalid
from lims.extensions import db, locked_or_read
from lims.lots import services as lots
from lims.lots.models import Container
from lims.paging import worklist
from lims.studies import services as studies
from lims.studies.models import Subject
from lims.timeutil import aware, local, site_today, utcnow

# A bag that still counts as the subject's dose: every state but `discarded`. A returned bag is back in the pharmacy
# and may go out again (SPEC §10: returned -> dispensed), so while it exists no second dose is planned or prepared;
# the pharmacist re-dispenses it or discards it (with a reason) first. A returned bag is re-issued or discarded,
# never both: one infusion per subject (SPEC §6, §11).
ACTIVE_BAG = ("prepared", "verified", "dispensed", "received", "bedside_verified", "infusing", "infused", "returned")
INFUSED_BAG = ("infusing", "infused")


def get_dose(dose_id, lock=False):
    dose = locked_or_read(Dose, Dose.id == dose_id, lock=lock)
    if dose is None:
        raise NotFound(f"no dose {dose_id}", code="dose_not_found")
    return dose


def bag_by_code(code, lock=False):
    """The one bag lookup. With lock, the row is held FOR UPDATE and re-read, so a move sees the latest state."""
    bag = locked_or_read(Bag, Bag.code == code, lock=lock)
    if bag is None:
        raise NotFound(f"no bag {code}", code="bag_not_found")
    return bag


def _usable_lot(lot):
    if lot.status != "released":
        raise Conflict(f"lot {lot.printed_number} is {lot.status_text}, not released", code="lot_not_released",
                       extra={"status": lot.status})
    if not lots.is_unexpired(lot):
        raise Conflict(f"lot {lot.printed_number} expired on {lot.expires_on.isoformat()}", code="lot_expired",
                       extra={"status": "expired"})


def _available_containers(lot):
    return db.session.scalar(select(func.count()).select_from(Container).where(
        Container.lot_id == lot.id, Container.status == "in_storage"))


def compute_plan(subject, lot):
    """The SPEC §7 plan for this subject from this lot, with every rule checked; changes nothing."""
    _usable_lot(lot)
    weight = studies.latest_weight(subject)
    max_age = current_app.config["LIMS_WEIGHT_MAX_AGE_DAYS"]
    if weight is None or weight.weighed_on < site_today() - dt.timedelta(days=max_age):
        raise Invalid(f"the latest weight of {subject.code} is older than {max_age} days; weigh the subject again",
                      fields={"weight": [f"no weight within {max_age} days"]}, code="weight_too_old")
    results = lots.current_results(lot)
    missing = [t for t in ("cell_concentration", "viability", "endotoxin") if t not in results]
    if missing:
        raise Conflict(f"lot {lot.printed_number} has no result for {', '.join(missing)}", code="lot_results_missing")
    try:
        plan = calculation.plan(
            cohort_dose=subject.cohort.dose, weight=weight.weight,
            cell_concentration=lots.result_quantity(results["cell_concentration"], "concentration"),
            viability=lots.result_quantity(results["viability"], "percent"), fill_volume=lot.fill_volume,
            dmso_fraction=lot.dmso_fraction,
            endotoxin=lots.result_quantity(results["endotoxin"], "endotoxin_concentration"),
            limits=calculation.limits_from_config(current_app.config), weight_cap=subject.study.weight_cap)
    except calculation.DoseRuleBroken as e:
        raise Invalid(e.message, fields={e.field: [e.message]}, code="dose_rule_broken") from None
    available = _available_containers(lot)
    if available < plan.containers_needed:
        raise Conflict(f"lot {lot.printed_number} has {available} container(s) in storage; the dose needs "
                       f"{plan.containers_needed}", code="too_few_containers")
    return plan, weight


def _refuse_if_dosed(subject):
    """One dose per subject (SPEC §6, §11): refused while the subject was infused or holds a bag in circulation."""
    bags = db.session.scalars(select(Bag).where(Bag.subject_id == subject.id, Bag.status.in_(ACTIVE_BAG))
                              .order_by(Bag.id)).all()
    infused = [b for b in bags if b.status in INFUSED_BAG]
    if infused or subject.infused_at is not None:
        which = f" from bag {infused[0].code}" if infused else ""
        raise Conflict(f"subject {subject.code} was already infused{which}: a subject receives one dose; no "
                       "other can be planned or prepared", code="already_infused",
                       extra={"bag": infused[0].code} if infused else None)
    if bags:
        bag = bags[0]
        if bag.status == "returned":
            todo = "dispense that bag again, or discard it with a reason, before a new dose is prepared"
        else:
            todo = "that bag is the subject's dose; return and discard it before a new dose is prepared"
        raise Conflict(f"subject {subject.code} already has bag {bag.code} ({bag.status.replace('_', ' ')}): "
                       f"{todo}", code="already_dosed", extra={"bag": bag.code, "bag_status": bag.status})


def plan_dose(user, subject_id, lot_id):
    subject = studies.get_subject(subject_id)
    lot = lots.get_lot(lot_id)
    _refuse_if_dosed(subject)
    plan, weight = compute_plan(subject, lot)
    # A plan reserves nothing; re-planning replaces the subject's earlier plan (SPEC §7.6).
    for earlier in db.session.scalars(select(Dose).where(Dose.subject_id == subject.id, Dose.status == "planned")):
        before = audit.snapshot(earlier)
        earlier.status = "superseded"
        audit.record("dose.superseded", earlier, before=before)
    dose = Dose(subject=subject, lot=lot, weight_id=weight.id, status="planned", planned_by_id=user.id,
                **_plan_columns(plan))
    db.session.add(dose)
    audit.record("dose.planned", dose)
    db.session.commit()
    return dose


def _plan_columns(plan):
    return dict(cohort_dose_cells_per_kg=units.magnitude(plan.cohort_dose, "dose"),
                dosing_weight_kg=units.magnitude(plan.dosing_weight, "mass"),
                target_cells=units.magnitude(plan.target_cells, "cells"),
                viable_concentration_cells_per_ml=units.magnitude(plan.viable_concentration, "concentration"),
                volume_ml=units.magnitude(plan.volume, "volume"),
                delivered_cells=units.magnitude(plan.delivered_cells, "cells"),
                deviation_percent=plan.deviation_percent, containers_needed=plan.containers_needed,
                dmso_g_per_kg=units.magnitude(plan.dmso_per_kg, "dmso_dose"),
                endotoxin_eu_per_kg=units.magnitude(plan.endotoxin_per_kg, "endotoxin_dose"))


def prepare_dose(user, dose_id, signature, thawed_at=None):
    """Thaw, allocate the containers atomically and create the bag (SPEC §8), signed by the pharmacist."""
    auth.authenticate_signer(user, signature)
    dose = get_dose(dose_id, lock=True)
    if dose.status != "planned":
        raise Conflict(f"dose {dose.id} is {dose.status}; only a current plan can be prepared",
                       code="dose_not_planned", extra={"status": dose.status})
    lot = lots.get_lot(dose.lot_id, lock=True)  # a hold racing this preparation waits for it, or blocks it
    now = utcnow()
    thawed_at = thawed_at or now
    skew = dt.timedelta(minutes=current_app.config["LIMS_CLOCK_SKEW_MINUTES"])
    if thawed_at > now + skew:
        raise invalid("thawed_at", "a thaw time cannot be in the future")
    _usable_lot(lot)  # an expired lot is refused naming its expiry, before any thaw time is judged
    # A thawed bag is used within its post-thaw stability and never after its lot's expiry day ends (site time):
    # the earlier of the two is the bag's one expiry, which every later check reads.
    expires_at = min(thawed_at + dt.timedelta(hours=lot.product.post_thaw_stability_h), lots.expiry_end(lot))
    if expires_at <= now:
        raise invalid("thawed_at", f"thawed at {local(thawed_at)}: its post-thaw expiry ({local(expires_at)}) has "
                                   "already passed")  # the site's time, as the pharmacist entered it (SPEC §11)
    # The subject's row is held too: two plans of one subject prepared at once (from two lots) cannot both pass
    # the one-dose check below.
    subject = locked_or_read(Subject, Subject.id == dose.subject_id, lock=True)
    _refuse_if_dosed(subject)
    plan, _weight = compute_plan(subject, lot)
    if abs(units.magnitude(plan.volume, "volume") - dose.volume_ml) > 1e-9 or \
            plan.containers_needed != dose.containers_needed:
        raise Conflict("the plan is out of date (weight or QC results changed); plan the dose again",
                       code="plan_out_of_date")
    containers = db.session.scalars(
        select(Container).where(Container.lot_id == lot.id, Container.status == "in_storage")
        .order_by(Container.id).limit(dose.containers_needed).with_for_update(skip_locked=True)).all()
    if len(containers) < dose.containers_needed:
        raise Conflict(f"lot {lot.printed_number} has {len(containers)} container(s) free; the dose needs "
                       f"{dose.containers_needed}", code="too_few_containers")
    remaining = dose.volume_ml
    from lims.chainofcustody import services as custody
    for container in containers:
        used = min(container.fill_volume_ml, round(remaining, 6))
        remaining -= used
        db.session.add(DoseContainer(dose_id=dose.id, container=container, volume_used_ml=used,
                                     volume_discarded_ml=round(container.fill_volume_ml - used, 6)))
        # The unused remainder of a thawed container is discarded: cells cannot be refrozen.
        before = audit.snapshot(container)
        container.status = "thawed"
        container.freezer = container.rack = container.box = container.position = None
        custody.record_container_event(user, container, "thawed", "Pharmacy", at=thawed_at)
        audit.record("container.thawed", container, before=before)
    division = f"B{_bag_count(lot) + 1:03d}"
    bag = Bag(code=barcodes.bag_code(lot.din, lot.product.code, division), division=division, dose=dose, lot=lot,
              subject=subject, volume_ml=dose.volume_ml, status="prepared", thawed_at=thawed_at,
              expires_at=expires_at, holder_id=user.id, location="Pharmacy")
    db.session.add(bag)
    dose_before = audit.snapshot(dose)
    dose.status, dose.prepared_by_id, dose.prepared_at, dose.thawed_at = "prepared", user.id, now, thawed_at
    custody.record_bag_event(user, bag, None, "prepared", "Pharmacy", holder=user)
    auth.record_signature(user, "prepared", dose)
    audit.record("bag.created", bag)
    audit.record("dose.prepared", dose, before=dose_before)
    db.session.commit()
    return dose


def _bag_count(lot):
    return db.session.scalar(select(func.count()).select_from(Bag).where(Bag.lot_id == lot.id))


def verify_dose(user, dose_id, signature, bag_scan, measured_volume, bag_entry=None):
    """The independent check by a second pharmacist (lims.doses.verification)."""
    from lims.doses import verification
    return verification.verify_dose(user, dose_id, signature, bag_scan, measured_volume, bag_entry)


def bag_payload(bag):
    return barcodes.bag_payload(bag.lot.din, bag.lot.check_character, bag.lot.product.code, bag.division)


def bag_view(bag):
    return {"id": bag.id, "code": bag.code, "scan": bag_payload(bag), "status": bag.status,
            "volume": units.dump(bag.volume, "volume"), "subject_code": bag.subject.code,
            "wristband": bag.subject.wristband, "lot_id": bag.lot_id, "din": bag.lot.din,
            "check_character": bag.lot.check_character, "thawed_at": aware(bag.thawed_at).isoformat(),
            "expires_at": aware(bag.expires_at).isoformat(), "location": bag.location,
            "holder": bag.holder.username if bag.holder else None, "label_prints": bag.label_prints,
            "blocked": bag.lot.blocked}


def allocated_containers(dose):
    return db.session.scalars(select(DoseContainer).where(DoseContainer.dose_id == dose.id)
                              .order_by(DoseContainer.id)).all()




# --- reads for the pharmacist's pages --------------------------------------------------------------------------

def current_dose_for(subject):
    """The subject's latest dose that was not superseded (a plan, or the dose prepared from one), or None."""
    return db.session.scalar(select(Dose).where(Dose.subject_id == subject.id, Dose.status != "superseded")
                             .order_by(Dose.id.desc()).limit(1))


WORKLIST_LIMIT = 50  # rows a step of the pharmacy worklist shows; its count says how many wait in all
IN_PHARMACY = ("verified", "returned")  # a verified bag waits in the pharmacy; a returned one is back and may go out


def current_doses_for(subject_ids):
    """{subject id: its current dose (the latest not superseded), with bag and lot} for a page of subjects, in one
    statement and its bags' one, instead of one lookup per subject."""
    from sqlalchemy.orm import selectinload
    ids = list(subject_ids)
    if not ids:
        return {}
    doses = db.session.scalars(select(Dose).where(Dose.subject_id.in_(ids), Dose.status != "superseded")
                               .options(selectinload(Dose.bag)).order_by(Dose.id)).all()
    return {d.subject_id: d for d in doses}  # the latest wins


def subjects_to_plan(limit=WORKLIST_LIMIT):
    """Enrolled subjects with neither a current plan nor a bag in use: the first step of the pharmacy's work.

    Only subjects not yet infused are candidates (a partial index): a subject receives one dose, so the treated
    ones, however many, are never read. Each row brings its study, cohort and weights in the same statements."""
    from sqlalchemy import exists
    from sqlalchemy.orm import selectinload

    planned = exists().where(Dose.subject_id == Subject.id, Dose.status == "planned")
    dosed = exists().where(Bag.subject_id == Subject.id, Bag.status.in_(ACTIVE_BAG))
    query = (select(Subject).where(Subject.infused_at.is_(None), ~planned, ~dosed)
             .options(selectinload(Subject.study), selectinload(Subject.weights)).order_by(Subject.id))
    return worklist(query, limit)


def plannable_lots(limit=20):
    """Released, unexpired lots with containers in storage, soonest expiry first (first expiry, first out):
    [(lot, containers in storage)], the `limit` a plan can choose from."""
    from sqlalchemy import exists

    from lims.lots.models import Lot
    stored = exists().where(Container.lot_id == Lot.id, Container.status == "in_storage")
    released = db.session.scalars(select(Lot).where(Lot.status == "released", Lot.expires_on >= site_today(), stored)
                                  .order_by(Lot.expires_on, Lot.id).limit(limit)).all()
    if not released:
        return []
    in_storage = dict(db.session.execute(select(Container.lot_id, func.count()).where(
        Container.lot_id.in_([lot.id for lot in released]), Container.status == "in_storage")
        .group_by(Container.lot_id)).all())
    return [(lot, in_storage[lot.id]) for lot in released if in_storage.get(lot.id)]


def _doses_in(status, limit):
    from sqlalchemy.orm import joinedload, selectinload
    return worklist(select(Dose).where(Dose.status == status)
                    .options(selectinload(Dose.bag), joinedload(Dose.prepared_by)).order_by(Dose.id), limit)


def _prepared(labelled, limit):
    """Prepared doses whose bag's label is (or is not yet) printed: the label goes on the bag before the second
    pharmacist's check, which scans it (SPEC §8)."""
    from sqlalchemy.orm import contains_eager, joinedload
    label = Bag.label_prints > 0 if labelled else Bag.label_prints == 0
    query = (select(Dose).join(Bag, Bag.dose_id == Dose.id).where(Dose.status == "prepared", label)
             .options(contains_eager(Dose.bag), joinedload(Dose.prepared_by)).order_by(Dose.id))
    return worklist(query, limit)


def _doses_with_bag_in_pharmacy(limit):
    """Verified doses whose bag waits in the pharmacy, read from the bag's state (an index), so that the doses whose
    bags went on to the ward and were infused, which stay `verified`, are never read."""
    from sqlalchemy.orm import contains_eager
    query = (select(Dose).join(Bag, Bag.dose_id == Dose.id)
             .where(Bag.status.in_(IN_PHARMACY), Dose.status == "verified")
             .options(contains_eager(Dose.bag)).order_by(Bag.expires_at, Bag.id))
    return worklist(query, limit)


def doses_by_step(limit=WORKLIST_LIMIT):
    """The pharmacy worklist: subjects to plan, then doses to prepare, label, verify and dispense; each step its first
    `limit` rows and how many wait (paging.Worklist). The label goes on the bag before the second pharmacist's check,
    which scans it (SPEC §8)."""
    return {"plan": subjects_to_plan(limit), "prepare": _doses_in("planned", limit),
            "print": _prepared(False, limit), "verify": _prepared(True, limit),
            "dispense": _doses_with_bag_in_pharmacy(limit)}


def plan_inputs(dose):
    """What a plan was computed from (the weight as entered, the lot's current results, the limits), so a page can
    show the arithmetic of SPEC §7 step by step. Results corrected since the plan make preparation refuse."""
    from lims.studies.models import SubjectWeight
    results = lots.current_results(dose.lot)

    def result(test, kind):
        return lots.result_quantity(results[test], kind) if test in results else None

    return {"weight": db.session.get(SubjectWeight, dose.weight_id),
            "cell_concentration": result("cell_concentration", "concentration"),
            "viability": result("viability", "percent"),
            "endotoxin": result("endotoxin", "endotoxin_concentration"),
            "fill_volume": dose.lot.fill_volume, "dmso_fraction": dose.lot.dmso_fraction,
            "limits": calculation.limits_from_config(current_app.config)}


def dose_signatures(dose):
    """The Part 11 signatures on the dose (prepared, verified), oldest first."""
    return auth.signatures_for("doses", dose.id)


def plan_check(dose):
    """For a planned dose: None when preparing it now would pass the plan's checks, else why it would be refused
    (the same checks prepare_dose makes, so the page can warn before the pharmacist thaws anything)."""
    try:
        _refuse_if_dosed(dose.subject)
        plan, _weight = compute_plan(dose.subject, dose.lot)
    except (Conflict, Invalid) as e:
        return e.message
    if abs(units.magnitude(plan.volume, "volume") - dose.volume_ml) > 1e-9 or \
            plan.containers_needed != dose.containers_needed:
        return "the plan is out of date (weight or QC results changed); plan the dose again"
    return None
