"""Rules of lots: DIN assignment, containers, QC results, evaluation against the release spec, disposition."""
import datetime as dt

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lims import units
from lims.audit import services as audit
from lims.auth import services as auth
from lims.errors import Conflict, Forbidden, NotFound, invalid
from lims.extensions import db, locked_or_read
from lims.lots import isbt
from lims.lots.models import (Container, DinSequence, Donor, LateQcReview, Lot, LotDisposition, Product, QcResult,
                              ReleaseSpec)
from lims.timeutil import UTC, aware, site_today, site_zone, utcnow

CATEGORICAL = ("negative", "positive")
AFTER_RELEASE = ("released", "on_hold")  # a lot on hold was released before: QC on it comes after release


# --- products and donors ---------------------------------------------------------------------------------------

def create_product(code, name, post_thaw_stability, storage_text=""):
    if db.session.scalar(select(Product.id).where(Product.code == code)) is not None:
        raise Conflict(f"product {code} exists", code="product_exists")
    product = Product(code=code, name=name, storage_text=storage_text,
                      post_thaw_stability_h=units.magnitude(post_thaw_stability, "duration"))
    db.session.add(product)
    audit.record("product.created", product)
    db.session.commit()
    return product


def product_by_code(code):
    product = db.session.scalar(select(Product).where(Product.code == code))
    if product is None:
        raise NotFound(f"no product {code}", code="product_not_found")
    return product


def register_donor(code, eligibility):
    if db.session.scalar(select(Donor.id).where(Donor.code == code)) is not None:
        raise Conflict(f"donor {code} is registered", code="donor_exists")
    donor = Donor(code=code, eligibility=eligibility)
    db.session.add(donor)
    audit.record("donor.created", donor)
    db.session.commit()
    return donor


def get_donor(donor_id):
    donor = db.session.get(Donor, donor_id)
    if donor is None:
        raise NotFound(f"no donor {donor_id}", code="donor_not_found")
    return donor


# --- lots ------------------------------------------------------------------------------------------------------

def get_lot(lot_id, lock=False):
    lot = locked_or_read(Lot, Lot.id == lot_id, lock=True) if lock else db.session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(f"no lot {lot_id}", code="lot_not_found")
    return lot


def spec_in_force(at=None):
    at = at or utcnow()
    spec = db.session.scalar(select(ReleaseSpec).where(ReleaseSpec.effective_from <= at)
                             .order_by(ReleaseSpec.effective_from.desc(), ReleaseSpec.version.desc()).limit(1))
    if spec is None:
        raise Conflict("no release specification is in force", code="no_release_spec")
    return spec


def _next_din():
    """Takes the next number of this year's sequence under a row lock: two registrations never share a DIN."""
    fin = current_app.config["LIMS_FACILITY_FIN"]
    year = site_today().year % 100
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(DinSequence).values(fin=fin, year=year, last_value=0).on_conflict_do_nothing())
    value = db.session.execute(
        update(DinSequence).where(DinSequence.fin == fin, DinSequence.year == year)
        .values(last_value=DinSequence.last_value + 1).returning(DinSequence.last_value)).scalar_one()
    if value > 999999:
        raise Conflict("this year's DIN sequence is exhausted", code="din_sequence_exhausted")
    return isbt.make_din(fin, year, value)


DEFAULT_DMSO_FRACTION = "10 %"  # SPEC §5: cryopreserved in 10 % v/v DMSO unless the lot says otherwise


def register_lot(user, product_code, donor_id, manufactured_on, expires_on, container_count, fill_volume,
                 dmso_fraction=None, storage=None):
    dmso_fraction = dmso_fraction if dmso_fraction is not None else units.parse(DEFAULT_DMSO_FRACTION, "percent")
    product = product_by_code(product_code)
    donor = get_donor(donor_id)
    if expires_on <= manufactured_on:
        raise invalid("expires_on", "must be after manufactured_on")
    if manufactured_on > site_today():
        raise invalid("manufactured_on", "cannot be in the future")
    if storage:
        _refuse_taken_positions(storage, container_count)
    din = _next_din()
    lot = Lot(din=din, check_character=isbt.check_character(din), product=product, donor=donor,
              spec=spec_in_force(), manufactured_on=manufactured_on, expires_on=expires_on,
              container_count=container_count, fill_volume_ml=units.magnitude(fill_volume, "volume"),
              dmso_fraction_percent=units.magnitude(dmso_fraction, "percent"), created_by_id=user.id)
    db.session.add(lot)
    for n in range(1, container_count + 1):
        container = Container(lot=lot, division=f"C{n:03d}", code=f"{din}-{product.code}-C{n:03d}",
                              fill_volume_ml=lot.fill_volume_ml, status="in_storage")
        if storage:
            container.freezer, container.rack, container.box = storage["freezer"], storage["rack"], storage["box"]
            container.position = storage.get("first_position", 1) + n - 1
        db.session.add(container)
    audit.record("lot.registered", lot)
    db.session.commit()
    return lot


def _refuse_taken_positions(storage, count):
    """One container per freezer position: refuse the registration rather than stack two vials in one slot."""
    freezer, rack, box = storage["freezer"], storage["rack"], storage["box"]
    first = storage.get("first_position", 1)
    taken = set(db.session.scalars(select(Container.position).where(
        Container.freezer == freezer, Container.rack == rack, Container.box == box)))
    clash = sorted(p for p in range(first, first + count) if p in taken)
    if clash:
        raise Conflict(f"positions {clash} of {freezer}/{rack}/{box} are occupied", code="position_occupied")


def lots_in_status(*statuses):
    return db.session.scalars(select(Lot).where(Lot.status.in_(statuses)).order_by(Lot.id)).all()


# --- QC results and evaluation ---------------------------------------------------------------------------------

def current_results(lot):
    """The valid result of each test: the latest that no correction has superseded."""
    rows = db.session.scalars(select(QcResult).where(QcResult.lot_id == lot.id).order_by(QcResult.id)).all()
    superseded = {r.supersedes_id for r in rows if r.supersedes_id}
    return {r.test: r for r in rows if r.id not in superseded}


def qc_history(lot):
    return db.session.scalars(select(QcResult).where(QcResult.lot_id == lot.id).order_by(QcResult.id)).all()


def result_quantity(result, kind):
    return units.of(result.numeric_value, kind) if result.numeric_value is not None else None


# The largest result each kind of test can plausibly read, in its canonical unit: a percentage is at most 100 %, and
# a concentration of 10^10 cells/mL or an endotoxin of 10^4 EU/mL is a mistyped exponent, not a measurement.
QC_MAXIMUM = {"percent": 100.0, "concentration": 1e10, "endotoxin_concentration": 1e4}


def record_qc_result(user, lot_id, test, raw_result, method=None, reason=None):
    lot = get_lot(lot_id, lock=True)
    if lot.status in ("rejected", "recalled"):
        raise Conflict(f"lot {lot.printed_number} is {lot.status}: no further QC results", code="lot_closed",
                       extra={"status": lot.status})
    requirement = {r.test: r for r in lot.spec.requirements}.get(test)
    if requirement is None:
        raise invalid("test", f"not in release specification {lot.spec.name} v{lot.spec.version}: "
                              f"choose from {', '.join(r.test for r in lot.spec.requirements)}")
    result = QcResult(lot_id=lot.id, test=test, method=method, recorded_by_id=user.id, reason=reason)
    if requirement.kind == "categorical":
        if not isinstance(raw_result, str) or raw_result.strip().lower() not in CATEGORICAL:
            raise invalid("result", f"{test} is negative or positive")
        result.text_value = raw_result.strip().lower()
    else:
        try:
            q = units.parse(raw_result, requirement.kind, allow_zero=True, maximum=QC_MAXIMUM.get(requirement.kind))
        except units.QuantityError as e:
            raise invalid("result", f"{test}: {e}") from None
        result.numeric_value, result.unit = units.magnitude(q, requirement.kind), units.CANONICAL[requirement.kind]
    earlier = current_results(lot).get(test)
    if earlier is not None:
        if not reason or not reason.strip():
            raise invalid("reason", f"{test} already has a result; a correction needs a reason")
        result.supersedes_id = earlier.id
    db.session.add(result)
    audit.record("qc.corrected" if earlier else "qc.recorded", result, reason=reason,
                 before=earlier.audit_dict() if earlier else None)
    db.session.flush()
    if lot.status in AFTER_RELEASE:
        # Even a result that still passes is news to QA once the lot is out (SPEC §5): it waits for QA's review.
        db.session.add(LateQcReview(lot_id=lot.id, qc_result_id=result.id, flagged_at=utcnow()))
    if lot.status == "released" and evaluate(lot)["status"] == "fail":
        # Release on interim results is normal; a late failing result must stop the lot in this same transaction.
        _change_status(lot, "on_hold", user, f"automatic hold: {test} result fails the specification",
                       automatic=True)
    db.session.commit()
    return result


def _criterion(requirement, result):
    if requirement.kind == "categorical":
        text = f"{requirement.expected_text}"
        shown = result.text_value if result else None
        met = None if result is None else result.text_value == requirement.expected_text
    else:
        unit = units.CANONICAL[requirement.kind]
        value = result.numeric_value if result else None
        shown = None if result is None else {"value": value, "unit": unit}
        if requirement.rule == "min":
            text = f"≥ {requirement.limit_value:g} {unit}"
            met = None if value is None else value >= requirement.limit_value
        elif requirement.rule == "max":
            text = f"≤ {requirement.limit_value:g} {unit}"
            met = None if value is None else value <= requirement.limit_value
        else:
            text, met = f"reported; > 0 {unit}", None if value is None else value > 0
    return {"test": requirement.test, "requirement": text, "result": shown,
            "met": bool(met) if met is not None else False, "missing": result is None}


def evaluate(lot, results=None):
    """The lot against its specification; `results` are its current results when the caller read them already."""
    results = current_results(lot) if results is None else results
    criteria = [_criterion(r, results.get(r.test)) for r in lot.spec.requirements]
    if any(c["missing"] for c in criteria):
        status = "fail" if any(not c["met"] and not c["missing"] for c in criteria) else "incomplete"
    else:
        status = "pass" if all(c["met"] for c in criteria) else "fail"
    return {"lot_id": lot.id, "spec": f"{lot.spec.name} v{lot.spec.version}", "status": status,
            "criteria": criteria}


def missing_tests(lot):
    return [c["test"] for c in evaluate(lot)["criteria"] if c["missing"]]


# --- disposition -----------------------------------------------------------------------------------------------

TRANSITIONS = {
    "release": ({"quarantine", "on_hold"}, "released", "released"),
    "reject": ({"quarantine"}, "rejected", "rejected"),
    "hold": ({"released"}, "on_hold", "held"),
    "recall": ({"released", "on_hold"}, "recalled", "recalled"),
}


def dispose(user, lot_id, action, signature, reason=None):
    """QA's signed release, rejection, hold or recall of a lot (SPEC §5)."""
    allowed_from, to_status, meaning = TRANSITIONS[action]
    auth.authenticate_signer(user, signature)
    lot = get_lot(lot_id, lock=True)
    if lot.status not in allowed_from:
        raise Conflict(f"lot {lot.printed_number} is {lot.status}; it cannot be {to_status.replace('_', ' ')} "
                       f"from there",
                       code="invalid_transition", extra={"status": lot.status})
    if action != "release" and not (reason and reason.strip()):
        raise invalid("reason", f"a {action} needs a reason")
    if action == "release":
        _check_release(user, lot)
    _change_status(lot, to_status, user, reason, signature_meaning=meaning)
    db.session.commit()
    return lot


def hold_in_transaction(user, lot, reason):
    """QA's signed hold of one lot inside the caller's transaction (a donor look-back holds every lot of the donor
    and commits once): the same status change, disposition and signature as dispose("hold"), without the commit."""
    if lot.status != "released":
        raise Conflict(f"lot {lot.printed_number} is {lot.status}; only a released lot is put on hold",
                       code="invalid_transition", extra={"status": lot.status})
    _change_status(lot, "on_hold", user, reason, signature_meaning="held")


def _check_release(user, lot):
    recorded = db.session.scalar(select(QcResult.id).where(QcResult.lot_id == lot.id,
                                                            QcResult.recorded_by_id == user.id).limit(1))
    if recorded is not None:
        raise Forbidden("segregation of duties: you recorded a QC result on this lot and cannot release it",
                        code="segregation_of_duties")
    evaluation = evaluate(lot)
    unmet = release_blockers(lot, evaluation)
    if unmet:
        raise Conflict("release refused: " + "; ".join(u["message"] for u in unmet), code="release_refused",
                       extra={"unmet": unmet, "evaluation": evaluation["status"]})


def release_blockers(lot, evaluation=None):
    """Every reason the lot cannot be released now (the list a refused release names); empty when it can be."""
    unmet = []
    evaluation = evaluation or evaluate(lot)
    for c in evaluation["criteria"]:
        if c["missing"]:
            unmet.append({"item": c["test"], "message": f"{c['test']}: no result (requirement {c['requirement']})"})
        elif not c["met"]:
            unmet.append({"item": c["test"], "message": f"{c['test']}: {_shown(c['result'])} does not meet "
                                                       f"{c['requirement']}"})
    if lot.donor.eligibility != "eligible":
        unmet.append({"item": "donor_eligibility", "message": f"donor {lot.donor.code} is {lot.donor.eligibility}"})
    if lot.expires_on < site_today():
        unmet.append({"item": "expiry", "message": f"lot expired on {lot.expires_on.isoformat()}"})
    return unmet


def _shown(result):
    return f"{result['value']:g} {result['unit']}" if isinstance(result, dict) else str(result)


def _change_status(lot, to_status, user, reason, signature_meaning=None, automatic=False):
    before = lot.audit_dict()
    disposition = LotDisposition(lot_id=lot.id, from_status=lot.status, to_status=to_status, reason=reason,
                                 automatic=automatic, by_id=user.id, at=utcnow())
    lot.status = to_status
    db.session.add(disposition)
    if signature_meaning:
        disposition.signature = auth.record_signature(user, signature_meaning, lot)
    audit.record(f"lot.{to_status}", lot, before=before, reason=reason)


def dispositions(lot):
    return db.session.scalars(select(LotDisposition).where(LotDisposition.lot_id == lot.id)
                              .order_by(LotDisposition.id)).all()


def is_unexpired(lot, on=None):
    return lot.expires_on >= (on or site_today())


def expiry_end(lot):
    """The instant the lot's expiry day ends: midnight after `expires_on` in the site's zone, in UTC. The lot is
    usable through the whole of that site day (is_unexpired), and nothing thawed from it outlives it."""
    day_after = lot.expires_on + dt.timedelta(days=1)
    return dt.datetime.combine(day_after, dt.time(), tzinfo=site_zone()).astimezone(UTC)



# --- reads for the pages ---------------------------------------------------------------------------------------

def all_lots(status=None):
    """Newest first; `status` narrows to one lot status."""
    query = select(Lot).order_by(Lot.id.desc())
    if status:
        query = query.where(Lot.status == status)
    return db.session.scalars(query).all()


def current_results_of(lots):
    """{lot id: {test: valid result}} for many lots in one statement (a page of lots, each evaluated)."""
    ids = [lot.id for lot in lots]
    by_lot = {i: [] for i in ids}
    if ids:
        for r in db.session.scalars(select(QcResult).where(QcResult.lot_id.in_(ids)).order_by(QcResult.id)):
            by_lot[r.lot_id].append(r)
    current = {}
    for lot_id, rows in by_lot.items():
        superseded = {r.supersedes_id for r in rows if r.supersedes_id}
        current[lot_id] = {r.test: r for r in rows if r.id not in superseded}
    return current


def evaluations(lots):
    """{lot id: evaluation} for many lots, their results read in one statement."""
    results = current_results_of(lots)
    return {lot.id: evaluate(lot, results[lot.id]) for lot in lots}


def lots_page(status=None, since=None, until=None, cursor=None, limit=50):
    """One page of lots, newest first (paging.Page); `status` narrows to one status, since/until to the lots
    manufactured in that period (dates, both included)."""
    from lims.paging import keyset_page
    query = select(Lot)
    if status:
        query = query.where(Lot.status == status)
    if since:
        query = query.where(Lot.manufactured_on >= since)
    if until:
        query = query.where(Lot.manufactured_on <= until)
    return keyset_page(query, (Lot.id,), cursor=cursor, limit=limit, descending=True)


def lots_in_status_page(statuses, cursor=None, limit=20):
    """Lots in these statuses, newest first, a page at a time (paging.Page)."""
    from lims.paging import keyset_page
    return keyset_page(select(Lot).where(Lot.status.in_(statuses)), (Lot.id,), cursor=cursor, limit=limit,
                       descending=True)


def current_dispositions(lots):
    """{lot id: the status change that put it where it is now} for many lots, in one statement."""
    wanted = {lot.id: lot.status for lot in lots}
    found = {}
    if wanted:
        for d in db.session.scalars(select(LotDisposition).where(LotDisposition.lot_id.in_(wanted))
                                    .order_by(LotDisposition.id)):
            if d.to_status == wanted[d.lot_id]:
                found[d.lot_id] = d  # the latest wins
    return found


def recent_donors(limit=50):
    """The donors a new lot is most likely for: the latest registered (the register form's choice)."""
    return db.session.scalars(select(Donor).order_by(Donor.id.desc()).limit(limit)).all()


def all_products():
    return db.session.scalars(select(Product).order_by(Product.code)).all()


def all_donors():
    return db.session.scalars(select(Donor).order_by(Donor.code)).all()


def qc_history_with_corrections(lot):
    """Each result with the correction that superseded it (None while it is the valid one)."""
    rows = qc_history(lot)
    superseded_by = {r.supersedes_id: r for r in rows if r.supersedes_id}
    return [{"result": r, "superseded_by": superseded_by.get(r.id)} for r in rows]


def current_disposition(lot):
    """The status change that put the lot where it is now (its recall or hold, with date and reason); None for a lot
    that has stayed in quarantine."""
    return db.session.scalar(select(LotDisposition).where(LotDisposition.lot_id == lot.id,
                                                          LotDisposition.to_status == lot.status)
                             .order_by(LotDisposition.id.desc()).limit(1))


def disposition_history(lot):
    """Each status change with who made it (an automatic hold has no signature, but it has an actor)."""
    from lims.auth.models import User
    rows = dispositions(lot)
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_({d.by_id for d in rows})))}
    return [{"disposition": d, "by": people.get(d.by_id)} for d in rows]


def product_trend(product, tests=("viability", "cell_concentration"), cursor=None, since=None, until=None,
                  limit=50):
    """A page of the product's lots, the latest manufactured first (paging.Page of rows: the lot with its evaluation
    criterion for each trended test: the valid result and whether it meets the lot's own specification, None where
    the spec has no such test). `cursor` reads the lots before; since/until narrow to a manufacture period."""
    from lims.paging import keyset_page
    query = select(Lot).where(Lot.product_id == product.id)
    if since:
        query = query.where(Lot.manufactured_on >= since)
    if until:
        query = query.where(Lot.manufactured_on <= until)
    page = keyset_page(query, (Lot.manufactured_on, Lot.id), cursor=cursor, limit=limit, descending=True)
    evaluated = evaluations(page.rows)
    rows = []
    for lot in page.rows:
        criteria = {c["test"]: c for c in evaluated[lot.id]["criteria"]}
        rows.append({"lot": lot, **{test: criteria.get(test) for test in tests}})
    page.rows = rows
    return page


def qc_outside_spec(since):
    """Valid results recorded since `since` that miss their requirement, on lots still open to QC."""
    lots = db.session.scalars(select(Lot).join(QcResult, QcResult.lot_id == Lot.id)
                              .where(QcResult.recorded_at >= since, Lot.status.notin_(("rejected", "recalled")))
                              .distinct().order_by(Lot.id)).all()
    found = []
    current = current_results_of(lots)
    for lot in lots:
        results = current[lot.id]
        for c in evaluate(lot, results)["criteria"]:
            result = results.get(c["test"])
            if result is not None and not c["met"] and aware(result.recorded_at) >= since:
                found.append({"lot": lot, "criterion": c, "result": result})
    return found


def holds():
    """Lots on hold, each with the disposition that put it there (automatic when a late QC result failed)."""
    held = lots_in_status("on_hold")
    put_there = current_dispositions(held)
    return [{"lot": lot, "hold": put_there.get(lot.id)} for lot in held]


def requirement_text(requirement):
    """The requirement as the evaluation states it, e.g. "≥ 70 %"."""
    return _criterion(requirement, None)["requirement"]
