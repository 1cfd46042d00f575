"""Lot pages for technicians and QA (issue 3): thin handlers over lims.lots.services.

Every form is read through the API's own schema (lims.pages.load_form) and handed to the same service the API
calls, so a page can neither accept what the API refuses nor refuse what it accepts. A refusal re-renders the page
it came from with the reason beside the form, and the status the API would answer.
"""
import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for

from lims import units
from lims.auth.access import current_user, login_required, roles_required
from lims.errors import LimsError, invalid
from lims.lots import chart, lookback, qc_review, schemas, services
from lims.lots.models import ELIGIBILITY, LOT_STATUSES
from lims.pages import load_form, refused
from lims.paging import dates
from lims.safety import services as safety
from lims.timeutil import utcnow

bp = Blueprint("lots_pages", __name__, template_folder="templates")

ATTENTION_DAYS = 14    # how far back the technician's dashboard looks for out-of-specification QC
# What each kind of QC test takes, shown beside the result field.
EXPECTED = {"categorical": "negative or positive", **units.CANONICAL}
DIALOGS = {  # action -> (title, meaning, button, danger, needs a reason)
    "release": ("Release lot", "released", "Release", False, False),
    "reject": ("Reject lot", "rejected", "Reject", True, True),
    "hold": ("Put lot on hold", "held", "Hold", False, True),
    "recall": ("Recall lot", "recalled", "Recall", True, True),
}


@bp.context_processor
def lot_helpers():
    return {"shown": shown, "display": units.display, "qc_value": qc_value}


def shown(result):
    """An evaluation result as people read it: "92 %", "12 × 10⁶ cell/mL", "negative", or an em dash."""
    if result is None:
        return "—"
    if isinstance(result, dict):
        return _quantity_text(result["value"], result["unit"])
    return str(result)


def qc_value(row):
    return row.text_value if row.text_value is not None else _quantity_text(row.numeric_value, row.unit)


def _quantity_text(value, unit):
    # Cell counts read as millions at the bench ("12 × 10⁶ cell/mL"), the way the chart's axis shows them.
    return f"{value / 1e6:.4g} × 10⁶ {unit}" if abs(value) >= 1e5 else f"{value:g} {unit}"


def _integers(form, *names):
    # The API schema takes JSON integers only (strict); a form sends text. Digits become numbers here, anything
    # else (letters, a sign, an absurd length) is left for the schema to refuse with the field named.
    return {n: int(form[n]) for n in names if form.get(n, "").strip().isdecimal() and len(form[n].strip()) <= 9}


# --- lot list, registration --------------------------------------------------------------------------------------

def _list_context():
    status = request.args.get("status") or None
    if status is not None and status not in LOT_STATUSES:
        raise invalid("status", f"choose one of {', '.join(LOT_STATUSES)}")
    since, until = dates(request.args.get("since"), request.args.get("until"))
    page = services.lots_page(status, since, until, cursor=request.args.get("cursor"))
    evaluations = services.evaluations(page.rows)
    return {"lots": [{"lot": lot, "evaluation": evaluations[lot.id]["status"]} for lot in page.rows],
            "page": page, "since": request.args.get("since"), "until": request.args.get("until"),
            "status": status, "default_dmso": services.DEFAULT_DMSO_FRACTION,
            "status_options": [("", "every status")] + [(s, s.replace("_", " ")) for s in LOT_STATUSES],
            "product_options": [(p.code, f"{p.code} — {p.name}") for p in services.all_products()],
            "donor_options": [(d.id, f"{d.code} ({d.eligibility})") for d in services.recent_donors()],
            "eligibility_options": [(e, e) for e in ELIGIBILITY]}


@bp.route("/lots")
@roles_required("technician", "qa")
def lot_list():
    return render_template("lots/list.html", **_list_context())


def _list_refused(error, failed):
    return refused("lots/list.html", error, form=request.form, failed=failed, context=_list_context)


@bp.route("/lots/new", methods=["POST"])
@roles_required("technician")
def register_lot():
    try:
        body = load_form(schemas.LotCreateSchema(), request.form,
                         **_integers(request.form, "donor_id", "container_count"))
        lot = services.register_lot(current_user(), body["product_code"], body["donor_id"], body["manufactured_on"],
                                    body["expires_on"], body["container_count"], body["fill_volume"],
                                    body["dmso_fraction"], body["storage"])
    except LimsError as e:
        return _list_refused(e, "lot")
    flash(f"Lot {lot.printed_number} registered in quarantine "
          f"with {lot.container_count} containers.")
    return redirect(url_for(".lot_page", lot_id=lot.id))


@bp.route("/donors/new", methods=["POST"])
@roles_required("technician")
def register_donor():
    try:
        body = load_form(schemas.DonorCreateSchema(), request.form)
        donor = services.register_donor(body["code"], body["eligibility"])
    except LimsError as e:
        return _list_refused(e, "donor")
    flash(f"Donor {donor.code} registered ({donor.eligibility}).")
    return redirect(url_for(".lot_list"))


# --- one lot -----------------------------------------------------------------------------------------------------

# The lot page shows the newest events after the lot and their count; the API lists them all.
LOT_EVENTS = 20


def _lot_context(lot_id):
    lot = services.get_lot(lot_id)
    evaluation = services.evaluate(lot)
    user = current_user()
    actions = [a for a, (allowed, _, _) in services.TRANSITIONS.items() if lot.status in allowed]
    missing = [c["test"] for c in evaluation["criteria"] if c["missing"]]
    return {"lot": lot, "evaluation": evaluation, "history": services.qc_history_with_corrections(lot),
            "dispositions": services.disposition_history(lot),
            "blockers": services.release_blockers(lot, evaluation) if "release" in actions else [],
            "test_options": _test_options(lot, evaluation),
            # The bench records the tests in turn: the form opens on the first one still without a result.
            "next_test": missing[0] if missing else None,
            "can_record_qc": user.has_role("technician") and lot.status not in ("rejected", "recalled"),
            "actions": actions if user.has_role("qa") else [], "dialogs": DIALOGS,
            "eligibility_choices": [(e, e) for e in ELIGIBILITY if e != lot.donor.eligibility] if user.has_role("qa")
            else [],
            "late_reviews": qc_review.reviews_of(lot), "adverse_events": safety.lot_events_page(lot.id, LOT_EVENTS)}


def _test_options(lot, evaluation):
    """Each test of the lot's specification for the QC form; one that has a result is marked, as a new entry for it
    is a correction and needs a reason."""
    criteria = {c["test"]: c for c in evaluation["criteria"]}
    options = []
    for r in lot.spec.requirements:
        c = criteria[r.test]
        text = f"{r.test} — needs {services.requirement_text(r)} (enter {EXPECTED[r.kind]})"
        if not c["missing"]:
            text += f" — has {shown(c['result'])}: a new entry corrects it"
        options.append({"test": r.test, "text": text, "has_result": not c["missing"]})
    return options


@bp.route("/lots/<int:lot_id>")
@login_required
def lot_page(lot_id):
    return render_template("lots/lot.html", **_lot_context(lot_id))


def _lot_refused(lot_id, error, failed):
    return refused("lots/lot.html", error, form=request.form, failed=failed, context=lambda: _lot_context(lot_id))


@bp.route("/lots/<int:lot_id>/qc", methods=["POST"])
@roles_required("technician")
def record_qc(lot_id):
    status_before = services.get_lot(lot_id).status
    try:
        body = load_form(schemas.QcCreateSchema(), request.form)
        result = services.record_qc_result(current_user(), lot_id, body["test"], body["result"], body["method"],
                                           body["reason"])
    except LimsError as e:
        return _lot_refused(lot_id, e, "qc")
    lot = services.get_lot(lot_id)
    message = (f"{result.test} {'corrected' if result.supersedes_id else 'recorded'}: {qc_value(result)}.")
    if lot.status == "on_hold" and status_before != "on_hold":
        message += " The lot no longer meets its specification and is now ON HOLD."
    flash(message)
    return redirect(url_for(".lot_page", lot_id=lot_id, _anchor="qc"))


@bp.route("/lots/<int:lot_id>/qc-review", methods=["POST"])
@roles_required("qa")
def review_late_qc(lot_id):
    try:
        body = load_form(schemas.LateQcReviewRequestSchema(), request.form)
        answer = qc_review.review_late_qc(current_user(), lot_id, body["signature"], body.get("note"))
    except LimsError as e:
        return _lot_refused(lot_id, e, "review")
    tests = ", ".join(r["test"] for r in answer["reviewed"])
    flash(f"Late QC result(s) reviewed ({tests}), signed by {answer['signature']['printed_name']}.")
    return redirect(url_for(".lot_page", lot_id=lot_id, _anchor="late-qc"))


@bp.route("/lots/<int:lot_id>/donor-eligibility", methods=["POST"])
@roles_required("qa")
def determine_donor_eligibility(lot_id):
    """The look-back from the lot page: the lot's donor changed, every released lot of the donor held (SPEC §5)."""
    lot = services.get_lot(lot_id)
    try:
        body = load_form(schemas.DonorEligibilityRequestSchema(), request.form)
        answer = lookback.determine_donor_eligibility(current_user(), lot.donor_id, body["eligibility"],
                                                      body["reason"], body["signature"])
    except LimsError as e:
        return _lot_refused(lot_id, e, "donor")
    held = ", ".join(h["printed_number"] for h in answer["lots_held"])
    notify = ", ".join(f"{s['code']} (bag {s['bag']})" for s in answer["subjects_to_notify"])
    flash(f"Donor {answer['donor']['code']} is now {answer['donor']['eligibility']}. "
          + (f"Put on hold: {held}. " if held else "No released lot to hold. ")
          + (f"Subjects to notify: {notify}." if notify else "No subject was infused from this donor's lots."))
    return redirect(url_for("chainofcustody_pages.recalls") if answer["lots_held"] or notify
                    else url_for(".lot_page", lot_id=lot_id))


def _disposition_page(action):
    @roles_required("qa")
    def route(lot_id):
        from_queue = request.form.get("return_to") == "queue"
        form = request.form.copy()
        form.pop("return_to", None)  # where to go back to is the page's business, not the record's
        try:
            body = load_form(schemas.DispositionRequestSchema(), form)
            lot = services.dispose(current_user(), lot_id, action, body["signature"], body["reason"])
        except LimsError as e:
            if from_queue:
                return refused("lots/release_queue.html", e, form=request.form, failed=lot_id, context=_queue_context)
            return _lot_refused(lot_id, e, action)
        flash(f"Lot {lot.printed_number} is now "
              f"{lot.status.replace('_', ' ')}, signed by {current_user().full_name}.")
        return redirect(url_for(".release_queue") if from_queue else url_for(".lot_page", lot_id=lot_id))

    route.__name__ = f"{action}_lot"
    bp.route(f"/lots/<int:lot_id>/{action}", methods=["POST"], endpoint=f"{action}_lot")(route)


for _action in services.TRANSITIONS:
    _disposition_page(_action)


# --- QA's release queue ------------------------------------------------------------------------------------------

def _queue_context():
    quarantined, holds = services.lots_in_status("quarantine"), services.holds()
    evaluated = services.evaluations(quarantined + [h["lot"] for h in holds])

    def row(lot):
        evaluation = evaluated[lot.id]
        return {"lot": lot, "evaluation": evaluation["status"],
                "blockers": services.release_blockers(lot, evaluation)}

    late = late_qc_list(limit=QUEUE_LATE_QC_ROWS)
    return {"queue": [row(lot) for lot in quarantined], "holds": [{**row(h["lot"]), "hold": h["hold"]} for h in holds],
            "late_qc": late}


@bp.route("/lots/release-queue")
@roles_required("qa")
def release_queue():
    return render_template("lots/release_queue.html", **_queue_context())


# --- product page with the QC trend ------------------------------------------------------------------------------

def _limit(requirement, scale=1.0):
    if requirement is None or requirement.kind == "categorical":
        return None
    value = 0.0 if requirement.rule == "positive" else requirement.limit_value / scale
    return chart.Limit(value, services.requirement_text(requirement))


def _points(trend, test, scale=1.0):
    points = []
    for row in trend:
        lot, criterion = row["lot"], row[test]
        result = criterion["result"] if criterion and not criterion["missing"] else None
        points.append(chart.Point(lot.printed_number,
                                  lot.manufactured_on.isoformat(),
                                  None if result is None else result["value"] / scale,
                                  met=bool(criterion and criterion["met"])))
    return points


@bp.route("/products/<code>")
@login_required
def product_page(code):
    product = services.product_by_code(code)
    since, until = dates(request.args.get("since"), request.args.get("until"))
    page = services.product_trend(product, cursor=request.args.get("cursor"), since=since, until=until)
    trend = list(reversed(page.rows))  # the chart and its table read in order of manufacture
    try:
        spec = services.spec_in_force()
        limits = {r.test: r for r in spec.requirements}
    except LimsError:
        spec, limits = None, {}  # no specification in force: the chart is drawn without a limit line
    charts = [
        {"caption": "Post-thaw viability (%)",
         "svg": chart.trend_svg("trend-viability", f"{product.code} post-thaw viability (%) by lot", "%",
                                _points(trend, "viability"), _limit(limits.get("viability")), y_max=100)},
        {"caption": "Cell concentration (10⁶ cell/mL)",
         "svg": chart.trend_svg("trend-concentration", f"{product.code} cell concentration (10⁶ cell/mL) by lot",
                                "10⁶ cell/mL", _points(trend, "cell_concentration", 1e6),
                                _limit(limits.get("cell_concentration"), 1e6))},
    ]
    return render_template("lots/product.html", product=product, trend=trend, charts=charts, spec=spec, page=page,
                           since=request.args.get("since"), until=request.args.get("until"))


# --- dashboards (lims.dashboard) ---------------------------------------------------------------------------------
# One section per role (home.html names a section by its role), holding its lists drawn by lots/_dashboard.html.

def _naming(lot, what):
    """A dashboard line about a lot: `text` in plain words, and `what` to follow the boxed DIN the partial draws."""
    return {"text": f"{lot.printed_number} — {what}", "what": what}


def _section(role, title, lists):
    return {"role": role, "title": title, "template": "lots/_dashboard.html", "lists": lists,
            "rows": [row for part in lists for row in part["rows"]], "empty": lists[0]["empty"]}


def technician_dashboard(user):
    since = utcnow() - dt.timedelta(days=ATTENTION_DAYS)
    waiting, complete = [], []
    quarantined = services.lots_in_status("quarantine")
    evaluated = services.evaluations(quarantined)
    for lot in quarantined:
        missing = [c["test"] for c in evaluated[lot.id]["criteria"] if c["missing"]]
        if missing:
            waiting.append({"lot": lot, **_naming(lot, lot.product.name), "href": f"/lots/{lot.id}#qc",
                            "detail": f"{len(missing)} QC result(s) missing: {', '.join(missing)}"})
        else:  # nothing left for the bench: the lot is QA's now, and says so rather than sitting under "QC"
            complete.append({"lot": lot, **_naming(lot, lot.product.name), "href": f"/lots/{lot.id}",
                             "detail": f"every QC result recorded; evaluation {evaluated[lot.id]['status']}"})
    attention = [{"lot": f["lot"], **_naming(f["lot"], f"{f['criterion']['test']} "
                                                       f"{shown(f['criterion']['result'])}"),
                  "detail": f"needs {f['criterion']['requirement']}; lot {f['lot'].status.replace('_', ' ')}",
                  "href": f"/lots/{f['lot'].id}#qc"} for f in services.qc_outside_spec(since)]
    return _section("technician", "Lots in quarantine", [
        {"title": "Waiting for QC", "empty": "No lot in quarantine is missing a QC result.", "rows": waiting},
        {"title": "QC complete — waiting for QA release",
         "empty": "No lot with every QC result recorded waits for QA release.", "rows": complete},
        {"title": f"QC results outside specification (last {ATTENTION_DAYS} days)",
         "empty": f"No QC result recorded in the last {ATTENTION_DAYS} days misses its specification.",
         "rows": attention}])


def qa_dashboard(user):
    queue = []
    quarantined = services.lots_in_status("quarantine")
    evaluated = services.evaluations(quarantined)
    for lot in quarantined:
        evaluation = evaluated[lot.id]
        blockers = services.release_blockers(lot, evaluation)
        queue.append({"lot": lot, **_naming(lot, lot.product.name),
                      "detail": f"evaluation {evaluation['status']}; "
                                + (f"{len(blockers)} item(s) unmet or missing" if blockers else "ready to release"),
                      "href": f"/lots/{lot.id}"})
    holds = [{"lot": h["lot"], **_naming(h["lot"], "on hold" + (" (automatic: a QC result after release failed)"
                                                                if h["hold"] and h["hold"].automatic else "")),
              "detail": (h["hold"].reason or "") if h["hold"] else "", "href": f"/lots/{h['lot'].id}"}
             for h in services.holds()]
    return _section("qa", "Release queue and holds", [
        late_qc_list(),
        {"title": "Waiting for release", "empty": "No lot waits in quarantine for release.", "rows": queue},
        {"title": "Lots on hold", "empty": "No lot is on hold.", "rows": holds}])


LATE_QC_HOME_ROWS = 5
QUEUE_LATE_QC_ROWS = 50


def late_qc_list(limit=LATE_QC_HOME_ROWS):
    """QA's first list: QC results recorded after release, each until QA signs the lot's review (SPEC §5); the
    oldest `limit` of them, and how many more wait (the release queue page shows more)."""
    flagged, total = qc_review.open_reviews(limit=limit)
    evaluated = services.evaluations(list({f["lot"].id: f["lot"] for f in flagged}.values()))
    rows = []
    for f in flagged:
        lot, result = f["lot"], f["flag"].qc_result
        verdict = evaluated[lot.id]["status"]
        what = f"{result.test} {'corrected' if result.supersedes_id else 'recorded'} after release: {qc_value(result)}"
        rows.append({"lot": lot, **_naming(lot, what), "href": f"/lots/{lot.id}#late-qc",
                     "detail": f"lot {lot.status.replace('_', ' ')}, evaluation {verdict}; "
                               f"{result.recorded_by.full_name}; sign that you reviewed it"})
    return {"title": "QC results after release — to review", "rows": rows,
            "empty": "No QC result recorded after release waits for review.",
            "more": total - len(rows), "more_href": "/lots/release-queue#late-qc"}
