"""The custody pages (issue 6): the nurse's ward and bedside, a bag's custody timeline, the traces, and QA's near
misses and recalls. Thin handlers over lims.chainofcustody.services and trace; the rules live there."""
import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for

from lims import units
from lims.auth.access import current_user, login_required, roles_required
from lims.auth.services import BadPassword
from lims.chainofcustody import services, timeline, trace
from lims.chainofcustody.schemas import (BedsideRequestSchema, BedsideScanSchema, CustodyEventRequestSchema,
                                         InfusionRequestSchema)
from lims.doses.services import bag_by_code
from lims.errors import LimsError
from lims.lots import notifications
from lims.lots import services as lots
from lims.lots.schemas import NotificationRequestSchema
from lims.lots.schemas import DispositionRequestSchema
from lims.pages import load_form, refused, site_time
from lims.paging import period
from lims.scanning import read_scans
from lims.studies import services as studies
from lims.timeutil import aware, local, site_zone, utcnow

bp = Blueprint("chainofcustody_pages", __name__, template_folder="templates")

# What each bedside check means, in the words read at the bedside; in the order the service runs them.
CHECK_LABELS = {
    "right_subject": "Right subject: the wristband matches the bag",
    "bag_verified": "Dose verified by a second pharmacist",
    "bag_received": "Bag received on the ward",
    "lot_released": "Lot released (not on hold, not recalled)",
    "within_expiry": "Within post-thaw expiry",
    "not_infused": "Bag never infused before",
    "subject_not_yet_infused": "Subject never infused before (one dose per subject)",
}
ON_THE_WARD = ("received", "bedside_verified")
INFUSED = ("infusing", "infused")


def time_left(expires_at, now=None):
    """What the ward reads beside a bag: "2 h 14 min left", urgent under an hour, "EXPIRED" once past; with the
    expiry itself (to the second) for custody.js, which keeps counting in the open page."""
    expires_at = aware(expires_at)
    left = expires_at - (now or utcnow())
    stamp = expires_at.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    if left <= dt.timedelta(0):
        return {"text": "EXPIRED", "level": "expired", "expires_at": stamp}
    hours, minutes = divmod(int(left.total_seconds() // 60), 60)
    text = f"{hours} h {minutes} min left" if hours else (f"{minutes} min left" if minutes else "under 1 min left")
    return {"text": text, "level": "soon" if left < dt.timedelta(hours=1) else "ok", "expires_at": stamp}


def hold_words(bag, for_pharmacy=False):
    """A held or recalled lot's bag, said as what to do with it (SPEC §10): "Lot W1234 26 000003 J is on hold: do
    not infuse; return bag … (subject S-001, Ward 4) to pharmacy"."""
    lot = f"Lot {bag.lot.printed_number} is {bag.lot.status.replace('_', ' ')}"
    which = f"bag {bag.code} (subject {bag.subject.code}{', ' + bag.location if bag.location else ''})"
    if for_pharmacy and bag.status != "dispensed":
        return f"{lot}: do not dispense {which}; keep it aside in the pharmacy or discard it with a reason."
    if bag.status == "dispensed":
        return f"{lot}: do not receive or infuse {which}; return it to pharmacy."
    return f"{lot}: do not infuse; return {which} to pharmacy."


def _helpers():
    return {"check_labels": CHECK_LABELS, "display": units.display, "time_left": time_left,
            "when": timeline.local_time, "method_words": notifications.METHOD_WORDS, "hold_words": hold_words}


def _render(template, **context):
    return render_template(template, **_helpers(), **context)


def _refused(template, error, **context):
    return refused(template, error, **_helpers(), **context)


def _restated(error, message):
    """The same refusal (status, code, fields) in the words the person at this page needs."""
    return type(error)(message, fields=error.fields, code=error.code, extra=error.extra)


def _naming_scans(error, scans):
    """A refused scan is never put back in its field (the next scan would be typed after it): the message says
    what was scanned instead."""
    said = [f"{what} {value}".strip() for what, value in scans if value and value not in error.message]
    return _restated(error, f"{error.message} (scanned: {', '.join(said)})") if said else error


# --- the ward ---------------------------------------------------------------------------------------------------

def _ward_context(ward_name):
    return {"ward": ward_name, "wards": services.ward_names(),
            "receive_location": ward_name or services.last_received_location(current_user()) or "",
            "held": services.blocked_bags(services.NURSE_HELD, location=ward_name or None),
            "on_ward": services.bags_in_status(*ON_THE_WARD, location=ward_name or None),
            "awaiting": services.bags_in_status("dispensed"), "now": utcnow()}


@bp.route("/ward")
@roles_required("nurse")
def ward():
    ward_name = request.args.get("ward", "").strip()
    return _render("chainofcustody/ward.html", form=None, error=None, **_ward_context(ward_name))


def _scanned_move(event, form):
    body = load_form(CustodyEventRequestSchema(), form, event=event)
    return services.move_bag(current_user(), body["bag"], event, body["location"])


def _ward_refused(error, ward_name, **context):
    form = {"location": request.form.get("location", "")}  # the place stays; the refused scan does not
    return _refused("chainofcustody/ward.html", _naming_scans(error, [("", request.form.get("bag", "").strip())]),
                    form=form, **context, context=lambda: _ward_context(ward_name))


@bp.route("/ward/receive", methods=["POST"])
@roles_required("nurse")
def ward_receive():
    try:
        bag = _scanned_move("received", request.form)
    except LimsError as e:
        return _ward_refused(e, request.form.get("location", "").strip())
    flash(f"Bag {bag.code} received on {bag.location} for subject {bag.subject.code}.")
    return redirect(url_for(".ward", ward=bag.location))


@bp.route("/ward/return", methods=["POST"])
@roles_required("nurse", "pharmacist")
def ward_return():
    try:
        bag = _scanned_move("returned", request.form)
    except LimsError as e:
        return _ward_refused(e, request.args.get("ward", "").strip(), returning=True)
    flash(f"Bag {bag.code} returned to {bag.location}.")
    return redirect(url_for(".ward") if current_user().has_role("nurse") else url_for("main.home"))


# --- the bedside ------------------------------------------------------------------------------------------------

@bp.route("/bedside")
@roles_required("nurse")
def bedside():
    return _render("chainofcustody/bedside.html", form=None, error=None, focus=None, scans=None, matched=None)


def _bedside_refused(error, form):
    """A refusal that recorded no check (witness, scan): scans are made again, the witness fixes their part."""
    witness = form.get("witness.username", "").strip()
    focus = "witness-username" if error.status in (401, 403) else None  # None: the first empty field
    if isinstance(error, BadPassword) and error.message == "wrong password":
        # The scanning nurse is signed in; the only password typed here is the witness's.
        error = _restated(error, f"The witness's password is wrong ({witness}): the witness types their own "
                                 f"password.")
        focus = "witness-password"
    elif error.status == 401 and "witness" not in error.message:
        error = _restated(error, f"Witness {witness}: {error.message}")
    error = _naming_scans(error, [("wristband", form.get("wristband", "").strip()),
                                  ("bag", form.get("bag", "").strip())])
    return _refused("chainofcustody/bedside.html", error, form={"witness.username": witness}, focus=focus,
                    scans=None, matched=None)


def _witness_step(body, entries, error=None, form=None, focus="witness-username"):
    """The scans matched: the page names who and what they matched, carries them on, and only now asks the
    witness (SPEC §11: identity first)."""
    bag = bag_by_code(services.bag_code_from_scan(body["bag"]))
    scans = {"bag": body["bag"], "wristband": body["wristband"], "bag_entry": entries.get("bag") or "",
             "wristband_entry": entries.get("wristband") or ""}
    page = _render("chainofcustody/bedside.html", form=form, error=error, focus=focus, scans=scans, matched=bag)
    return page, error.status if error else 200


@bp.route("/bedside", methods=["POST"])
@roles_required("nurse")
def bedside_check():
    form, entries = read_scans(request.form, "wristband", "bag")
    # At the witness step the scans come back as hidden fields, with how each was entered at the first step.
    entries = {k: request.form.get(f"{k}_entry") or v for k, v in entries.items()}
    for carried in ("bag_entry", "wristband_entry"):
        form.pop(carried, None)
    extra = {f"{k}_entry": v for k, v in entries.items() if v in ("scanned", "typed")}
    witnessed = bool(request.form.get("witness.username", "").strip() or request.form.get("witness.password"))
    try:
        if not witnessed:
            # Step 1, the scans: a STOP here is recorded before any witness is asked for a password.
            body = load_form(BedsideScanSchema(), form, **extra)
            result = services.precheck_at_bedside(current_user(), body["bag"], body["wristband"], entries=entries)
            if result["ok"]:
                return _witness_step(body, entries)
        else:
            body = load_form(BedsideRequestSchema(), form, **extra)
            result = services.verify_at_bedside(current_user(), body["bag"], body["wristband"],
                                                body["witness"]["username"], body["witness"]["password"],
                                                body.get("location"), entries=entries)
    except LimsError as e:
        if witnessed and request.form.get("bag") and request.form.get("wristband"):
            return _witness_refused(e, request.form, entries)
        return _bedside_refused(e, form)
    # POST/redirect/GET, PASS or STOP alike: the check is recorded once, and reloading its page reads it again
    # instead of running it again (a second near miss, or a PASS turned into a STOP).
    return redirect(url_for(".bedside_result", check_id=result["check_id"]), code=303)


def _witness_refused(error, form, entries):
    """The witness's part refused (a wrong password, not a nurse): the matched scans stay, the witness tries again."""
    from lims.extensions import db
    db.session.rollback()
    witness = form.get("witness.username", "").strip()
    focus = "witness-username"
    if isinstance(error, BadPassword) and error.message == "wrong password":
        error = _restated(error, f"The witness's password is wrong ({witness}): the witness types their own "
                                 f"password.")
        focus = "witness-password"
    elif error.status == 401 and "witness" not in error.message:
        error = _restated(error, f"Witness {witness}: {error.message}")
    try:
        return _witness_step({"bag": form["bag"], "wristband": form["wristband"]}, entries, error=error,
                             form={"witness.username": witness}, focus=focus)
    except LimsError:
        return _bedside_refused(error, form)


def _infusion_defaults(bag, check):
    # The infusion starts at the check, rounded up to the second the form carries: a start before the check would
    # read out of order in the custody trail. The end is left for the nurse: only she knows when the bag ran through.
    start = aware(check.at) if check else utcnow()
    start = start.replace(microsecond=0) + dt.timedelta(seconds=1 if start.microsecond else 0)
    return {"started_at": start.astimezone(site_zone()).strftime("%Y-%m-%dT%H:%M:%S"), "completed_at": "",
            "volume_infused": units.display(bag.volume, "volume")}


def _moved_on(bag):
    """What happened to a bag since its bedside check: the infusion, or the last move that took it elsewhere."""
    infusion = services.infusion_of(bag)
    if infusion:
        return f"infusion recorded at {local(infusion.recorded_at)} by {infusion.nurse.full_name}"
    events = services.custody_timeline(bag)
    if not events:
        return f"bag {bag.status.replace('_', ' ')}"
    last = events[-1]
    where = f" at {last.location}" if last.location else ""
    return f"{last.event.replace('_', ' ')}{where} on {local(last.at)} by {last.actor.full_name}"


def _stopped_since(bag, now):
    """What turned a passed check into a STOP since it passed, read again at every load of its page: the lot put on
    hold or recalled, the post-thaw expiry passed, the subject infused from another bag. [{name, message}] in the
    order of CHECK_LABELS; the infusion record refuses all three too, but the nurse must read it before she starts."""
    stops = []
    if bag.lot.blocked:
        stops.append({"name": "lot_released", "message": hold_words(bag)})
    if aware(bag.expires_at) <= now:
        stops.append({"name": "within_expiry", "message": f"The post-thaw expiry passed at {local(bag.expires_at)}: "
                                                          f"do not infuse; return bag {bag.code} to pharmacy."})
    if bag.subject.infused_at is not None:
        stops.append({"name": "subject_not_yet_infused",
                      "message": f"Subject {bag.subject.code} was infused from another bag at "
                                 f"{local(bag.subject.infused_at)}: one dose per subject; do not infuse; return bag "
                                 f"{bag.code} to pharmacy."})
    return stops


def _check_context(check, bag):
    """A passed check is the live PASS screen with the infusion form only while it is the check the bag stands on
    and nothing has stopped it since (a hold, the expiry, another bag infused: a STOP in words, no form);
    afterwards (infused, returned, checked again) it is history, and reads as such."""
    current = check is not None and bag.status == "bedside_verified" and \
        services.last_passed_check(bag).id == check.id
    now = utcnow()
    from lims.labels import wording
    return {"check": check, "bag": bag, "current": current, "moved_on": None if current else _moved_on(bag),
            "stopped": _stopped_since(bag, now) if current else [],
            "defaults": _infusion_defaults(bag, check), "left": time_left(bag.expires_at, now),
            "delivered": wording.cells(units.of(bag.dose.delivered_cells, "cells"))}


@bp.route("/bedside/checks/<int:check_id>")
@roles_required("nurse")
def bedside_result(check_id):
    check = services.get_bedside_check(check_id)
    bag = services.bag_of(check)
    if not check.ok:
        failures = services.failures_of(check)
        failed = {f["name"] for f in failures}
        return _render("chainofcustody/bedside_stop.html", check=check, failures=failures, bag_code=bag.code,
                       wristband=check.wristband_scan,
                       checks=[{"name": n, "passed": n not in failed} for n in CHECK_LABELS])
    return _render("chainofcustody/bedside_pass.html", form=None, error=None, **_check_context(check, bag))


def _infusion_fields(form):
    """The page's own shapes of the infusion fields: wall-clock times of the site, reactions one per line."""
    fields = {"reactions": [line.strip() for line in form.get("reactions", "").splitlines() if line.strip()]}
    for name in ("started_at", "completed_at"):
        if form.get(name, "").strip():
            fields[name] = site_time(form[name].strip())
    return fields


@bp.route("/bags/<code>/infusion", methods=["POST"])
@roles_required("nurse")
def infusion_record(code):
    try:
        body = load_form(InfusionRequestSchema(), request.form, **_infusion_fields(request.form))
        infusion = services.record_infusion(current_user(), code, body["started_at"], body["completed_at"],
                                            body["volume_infused"], body["reactions"], body["signature"])
    except LimsError as e:
        def page():
            bag = bag_by_code(code)
            return _check_context(services.last_passed_check(bag), bag)
        return _refused("chainofcustody/bedside_pass.html", e, form=request.form, context=page)
    bag = bag_by_code(code)
    flash(f"Infusion recorded: bag {bag.code}, subject {bag.subject.code}, "
          f"{infusion.volume_infused_ml:g} mL, signed by {infusion.signature.printed_name}.")
    return redirect(url_for(".bag_page", code=code))


@bp.route("/bags/<code>/discard", methods=["POST"])
@roles_required("pharmacist")
def discard_bag(code):
    """The pharmacist discards the bag in hand, scanned, with the reason (SPEC §10): a held lot's bag, a bag
    dropped or out of its expiry."""
    try:
        body = load_form(CustodyEventRequestSchema(), request.form, event="discarded")
        bag = services.move_bag(current_user(), body["bag"], "discarded", body["location"],
                                expected_bag=bag_by_code(code).code, reason=body.get("reason"))
    except LimsError as e:
        def page():
            return _bag_context(bag_by_code(code))
        return _refused("chainofcustody/bag.html", _naming_scans(e, [("", request.form.get("bag", "").strip())]),
                        form={"reason": request.form.get("reason", ""), "location": request.form.get("location", "")},
                        context=page)
    flash(f"Bag {bag.code} discarded at {bag.location}: {body['reason'].strip()}.")
    return redirect(url_for(".bag_page", code=code))


# --- a bag's custody, and the traces ----------------------------------------------------------------------------

def _bag_context(bag):
    events = [trace.event_view(e) for e in services.custody_timeline(bag)]
    svg = timeline.custody_svg(events, f"Custody timeline of bag {bag.code}")
    infusion = services.infusion_of(bag)
    checks = [{"check": c, "failures": services.failures_of(c)} for c in services.bedside_checks_of(bag)]
    return {"bag": bag, "events": events, "svg": svg, "infusion": infusion, "checks": checks,
            "reactions": services.reactions_of(infusion), "now": utcnow(),
            "can_discard": current_user().has_role("pharmacist") and bag.status in services.MOVES["discarded"][0]}


@bp.route("/bags/<code>")
@login_required
def bag_page(code):
    return _render("chainofcustody/bag.html", form=None, error=None, **_bag_context(bag_by_code(code)))


def blocked_text(bag_status, lot_blocked):
    """The trace's "Blocked" column: a hold or recall stops the bags not yet infused; one already infused is not
    blocked, it is a subject to notify."""
    if not lot_blocked or bag_status == "discarded":
        return "no"
    return "infused — subject to notify" if bag_status in INFUSED else "yes"


@bp.route("/trace/lots/<int:lot_id>")
@login_required
def lot_trace_page(lot_id):
    lot = lots.get_lot(lot_id)
    found = trace.lot_trace(lot)
    for b in found["bags"]:
        b["blocked_text"] = blocked_text(b["status"], lot.blocked)
    return _render("chainofcustody/trace_lot.html", lot=lot, trace=found)


@bp.route("/trace/subjects/<int:subject_id>")
@login_required
def subject_trace_page(subject_id):
    found = trace.subject_trace(studies.get_subject(subject_id))
    svgs = [timeline.custody_svg(entry["custody"], f"Custody timeline of bag {entry['bag']['code']}",
                                 svg_id=f"custody-{n}") for n, entry in enumerate(found["bags"])]
    return _render("chainofcustody/trace_subject.html", trace=found, svgs=svgs)


# --- QA: near misses and recalls --------------------------------------------------------------------------------

def _near_miss_rows(checks):
    codes = services.bag_codes([c.bag_id for c in checks])
    return [{"check": c, "bag_code": codes.get(c.bag_id), "failures": services.failures_of(c)} for c in checks]


@bp.route("/near-misses")
@roles_required("qa")
def near_misses():
    since, until = period(request.args.get("since"), request.args.get("until"))
    page = services.near_misses_page(cursor=request.args.get("cursor"), since=since, until=until)
    return _render("chainofcustody/near_misses.html", rows=_near_miss_rows(page.rows), page=page,
                   since=request.args.get("since"), until=request.args.get("until"))


def _affected_lots(page_rows):
    """Each held or recalled lot with the disposition that put it there, whom it reached and what it blocks."""
    put_there = lots.current_dispositions(page_rows)
    impacts = services.recall_impacts(page_rows)
    told = notifications.notifications_by_subject(page_rows)
    for lot in page_rows:
        for r in impacts[lot.id]["reached"]:
            r["notifications"] = told.get((lot.id, r["subject"].id), [])
    return [{"lot": lot, "disposition": put_there.get(lot.id), **impacts[lot.id]} for lot in page_rows]


def _recall_context():
    affected = lots.lots_in_status_page(("on_hold", "recalled"), cursor=request.args.get("cursor"))
    released = lots.lots_in_status_page(("released",), cursor=request.args.get("released_cursor"), limit=50)
    return {"affected": _affected_lots(affected.rows), "affected_page": affected, "recallable": released.rows,
            "released_page": released}


@bp.route("/recalls")
@roles_required("qa")
def recalls():
    return _render("chainofcustody/recalls.html", form=None, error=None, **_recall_context())


@bp.route("/recalls/<int:lot_id>", methods=["POST"])
@roles_required("qa")
def recall_lot(lot_id):
    try:
        body = load_form(DispositionRequestSchema(), request.form)
        lot = lots.dispose(current_user(), lot_id, "recall", body["signature"], body.get("reason"))
    except LimsError as e:
        return _refused("chainofcustody/recalls.html", e, form=request.form, failed_lot=lot_id, context=_recall_context)
    reached = services.recall_impact(lot)["reached"]
    notify = ", ".join(f"{r['subject'].code} (bag {r['bag'].code})" for r in reached)
    flash(f"Lot {lot.printed_number} recalled. "
          + (f"Subjects to notify: {notify}." if reached else "No subject was infused from this lot."))
    return redirect(url_for(".recalls") + f"#lot-{lot.id}")


@bp.route("/recalls/<int:lot_id>/notifications", methods=["POST"])
@roles_required("qa")
def notify_subject(lot_id):
    """A subject told of the hold or recall, recorded from the recall page (SPEC §5)."""
    form = request.form
    fields = {"subject_id": int(form["subject_id"])} if form.get("subject_id", "").strip().isdecimal() \
        and len(form["subject_id"].strip()) <= 9 else {}
    if form.get("notified_at", "").strip():
        fields["notified_at"] = site_time(form["notified_at"].strip())
    try:
        body = load_form(NotificationRequestSchema(), form, **fields)
        told = notifications.record_notification(current_user(), lot_id, body["subject_id"], body["method"],
                                                 body["notified_at"], body["note"])
    except LimsError as e:
        return _refused("chainofcustody/recalls.html", e, form=form, failed_lot=lot_id,
                        failed_subject=form.get("subject_id"), context=_recall_context)
    subject = studies.get_subject(told["subject_id"])
    flash(f"Subject {subject.code}: notification recorded "
          f"({notifications.METHOD_WORDS[told['method']]}, {local(told['notified_at'])}).")
    return redirect(url_for(".recalls") + f"#lot-{lot_id}")


# --- dashboards (lims.dashboard) ----------------------------------------------------------------------------------

def _bag_row(bag, detail, now):
    # A bag of a held lot has no time left to use: its countdown would read as if it could still be given.
    blocked = bag.lot.blocked
    return {"text": f"{bag.code} — subject {bag.subject.code}",
            "left": None if blocked else time_left(bag.expires_at, now),
            "detail": f"lot {bag.lot.status.replace('_', ' ')}: do not use · {detail}" if blocked else detail,
            "href": f"/bags/{bag.code}"}


def _held_section(role, bags, for_pharmacy=False):
    """First on the home page of whoever holds a bag of a held or recalled lot: the bag, in words, with what to do.
    No section at all when there is none: the page's first lines stay for what is there."""
    if not bags:
        return []
    return [{"role": role, "title": "STOP: bags of a lot on hold or recalled", "template":
             "chainofcustody/_dashboard_held.html", "empty": "",
             "rows": [{"text": hold_words(b, for_pharmacy), "href": f"/bags/{b.code}"} for b in bags]}]


def nurse_dashboard(user):
    now = utcnow()
    on_ward = services.bags_in_status(*ON_THE_WARD)
    awaiting = services.bags_in_status("dispensed")
    # The partial draws each row's time left as a countdown (custody.js); the first section brings the assets.
    return _held_section("nurse", services.blocked_bags(services.NURSE_HELD)) + [
        {"role": "nurse", "title": "Bags on the ward, soonest expiry first", "template":
            "chainofcustody/_dashboard_nurse.html", "assets": True,
         "empty": "No bag is on the ward: receive one on the Ward page when the pharmacy sends it.",
         "rows": [_bag_row(b, f"{b.location} · {b.status.replace('_', ' ')}", now) for b in on_ward]},
        {"role": "nurse", "title": "Bags dispensed, awaiting receipt", "template":
            "chainofcustody/_dashboard_nurse.html",
         "empty": "No bag is on its way from the pharmacy.",
         "rows": [_bag_row(b, f"from {b.location}", now) for b in awaiting]},
    ]


def near_miss_text(row):
    """A near miss named by what failed: "STOP: right subject failed — wristband MRN-0999 scanned for bag …"."""
    failed = ", ".join(f["name"].replace("_", " ") for f in row["failures"]) or "check"
    return (f"STOP: {failed} failed — wristband {row['check'].wristband_scan} scanned for bag "
            f"{row['bag_code'] or row['check'].bag_scan}")


QA_HOME_ROWS = 5


def qa_dashboard(user):
    near = _near_miss_rows(services.near_misses(limit=QA_HOME_ROWS))
    affected = lots.lots_in_status_page(("on_hold", "recalled"), limit=QA_HOME_ROWS)
    return [
        {"role": "qa", "title": "Recent bedside near misses",
         "empty": "No bedside near miss has been recorded.",
         "rows": [{"text": near_miss_text(r),
                   "detail": f"{local(r['check'].at)} · {r['check'].nurse.full_name}, "
                             + (f"witness {r['check'].witness.full_name}" if r["check"].witness
                                else "stopped at the scans, before a witness"),
                   "href": "/near-misses"} for r in near]},
        {"role": "qa", "title": "Held or recalled lots: subjects to notify",
         "empty": "No lot is on hold or recalled.",
         "rows": [{"text": f"{a['lot'].printed_number} — {a['lot'].status.replace('_', ' ')}",
                   "detail": (f"{len(a['reached'])} infused subject(s) to notify: "
                              + ", ".join(r["subject"].code for r in a["reached"])) if a["reached"]
                   else f"no subject infused; {len(a['blocked'])} bag(s) blocked",
                   "href": f"/recalls#lot-{a['lot'].id}"} for a in _affected_lots(affected.rows)],
         "more": affected.has_more, "more_href": "/recalls"},
    ]


def pharmacist_dashboard(user):
    """The pharmacy's bags of a held or recalled lot: not to be dispensed; one on its way to a ward, to be called
    back."""
    return _held_section("pharmacist", services.blocked_bags(services.PHARMACY_HELD), for_pharmacy=True)
