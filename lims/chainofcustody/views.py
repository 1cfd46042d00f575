"""The custody pages (issue 6): the nurse's ward and bedside, a bag's custody timeline, the traces, and QA's near
misses and recalls. Thin handlers over lims.chainofcustody.services and trace; the rules live there."""
import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for

from lims import units
from lims.auth.access import current_user, login_required, roles_required
from lims.chainofcustody import services, timeline, trace
from lims.chainofcustody.schemas import BedsideRequestSchema, CustodyEventRequestSchema, InfusionRequestSchema
from lims.doses.services import bag_by_code
from lims.errors import LimsError
from lims.lots import services as lots
from lims.lots.schemas import DispositionRequestSchema
from lims.pages import load_form, refused, site_time
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
}
ON_THE_WARD = ("received", "bedside_verified")


def time_left(expires_at, now=None):
    """What the ward reads beside a bag: "2 h 14 min left", urgent under an hour, "EXPIRED" once past."""
    left = aware(expires_at) - (now or utcnow())
    if left <= dt.timedelta(0):
        return {"text": "EXPIRED", "level": "expired"}
    hours, minutes = divmod(int(left.total_seconds() // 60), 60)
    text = f"{hours} h {minutes} min left" if hours else (f"{minutes} min left" if minutes else "under 1 min left")
    return {"text": text, "level": "soon" if left < dt.timedelta(hours=1) else "ok"}


def _helpers():
    return {"check_labels": CHECK_LABELS, "display": units.display, "time_left": time_left,
            "when": timeline.local_time}


def _render(template, **context):
    return render_template(template, **_helpers(), **context)


def _refused(template, error, **context):
    return refused(template, error, **_helpers(), **context)


# --- the ward ---------------------------------------------------------------------------------------------------

def _ward_context(ward_name):
    return {"ward": ward_name, "wards": services.ward_names(),
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


@bp.route("/ward/receive", methods=["POST"])
@roles_required("nurse")
def ward_receive():
    try:
        bag = _scanned_move("received", request.form)
    except LimsError as e:
        return _refused("chainofcustody/ward.html", e, form=request.form,
                        **_ward_context(request.form.get("location", "").strip()))
    flash(f"Bag {bag.code} received on {bag.location} for subject {bag.subject.code}.")
    return redirect(url_for(".ward", ward=bag.location))


@bp.route("/ward/return", methods=["POST"])
@roles_required("nurse", "pharmacist")
def ward_return():
    try:
        bag = _scanned_move("returned", request.form)
    except LimsError as e:
        return _refused("chainofcustody/ward.html", e, form=request.form, returning=True,
                        **_ward_context(request.args.get("ward", "").strip()))
    flash(f"Bag {bag.code} returned to {bag.location}.")
    return redirect(url_for(".ward") if current_user().has_role("nurse") else url_for("main.home"))


# --- the bedside ------------------------------------------------------------------------------------------------

@bp.route("/bedside")
@roles_required("nurse")
def bedside():
    return _render("chainofcustody/bedside.html", form=None, error=None)


@bp.route("/bedside", methods=["POST"])
@roles_required("nurse")
def bedside_check():
    try:
        body = load_form(BedsideRequestSchema(), request.form)
        result = services.verify_at_bedside(current_user(), body["bag"], body["wristband"],
                                            body["witness"]["username"], body["witness"]["password"],
                                            body.get("location"))
    except LimsError as e:
        return _refused("chainofcustody/bedside.html", e, form=request.form)
    if result["ok"]:
        # POST/redirect/GET: reloading the PASS screen must not run the check again (it would fail as a near miss).
        return redirect(url_for(".bedside_result", check_id=result["check_id"]), code=303)
    return _render("chainofcustody/bedside_stop.html", checks=result["checks"], failures=result["failures"],
                   bag_code=result["bag"], wristband=body["wristband"]), 409


def _infusion_defaults(bag):
    # To the second: a start typed to the minute can read as earlier than the bedside check it followed.
    now = utcnow().astimezone(site_zone()).strftime("%Y-%m-%dT%H:%M:%S")
    return {"started_at": now, "completed_at": now, "volume_infused": units.display(bag.volume, "volume")}


def _pass_context(check, bag):
    return {"check": check, "bag": bag, "infusion": services.infusion_of(bag),
            "defaults": _infusion_defaults(bag)}


@bp.route("/bedside/checks/<int:check_id>")
@roles_required("nurse")
def bedside_result(check_id):
    check = services.get_bedside_check(check_id)
    bag = services.bag_of(check)
    if not check.ok:
        failures = services.failures_of(check)
        failed = {f["name"] for f in failures}
        return _render("chainofcustody/bedside_stop.html", failures=failures, bag_code=bag.code,
                       wristband=check.wristband_scan,
                       checks=[{"name": n, "passed": n not in failed} for n in CHECK_LABELS])
    return _render("chainofcustody/bedside_pass.html", form=None, error=None, **_pass_context(check, bag))


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
        bag = bag_by_code(code)
        return _refused("chainofcustody/bedside_pass.html", e, form=request.form,
                        **_pass_context(services.last_passed_check(bag), bag))
    bag = bag_by_code(code)
    flash(f"Infusion recorded: bag {bag.code}, subject {bag.subject.code}, "
          f"{infusion.volume_infused_ml:g} mL, signed by {infusion.signature.printed_name}.")
    return redirect(url_for(".bag_page", code=code))


# --- a bag's custody, and the traces ----------------------------------------------------------------------------

@bp.route("/bags/<code>")
@login_required
def bag_page(code):
    bag = bag_by_code(code)
    events = [trace.event_view(e) for e in services.custody_timeline(bag)]
    svg = timeline.custody_svg(events, f"Custody timeline of bag {bag.code}")
    infusion = services.infusion_of(bag)
    return _render("chainofcustody/bag.html", bag=bag, events=events, svg=svg, infusion=infusion,
                   reactions=services.reactions_of(infusion), now=utcnow())


@bp.route("/trace/lots/<int:lot_id>")
@login_required
def lot_trace_page(lot_id):
    lot = lots.get_lot(lot_id)
    return _render("chainofcustody/trace_lot.html", lot=lot, trace=trace.lot_trace(lot))


@bp.route("/trace/subjects/<int:subject_id>")
@login_required
def subject_trace_page(subject_id):
    found = trace.subject_trace(studies.get_subject(subject_id))
    svgs = [timeline.custody_svg(entry["custody"], f"Custody timeline of bag {entry['bag']['code']}",
                                 svg_id=f"custody-{n}") for n, entry in enumerate(found["bags"])]
    return _render("chainofcustody/trace_subject.html", trace=found, svgs=svgs)


# --- QA: near misses and recalls --------------------------------------------------------------------------------

def _near_miss_rows(limit):
    checks = services.near_misses(limit=limit)
    codes = services.bag_codes([c.bag_id for c in checks])
    return [{"check": c, "bag_code": codes.get(c.bag_id), "failures": services.failures_of(c)} for c in checks]


@bp.route("/near-misses")
@roles_required("qa")
def near_misses():
    return _render("chainofcustody/near_misses.html", rows=_near_miss_rows(200))


def _affected_lots():
    """Each held or recalled lot with the disposition that put it there, whom it reached and what it blocks."""
    affected = []
    for lot in lots.lots_in_status("on_hold", "recalled"):
        changes = [d for d in lots.dispositions(lot) if d.to_status == lot.status]
        affected.append({"lot": lot, "disposition": changes[-1] if changes else None,
                         **services.recall_impact(lot)})
    return affected


def _recall_context():
    return {"affected": _affected_lots(), "recallable": lots.lots_in_status("released", "on_hold")}


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
        return _refused("chainofcustody/recalls.html", e, form=request.form, failed_lot=lot_id, **_recall_context())
    reached = services.recall_impact(lot)["reached"]
    notify = ", ".join(f"{r['subject'].code} (bag {r['bag'].code})" for r in reached)
    flash(f"Lot {lot.din} {lot.check_character} recalled. "
          + (f"Subjects to notify: {notify}." if reached else "No subject was infused from this lot."))
    return redirect(url_for(".recalls") + f"#lot-{lot.id}")


# --- dashboards (lims.dashboard) ----------------------------------------------------------------------------------

def _bag_row(bag, detail):
    return {"text": f"{bag.code} — subject {bag.subject.code}", "detail": detail, "href": f"/bags/{bag.code}"}


def nurse_dashboard(user):
    now = utcnow()
    on_ward = services.bags_in_status(*ON_THE_WARD)
    awaiting = services.bags_in_status("dispensed")
    return [
        {"role": "nurse", "title": "Bags on the ward, soonest expiry first",
         "empty": "No bag is on the ward: receive one on the Ward page when the pharmacy sends it.",
         "rows": [_bag_row(b, f"{time_left(b.expires_at, now)['text']} · {b.location} · "
                                   f"{b.status.replace('_', ' ')}") for b in on_ward]},
        {"role": "nurse", "title": "Bags dispensed, awaiting receipt",
         "empty": "No bag is on its way from the pharmacy.",
         "rows": [_bag_row(b, f"{time_left(b.expires_at, now)['text']} · from {b.location}")
                  for b in awaiting]},
    ]


def qa_dashboard(user):
    near = _near_miss_rows(5)
    return [
        {"role": "qa", "title": "Recent bedside near misses",
         "empty": "No bedside near miss has been recorded.",
         "rows": [{"text": f"{local(r['check'].at)}: {r['check'].nurse.full_name}, bag {r['bag_code']}",
                   "detail": "; ".join(f["name"].replace("_", " ") for f in r["failures"]),
                   "href": "/near-misses"} for r in near]},
        {"role": "qa", "title": "Held or recalled lots: subjects to notify",
         "empty": "No lot is on hold or recalled.",
         "rows": [{"text": f"{a['lot'].din} {a['lot'].check_character} — {a['lot'].status.replace('_', ' ')}",
                   "detail": (f"{len(a['reached'])} infused subject(s) to notify: "
                              + ", ".join(r["subject"].code for r in a["reached"])) if a["reached"]
                   else f"no subject infused; {len(a['blocked'])} bag(s) blocked",
                   "href": f"/recalls#lot-{a['lot'].id}"} for a in _affected_lots()]},
    ]
