"""The investigator's pages (issue 4): studies and their escalation, enrolment, safety reviews, subjects and their
weights. Thin handlers over lims.studies.services; any signed-in user reads, only an investigator writes."""
from flask import Blueprint, flash, redirect, render_template, request

from lims.auth.access import current_user, login_required, roles_required
from lims.chainofcustody import services as custody
from lims.doses import services as doses
from lims.doses.views import figure
from lims.errors import LimsError, invalid
from lims.lots import services as lots
from lims.pages import load_form, refused
from lims.paging import period
from lims.safety import services as safety
from lims.safety.models import OUTCOMES, RELATEDNESS
from lims.studies import eligibility, follow_up, schemas, services
from lims.studies.chart import enrolment_chart
from lims.timeutil import site_today

bp = Blueprint("studies_pages", __name__, template_folder="templates")


# --- escalation in words ---------------------------------------------------------------------------------------

def explain(study, state, previous, following):
    """One sentence on where a cohort stands and what opens it or what it opens (SPEC §6)."""
    name, n, size, done = state["name"], state["enrolled"], state["size"], state["infused"]
    status = state["status"]
    if status == "not_open":
        if previous["status"] == "stopped":
            return f"{name} will not open: {previous['name']} was stopped by its safety review."
        return f"{name} opens when {previous['name']} is full, infused and reviewed."
    if status == "open":
        return f"{name} is open: {n} of {size} enrolled, {size - n} place(s) left."
    if status == "full":
        if study.escalation == "sequential":
            return (f"{name} is full ({n} of {size}); {done} of {size} infused. Its safety review can be signed once "
                    f"every subject is infused.")
        return f"{name} is full ({n} of {size}); {done} infused."
    if status == "awaiting_review":
        then = f" before {following['name']} opens" if following else ""
        return f"{name} is full and every subject infused: it awaits an investigator's signed safety review{then}."
    signed = state["review"].signature
    by = f" (signed by {signed.printed_name})" if signed else ""
    if status == "stopped":
        return f"{name} was stopped by its safety review{by}; no later cohort opens."
    then = f"; {following['name']} is open to enrolment" if following and study.escalation == "sequential" else ""
    return f"{name} was reviewed with the decision to proceed{by}{then}."


def escalation_rule(study):
    if study.escalation == "sequential":
        return ("Sequential escalation: each cohort opens only when the one before it is full, every subject in it "
                "infused, and its safety review signed by an investigator.")
    return "No escalation: every cohort is open at once."


def explained_states(study):
    states = services.cohort_states(study)
    for i, state in enumerate(states):
        state["explanation"] = explain(study, state, states[i - 1] if i else None,
                                       states[i + 1] if i + 1 < len(states) else None)
    return states


# --- pages -----------------------------------------------------------------------------------------------------

@bp.route("/studies", methods=["GET"])
@login_required
def study_list():
    studies = [(study, services.cohort_states(study)) for study in services.list_studies()]
    return render_template("studies/index.html", studies=studies, figure=figure)


def _subject_filters(study):
    """The subject list's filters from the query: cohort (by name), stage, enrolment period; a bad one is 422."""
    args = request.args
    cohort_name, stage = args.get("cohort") or None, args.get("stage") or None
    cohort = services.cohort_by_name(study, cohort_name) if cohort_name else None
    if stage is not None and stage not in services.SUBJECT_STAGES:
        raise invalid("stage", f"choose one of {', '.join(services.SUBJECT_STAGES)}")
    since, until = period(args.get("since"), args.get("until"))
    return {"cohort_id": cohort.id if cohort else None, "stage": stage, "since": since, "until": until}, \
        {"cohort": cohort_name, "stage": stage, "since": args.get("since"), "until": args.get("until")}


def _study_context(study_id):
    study = services.get_study(study_id)
    states = explained_states(study)
    filters, shown = _subject_filters(study)
    page = services.subjects_page(study, cursor=request.args.get("cursor"), **filters)
    current = doses.current_doses_for(s.id for s in page.rows)
    # What the reviewer reads before signing (SPEC §6): each cohort's current events, for those awaiting review.
    cohort_events = {s["name"]: safety.cohort_events(s["cohort"].id)["events"] for s in states
                     if s["status"] == "awaiting_review"}
    return {"study": study, "states": states, "rule": escalation_rule(study), "chart": enrolment_chart(states),
            "open_cohorts": [s for s in states if s["status"] == "open"],
            "awaiting_review": [s for s in states if s["status"] == "awaiting_review"],
            "subjects": [(s, current.get(s.id)) for s in page.rows], "subject_page": page,
            "cohort_events": cohort_events,
            "enrolled_total": sum(s["enrolled"] for s in states), "subject_filters": shown,
            "stage_options": [("", "every stage"), ("awaiting_infusion", "awaiting infusion"), ("infused", "infused")],
            "criteria": study.eligibility, "today": site_today().isoformat(), "figure": figure}


def _refuse_on_study_page(error, study_id, action, cohort=None):
    return refused("studies/study.html", error, form=request.form, refused_action=action, refused_cohort=cohort,
                   context=lambda: _study_context(study_id))


@bp.route("/studies/<int:study_id>", methods=["GET"])
@login_required
def study_page(study_id):
    return render_template("studies/study.html", refused_action=None, refused_cohort=None,
                           **_study_context(study_id))


@bp.route("/studies/<int:study_id>/subjects", methods=["POST"])
@roles_required("investigator")
def enrol(study_id):
    try:
        body = load_form(schemas.SubjectCreateSchema(), request.form, study_id=study_id)
        subject = services.enrol_subject(current_user(), study_id, body["code"], body["wristband"], body["cohort"],
                                         body["weight"], body["weighed_on"], body["eligibility"],
                                         body["consent_signed_on"], body["signature"])
    except LimsError as e:
        return _refuse_on_study_page(e, study_id, "enrol")
    flash(f"{subject.code} enrolled in {subject.cohort.name} (wristband {subject.wristband}).")
    return redirect(f"/studies/{study_id}")


@bp.route("/studies/<int:study_id>/subjects/check", methods=["POST"])
@roles_required("investigator")
def check_enrolment(study_id):
    """The enrolment form's "check" step: each criterion met or not met for the answers typed, before signing. A
    POST (it reads a form) that writes nothing: the same form then signs and enrols."""
    try:
        body = load_form(schemas.SubjectCreateSchema(partial=True), request.form, study_id=study_id)
        results = services.check_enrolment(study_id, body.get("eligibility"), body.get("consent_signed_on"))
    except LimsError as e:
        return _refuse_on_study_page(e, study_id, "enrol")
    return render_template("studies/study.html", refused_action="enrol", refused_cohort=None, error=None,
                           form=request.form, eligibility_check=results, **_study_context(study_id))


@bp.route("/studies/<int:study_id>/cohorts/<path:cohort_name>/safety-review", methods=["POST"])
@roles_required("investigator")
def safety_review(study_id, cohort_name):
    try:
        body = load_form(schemas.SafetyReviewCreateSchema(), request.form)
        review = services.sign_safety_review(current_user(), study_id, cohort_name, body["signature"],
                                             body["decision"], body["notes"])
    except LimsError as e:
        return _refuse_on_study_page(e, study_id, "review", cohort_name)
    outcome = "escalation proceeds" if review.decision == "proceed" else "escalation stops here"
    flash(f"Safety review of {review.cohort.name} signed: {outcome}.")
    return redirect(f"/studies/{study_id}")


def subject_context(subject_id):
    subject = services.get_subject(subject_id)
    dose = doses.current_dose_for(subject)
    bag = dose.bag if dose else None
    infusion = custody.infusion_of(bag) if bag else None
    # Once a bag exists its custody state is the dose's real state (a dose stays "verified" while its bag moves on).
    return {"subject": subject, "weights": list(reversed(subject.weights)), "enrolment": subject.enrolment,
            "visits": follow_up.visits_of(subject), "site_today": site_today(), "visit_options": _visit_options,
            "dose": dose, "bag": bag,
            "infusion": infusion, "reactions": custody.reactions_of(infusion),
            "lot_event": lots.current_disposition(dose.lot) if dose and dose.lot.blocked else None,
            "adverse_events": safety.subject_events(subject.id),
            # No relatedness is preselected: whoever records the event judges it (a blank choice is refused).
            "relatedness_options": [("", "choose…")] + [(r, r) for r in RELATEDNESS],
            "outcome_options": [(o, o.replace("_", " ")) for o in OUTCOMES],
            "today": site_today().isoformat(), "figure": figure, "shown_answer": eligibility.shown}


@bp.route("/subjects/<int:subject_id>", methods=["GET"])
@login_required
def subject_page(subject_id):
    return render_template("studies/subject.html", refused_action=None, **subject_context(subject_id))


def _weight_question(error):
    """"72.6 kg → 165 kg: is this right?" with both weights in kg and lb, from the API's refusal (SPEC §6)."""
    if error.code != "weight_change_unconfirmed":
        return None
    previous, new = error.extra["previous_weight"]["value"], error.extra["new_weight"]["value"]
    return {"previous": services.in_kg_and_lb(previous), "new": services.in_kg_and_lb(new),
            "headline": f"{services.in_kg_and_lb(previous).split(' (')[0]} → "
                        f"{services.in_kg_and_lb(new).split(' (')[0]}: is this right?",
            "change": error.extra["change_percent"], "previous_on": error.extra["previous_weighed_on"]}


@bp.route("/subjects/<int:subject_id>/weights", methods=["POST"])
@roles_required("investigator")
def record_weight(subject_id):
    try:
        body = load_form(schemas.WeightCreateSchema(), request.form)
        row = services.record_weight(current_user(), subject_id, body["weight"], body["weighed_on"],
                                     body["confirm_change"], body["reason"])
    except LimsError as e:
        return refused("studies/subject.html", e, form=request.form, refused_action="weight",
                       weight_question=_weight_question(e), context=lambda: subject_context(subject_id))
    flash(f"Weight {row.entered} ({figure(row.weight, 'mass')}) recorded for {row.weighed_on.isoformat()}.")
    return redirect(f"/subjects/{subject_id}")


@bp.route("/subjects/<int:subject_id>/weights/<int:weight_id>/strike", methods=["POST"])
@roles_required("investigator")
def strike_weight(subject_id, weight_id):
    try:
        body = load_form(schemas.WeightStrikeSchema(), request.form)
        row = services.strike_weight(current_user(), subject_id, weight_id, body["reason"])
    except LimsError as e:
        return refused("studies/subject.html", e, form=request.form, refused_action="strike",
                       refused_weight=weight_id, context=lambda: subject_context(subject_id))
    flash(f"Weight {row.entered} of {row.weighed_on.isoformat()} struck through: it no longer counts for a dose.")
    return redirect(f"/subjects/{subject_id}")


@bp.route("/subjects/<int:subject_id>/follow-up-visits", methods=["POST"])
@roles_required("investigator")
def record_follow_up_visit(subject_id):
    try:
        body = load_form(schemas.FollowUpVisitCreateSchema(), request.form, day=_whole(request.form.get("day")))
        visit = follow_up.record_visit(current_user(), subject_id, body["day"], body["done_on"])
    except LimsError as e:
        return refused("studies/subject.html", e, form=request.form, refused_action="visit",
                       context=lambda: subject_context(subject_id))
    flash(f"Day {visit.day} follow-up visit recorded done on {visit.done_on.isoformat()}.")
    return redirect(f"/subjects/{subject_id}#follow-up-title")


def _visit_options(visits):
    return [(v.day, f"day {v.day} (due {v.due_on.isoformat()})") for v in visits]


def _whole(value):
    # A form's day arrives as text; the API's schema takes a strict integer.
    return int(value) if value and value.isdigit() and len(value) < 6 else value


@bp.route("/follow-up", methods=["GET"])
@login_required
def follow_up_list():
    page = follow_up.waiting_page(cursor=request.args.get("cursor"))
    return render_template("studies/follow_up.html", page=page, counts=follow_up.counts(), today=site_today())


def _visit_row(visit, today):
    status = visit.status(today)
    when = {"overdue": f"overdue: its window closed {visit.closes_on.isoformat()}",
            "due": f"due {visit.due_on.isoformat()} (window {visit.opens_on.isoformat()} to "
                   f"{visit.closes_on.isoformat()})",
            "done": f"done on {visit.done_on.isoformat() if visit.done_on else ''}"}.get(status, status)
    subject = visit.subject
    return {"text": f"{subject.code} · day {visit.day} visit {status}", "detail": when,
            "href": f"/subjects/{subject.id}#follow-up-title"}


def follow_up_dashboard(user):
    """The follow-up visits that wait (overdue first, then due) and those done this week, with their counts: three
    statements, whatever the number of subjects ever treated (SPEC §6, §15)."""
    today = site_today()
    counts = follow_up.counts()
    waiting = follow_up.waiting_visits()
    rows = [_visit_row(v, today) for v in waiting] + [_visit_row(v, today) for v in follow_up.recently_done()]
    shown = len(waiting)
    more = counts["overdue"] + counts["due"] - shown
    return {"role": "investigator",
            "title": f"Follow-up visits: {counts['overdue']} overdue, {counts['due']} due, "
                     f"{counts['done_recently']} done in the last {follow_up.RECENTLY_DONE_DAYS} days",
            "empty": "No follow-up visit is due or overdue; visits are scheduled when a subject is infused.",
            "rows": rows, "more": more if more > 0 else None, "more_href": "/follow-up"}


# --- the investigator's home section ---------------------------------------------------------------------------

def investigator_dashboard(user):
    """Every study's cohorts with their escalation state; those waiting for a signed safety review first."""
    awaiting, others = [], []
    for study in services.list_studies():
        for state in explained_states(study):
            row = {"text": f"{study.code} · {state['name']}: {state['status'].replace('_', ' ')}",
                   "detail": state["explanation"], "href": f"/studies/{study.id}"}
            (awaiting if state["status"] == "awaiting_review" else others).append(row)
    rows = awaiting + others
    return {"role": "investigator", "title": "Studies and dose escalation",
            "empty": "No study is registered yet; an administrator creates studies.", "rows": rows}
