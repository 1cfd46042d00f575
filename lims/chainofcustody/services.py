"""The bag's chain of custody, the bedside two-person check and the infusion record (SPEC §10, §11)."""
import datetime as dt
import functools
import json

from flask import current_app
from sqlalchemy import bindparam, exists, select, text, update

from lims import barcodes, units
from lims.audit import services as audit
from lims.auth import services as auth
from lims.chainofcustody.models import BedsideCheck, ContainerEvent, CustodyEvent, Infusion
from lims.doses.services import bag_by_code
from lims.doses.models import Bag, Dose
from lims.errors import Conflict, Forbidden, Invalid, NotFound, invalid
from lims.extensions import db, insert_record
from lims.lots import isbt
from lims.lots.models import Lot
from lims.studies import follow_up
from lims.studies import services as studies
from lims.studies.models import Cohort, Subject
from lims.timeutil import aware, local, site_zone, utcnow

# Scanned moves: event -> (states it may come from, roles that may do it). SPEC §10.
BEFORE_INFUSING = ("prepared", "verified", "dispensed", "received", "bedside_verified")
MOVES = {
    "dispensed": ({"verified", "returned"}, ("pharmacist",)),
    "received": ({"dispensed"}, ("nurse",)),
    "returned": ({"dispensed", "received", "bedside_verified"}, ("nurse", "pharmacist")),
    "discarded": (set(BEFORE_INFUSING) | {"returned"}, ("pharmacist",)),
}


def record_bag_event(user, bag, from_status, to_status, location, holder=None, scanned=None, at=None, entry=None,
                     reason=None):
    """`entry` says how `scanned` reached us: "scanned" (a scanner) or "typed" (a person), None when not stated."""
    if bag.id is None:
        db.session.flush()  # a bag prepared in this transaction: its row first, the event refers to it
    event = insert_record(CustodyEvent(bag_id=bag.id, event=to_status, from_status=from_status, to_status=to_status,
                                       at=at or utcnow(), actor_id=user.id, holder_id=holder.id if holder else None,
                                       location=location, scanned=scanned, scan_entry=entry, reason=reason))
    audit.record(f"custody.{to_status}", event, reason=reason)
    return event


def record_container_event(user, container, event, location, at=None):
    row = ContainerEvent(container_id=container.id, event=event, at=at or utcnow(), actor_id=user.id,
                         location=location)
    db.session.add(row)
    return row


def bag_code_from_scan(scan):
    try:
        return barcodes.bag_code_from_scan(scan)
    except barcodes.ScanError as e:
        raise invalid("bag", str(e)) from None


def bag_from_scan(scan, lock=False):
    return bag_by_code(bag_code_from_scan(scan), lock=lock)


def _refuse_if_expired(bag, what):
    if aware(bag.expires_at) <= utcnow():
        raise Conflict(f"bag {bag.code} passed its post-thaw expiry at {local(bag.expires_at)}; "  # site time
                       f"it cannot be {what}", code="bag_expired", extra={"status": bag.status})


def move_bag(user, scan, event, location, entry=None, expected_bag=None, reason=None):
    """A scanned custody move: dispensed, received, returned or discarded (with its `reason`, SPEC §10). With
    expected_bag (a page about one bag), the scan must name that bag: the bag in hand is the one the page is about."""
    allowed_from, roles = MOVES[event]
    auth.require_role(user, *roles)
    if event == "discarded" and not (reason and reason.strip()):
        raise invalid("reason", "discarding a bag needs a reason")
    if expected_bag is not None and bag_code_from_scan(scan) != expected_bag:
        raise Conflict(f"the label scanned names bag {bag_code_from_scan(scan)}, not bag {expected_bag}: scan the "
                       "label of the bag in hand", code="wrong_bag", fields={"bag": ["not this page's bag"]})
    bag = bag_from_scan(scan, lock=True)
    if bag.status not in allowed_from:
        raise Conflict(f"bag {bag.code} is {bag.status}; it cannot be {event} from there",
                       code="invalid_transition", extra={"status": bag.status})
    if event in ("dispensed", "received"):
        if bag.lot.blocked:
            raise Conflict(f"lot {bag.lot.printed_number} is {bag.lot.status_text}: its bags are blocked",
                           code="lot_blocked", extra={"status": bag.status, "lot_status": bag.lot.status})
        _refuse_if_expired(bag, event)
    if event == "dispensed" and bag.label_prints < 1:
        raise Conflict(f"bag {bag.code} has no printed label yet; print it before dispensing",
                       code="label_not_printed", extra={"status": bag.status})
    from_status = bag.status
    bag.status, bag.location = event, location
    bag.holder_id = user.id
    record_bag_event(user, bag, from_status, event, location, holder=user, scanned=scan, entry=entry,
                     reason=reason.strip() if event == "discarded" else None)
    db.session.commit()
    return bag


def custody_timeline(bag):
    # In the order the moves were recorded, which is the state machine's order: an infusion start typed to the
    # minute may read a few seconds before the bedside check it follows (clock skew is allowed).
    return db.session.scalars(select(CustodyEvent).where(CustodyEvent.bag_id == bag.id)
                              .order_by(CustodyEvent.id)).all()


# --- bedside --------------------------------------------------------------------------------------------------

def verify_at_bedside(nurse, bag_scan, wristband, witness_username, witness_password, location=None, entries=None):
    """The two-person bedside check (SPEC §11). Every check is run and reported; a failure is a near miss."""
    witness = auth.user_by_username(witness_username)
    if witness is None:
        auth.refuse_unknown_signer(witness_username, witness_password)
    if witness.id == nurse.id:
        raise Forbidden("the witness must be a second nurse, not the one scanning", code="segregation_of_duties")
    if not witness.has_role("nurse"):
        raise Forbidden(f"witness {witness.username} is not a nurse", code="role_required")
    auth.check_password(witness, witness_password, "signature")
    bag = _bedside_facts(bag_scan)  # locked: two nurses at once, the second sees the first's result
    now = utcnow()
    checks, subject_id = _bedside_checks(bag, wristband, now)
    failures = [{"name": name, "message": message} for name, passed, message in checks if not passed]
    check = insert_record(BedsideCheck(
        bag_id=bag.id, subject_id=subject_id, bag_scan=bag_scan[:128], wristband_scan=str(wristband)[:128],
        bag_entry=(entries or {}).get("bag"), wristband_entry=(entries or {}).get("wristband"), nurse_id=nurse.id,
        witness_id=witness.id, at=now, ok=not failures,
        failures=json.dumps(failures) if failures else None))
    if failures:
        audit.record("bedside.near_miss", check, actor=nurse)
    else:
        db.session.execute(_BEDSIDE_VERIFIED, {"bag_id": bag.id})
        record_bag_event(nurse, bag, bag.status, "bedside_verified", location or bag.location, holder=nurse,
                         scanned=bag_scan, entry=(entries or {}).get("bag"))
        audit.record("bedside.verified", check, actor=nurse)
        auth.record_signature(witness, "witnessed", check)
    # The answer is built before the commit: after it the check would be expired and read back for its id.
    result = {"ok": not failures, "check_id": check.id, "bag": bag.code,
              "checks": [{"name": name, "passed": passed} for name, passed, _m in checks], "failures": failures}
    db.session.commit()
    return result


def _bedside_checks(bag, wristband, now):
    """Every bedside check of this bag against this wristband: ([(name, passed, message)], scanned subject id)."""
    if isinstance(wristband, str) and wristband == bag.wristband:
        subject_id, subject_code = bag.subject_id, bag.subject_code  # the wristband is unique: no second lookup
    else:
        scanned = studies.subject_by_wristband(wristband) if isinstance(wristband, str) else None
        subject_id, subject_code = (scanned.id, scanned.code) if scanned is not None else (None, None)
    checks = [
        ("right_subject", subject_id is not None and bag.subject_id == subject_id,
         "the wristband belongs to no enrolled subject" if subject_id is None else
         f"this bag is for subject {bag.subject_code}, not {subject_code}"),
        ("bag_verified", bag.dose_status == "verified", f"dose {bag.dose_id} is {bag.dose_status}, not verified"),
        ("bag_received", bag.status == "received", f"bag is {bag.status}, not received on the ward"),
        ("lot_released", bag.lot_status == "released",
         f"lot {isbt.printed(bag.din, bag.check_character)} is {bag.lot_status.replace('_', ' ')}"),
        # A person reads this: in the site's zone (SPEC §11).
        ("within_expiry", aware(bag.expires_at) > now, f"post-thaw expiry passed at {local(bag.expires_at)}"),
        ("not_infused", bag.status not in ("infusing", "infused") and not bag.has_infusion,
         "this bag was already infused"),
        # One infusion per subject (SPEC §6, §11): another bag of the subject already infused stops this one.
        ("subject_not_yet_infused", not bag.subject_infused,
         f"subject {bag.subject_code} was already infused from another bag: do not infuse this one; return it to "
         "pharmacy"),
    ]
    return checks, subject_id


def precheck_at_bedside(nurse, bag_scan, wristband, entries=None):
    """The scans before the witness (the bedside page, SPEC §11): every check that needs no witness is run at once,
    so a wrong wristband shows STOP before a second nurse is asked for a password. A failure is a near miss,
    recorded now, with no witness; a pass records nothing: the witnessed check that follows runs them all again."""
    bag = _bedside_facts(bag_scan)
    now = utcnow()
    checks, subject_id = _bedside_checks(bag, wristband, now)
    failures = [{"name": name, "message": message} for name, passed, message in checks if not passed]
    if not failures:
        db.session.rollback()  # the bag's lock is not held while the witness comes
        return {"ok": True, "check_id": None, "bag": bag.code, "failures": []}
    check = insert_record(BedsideCheck(
        bag_id=bag.id, subject_id=subject_id, bag_scan=bag_scan[:128], wristband_scan=str(wristband)[:128],
        bag_entry=(entries or {}).get("bag"), wristband_entry=(entries or {}).get("wristband"), nurse_id=nurse.id,
        witness_id=None, at=now, ok=False, failures=json.dumps(failures)))
    audit.record("bedside.near_miss", check, actor=nurse)
    result = {"ok": False, "check_id": check.id, "bag": bag.code, "failures": failures}
    db.session.commit()
    return result


def _bedside_facts(scan):
    """What the bedside check reads of a scanned bag, in one statement that locks the bag's row: its state, its
    dose's, its lot's, its subject's wristband, whether an infusion was ever recorded of it and whether one was of
    another bag of its subject. A named row, not the
    bag with everything its relationships would load: a check reads these facts and nothing else."""
    code = bag_code_from_scan(scan)
    bag = db.session.execute(_bedside_facts_statement(), {"code": code}).one_or_none()
    if bag is None:
        raise NotFound(f"no bag {code}", code="bag_not_found")
    return bag


@functools.cache
def _bedside_facts_statement():
    # Built once, on first use: its construction and cache key cost as much as running it.
    return (select(Bag.id, Bag.code, Bag.status, Bag.location, Bag.expires_at, Bag.subject_id, Bag.dose_id,
                   Dose.status.label("dose_status"), Lot.status.label("lot_status"), Lot.din, Lot.check_character,
                   Subject.code.label("subject_code"), Subject.wristband,
                   exists().where(Infusion.bag_id == Bag.id).label("has_infusion"),
                   exists().where(Infusion.subject_id == Bag.subject_id, Infusion.bag_id != Bag.id)
                   .label("subject_infused"))
            .join(Dose, Dose.id == Bag.dose_id).join(Lot, Lot.id == Bag.lot_id)
            .join(Subject, Subject.id == Bag.subject_id)
            .where(Bag.code == bindparam("code")).with_for_update(of=Bag.__table__))


_BEDSIDE_VERIFIED = Bag.__table__.update().where(Bag.__table__.c.id == bindparam("bag_id")).values(
    status="bedside_verified")


def near_misses(limit=50):
    return db.session.scalars(select(BedsideCheck).where(BedsideCheck.ok.is_(False))
                              .order_by(BedsideCheck.at.desc(), BedsideCheck.id.desc()).limit(limit)).all()


def near_misses_page(cursor=None, since=None, until=None, limit=50):
    """Near misses newest first, a page at a time (paging.Page), in the period [since, until) when given."""
    from lims.paging import keyset_page
    query = select(BedsideCheck).where(BedsideCheck.ok.is_(False))
    if since is not None:
        query = query.where(BedsideCheck.at >= since)
    if until is not None:
        query = query.where(BedsideCheck.at < until)
    return keyset_page(query, (BedsideCheck.at, BedsideCheck.id), cursor=cursor, limit=limit, descending=True)


# --- infusion -------------------------------------------------------------------------------------------------

def record_infusion(nurse, bag_code, started_at, completed_at, volume_infused, reactions, signature):
    auth.authenticate_signer(nurse, signature)
    bag = bag_by_code(bag_code, lock=True)
    if bag.status != "bedside_verified":
        raise Conflict(f"bag {bag.code} is {bag.status}; an infusion follows a passed bedside check",
                       code="invalid_transition", extra={"status": bag.status})
    check = db.session.scalar(select(BedsideCheck).where(BedsideCheck.bag_id == bag.id, BedsideCheck.ok.is_(True))
                              .order_by(BedsideCheck.at.desc()).limit(1))
    now = utcnow()
    skew = dt.timedelta(minutes=current_app.config["LIMS_CLOCK_SKEW_MINUTES"])
    future = [name for name, at in (("started_at", started_at), ("completed_at", completed_at)) if at > now + skew]
    if future:  # name every field that is in the future, the start first
        raise Invalid(f"{', '.join(future)}: cannot be in the future",
                      fields={name: ["cannot be in the future"] for name in future})
    if started_at < aware(check.at) - skew:
        raise invalid("started_at", "the infusion cannot start before the bedside check")
    if started_at < aware(bag.thawed_at):
        # The skew allows for a ward clock, not for a record that contradicts the thaw (SPEC §8, §11).
        raise invalid("started_at", f"the infusion cannot start before the bag was thawed ({local(bag.thawed_at)})")
    if completed_at < started_at:
        raise invalid("completed_at", "the end cannot be before the start")
    if started_at > aware(bag.expires_at):
        raise Conflict(f"the infusion started after the bag's post-thaw expiry ({local(bag.expires_at)})",
                       code="bag_expired", extra={"status": bag.status})
    if bag.lot.blocked:
        raise Conflict(f"lot {bag.lot.printed_number} is {bag.lot.status_text}", code="lot_blocked",
                       extra={"status": bag.status})
    _refuse_second_infusion(bag)
    infused_ml = units.magnitude(volume_infused, "volume")
    if infused_ml > bag.volume_ml + 1e-9:
        raise invalid("volume_infused", f"{infused_ml:g} mL is more than the bag holds ({bag.volume_ml:g} mL)")
    infusion = Infusion(bag_id=bag.id, subject_id=bag.subject_id, bedside_check_id=check.id, started_at=started_at,
                        completed_at=completed_at, volume_infused_ml=infused_ml, reactions=json.dumps(reactions),
                        nurse_id=nurse.id)
    db.session.add(infusion)
    record_bag_event(nurse, bag, "bedside_verified", "infusing", bag.location, holder=nurse, at=started_at)
    record_bag_event(nurse, bag, "infusing", "infused", bag.location, holder=nurse, at=completed_at)
    bag.status = "infused"
    bag.subject.infused_at = completed_at
    follow_up.schedule_follow_up(bag.subject, completed_at)  # the safety follow-up starts at the infusion (SPEC §6)
    # The cohort's count of subjects infused, incremented in SQL (two infusions at once both count).
    db.session.execute(update(Cohort).where(Cohort.id == bag.subject.cohort_id)
                       .values(infused_count=Cohort.infused_count + 1))
    infusion.signature = auth.record_signature(nurse, "administered", infusion)
    audit.record("infusion.recorded", infusion)
    # Each reaction becomes an adverse event of the subject in this same transaction (SPEC §6).
    from lims.safety import services as safety
    safety.record_reactions(nurse, bag.subject, bag, reactions, aware(started_at).astimezone(site_zone()).date())
    db.session.commit()
    return infusion


def _refuse_second_infusion(bag):
    """One infusion per subject (SPEC §6, §11). The subject's row is locked first, so two bags of one subject
    recorded at once are taken one after the other and the second sees the first's infusion."""
    db.session.execute(select(Subject.id).where(Subject.id == bag.subject_id).with_for_update())
    earlier = db.session.scalar(select(Infusion).where(Infusion.subject_id == bag.subject_id).limit(1))
    if earlier is not None:
        other = db.session.get(Bag, earlier.bag_id)
        raise Conflict(f"subject {bag.subject.code} was already infused from bag {other.code} at "
                       f"{local(earlier.completed_at)}: a subject receives one dose; do not infuse bag {bag.code}, "
                       "return it to pharmacy", code="subject_already_infused",
                       extra={"status": bag.status, "infused_bag": other.code})


# --- reads for the custody pages -------------------------------------------------------------------------------

def bags_in_status(*statuses, location=None):
    """Bags in these states, the soonest post-thaw expiry first: the order a ward works in. `location` narrows."""
    from lims.doses.models import Bag
    query = select(Bag).where(Bag.status.in_(statuses)).order_by(Bag.expires_at, Bag.id)
    if location:
        query = query.where(Bag.location == location)
    return db.session.scalars(query).all()


_WARD_NAMES = text("""
    WITH RECURSIVE ward(name) AS (
        SELECT min(location) FROM custody_events WHERE event = 'received'
        UNION ALL
        SELECT (SELECT min(location) FROM custody_events WHERE event = 'received' AND location > ward.name)
        FROM ward WHERE ward.name IS NOT NULL)
    SELECT name FROM ward WHERE name IS NOT NULL""")


def ward_names():
    """Every place a bag has been received, for the ward picker. A skip scan of the index (event, location): one
    index probe per ward, where a DISTINCT would read every bag ever received."""
    return list(db.session.scalars(_WARD_NAMES))


def get_bedside_check(check_id):
    from lims.errors import NotFound
    check = db.session.get(BedsideCheck, check_id)
    if check is None:
        raise NotFound(f"no bedside check {check_id}", code="bedside_check_not_found")
    return check


def last_passed_check(bag):
    return db.session.scalar(select(BedsideCheck).where(BedsideCheck.bag_id == bag.id, BedsideCheck.ok.is_(True))
                             .order_by(BedsideCheck.at.desc(), BedsideCheck.id.desc()).limit(1))


def infusion_of(bag):
    return db.session.scalar(select(Infusion).where(Infusion.bag_id == bag.id))


def failures_of(check):
    """The failed checks a near miss recorded: [{name, message}]."""
    return json.loads(check.failures) if check.failures else []


def reactions_of(infusion):
    """The reactions an infusion record lists (none without an infusion)."""
    return json.loads(infusion.reactions) if infusion else []


def bag_codes(bag_ids):
    from lims.doses.models import Bag
    ids = {i for i in bag_ids if i is not None}
    return dict(db.session.execute(select(Bag.id, Bag.code).where(Bag.id.in_(ids))).all()) if ids else {}


def bag_of(check):
    from lims.doses.models import Bag
    return db.session.get(Bag, check.bag_id)


def recall_impact(lot):
    """Whom a held or recalled lot reached and what it now blocks: the subjects already infused (the people to
    notify, each with bag and infusion) and the bags not yet infused, which the lot's state stops at every move."""
    return recall_impacts([lot])[lot.id]


def recall_impacts(lots):
    """recall_impact of many lots (a page of the recalls page) in two statements: their bags, their infusions."""
    from lims.doses.models import Bag
    ids = [lot.id for lot in lots]
    bags = db.session.scalars(select(Bag).where(Bag.lot_id.in_(ids)).order_by(Bag.id)).all() if ids else []
    infusions = {i.bag_id: i for i in db.session.scalars(
        select(Infusion).where(Infusion.bag_id.in_([b.id for b in bags])))} if bags else {}
    impacts = {i: {"reached": [], "blocked": []} for i in ids}
    for b in bags:
        if b.status in ("infusing", "infused"):
            impacts[b.lot_id]["reached"].append({"subject": b.subject, "bag": b, "infusion": infusions.get(b.id)})
        elif b.status in BEFORE_INFUSING or b.status == "returned":
            impacts[b.lot_id]["blocked"].append(b)
    return impacts


def last_received_location(user):
    """Where this nurse last received a bag: her ward, most likely, so the receive form starts there."""
    return db.session.scalar(select(CustodyEvent.location)
                             .where(CustodyEvent.event == "received", CustodyEvent.actor_id == user.id,
                                    CustodyEvent.location.is_not(None))
                             .order_by(CustodyEvent.at.desc(), CustodyEvent.id.desc()).limit(1))


def bedside_checks_of(bag):
    """Every bedside check of a bag, passed or STOP, oldest first: a near miss is part of the bag's story."""
    return db.session.scalars(select(BedsideCheck).where(BedsideCheck.bag_id == bag.id)
                              .order_by(BedsideCheck.at, BedsideCheck.id)).all()


NURSE_HELD = ("dispensed", "received", "bedside_verified")
PHARMACY_HELD = ("prepared", "verified", "dispensed", "returned")


def blocked_bags(statuses, location=None, limit=50):
    """Bags of a held or recalled lot still in these states, soonest expiry first, at most `limit`: what the people
    holding them must be told first (SPEC §10). One statement, bounded by what it shows."""
    query = (select(Bag).join(Lot, Lot.id == Bag.lot_id)
             .where(Lot.status.in_(("on_hold", "recalled")), Bag.status.in_(statuses))
             .order_by(Bag.expires_at, Bag.id).limit(limit))
    if location:
        query = query.where(Bag.location == location)
    return db.session.scalars(query).all()
