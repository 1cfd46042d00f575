"""Adverse events on the home pages (SPEC §6): a serious event shows at once to investigators and QA."""
from flask import Blueprint, flash, redirect, request

from lims.auth.access import current_user, roles_required
from lims.errors import LimsError
from lims.pages import load_form, refused
from lims.safety import schemas, services
from lims.timeutil import local

bp = Blueprint("safety_pages", __name__, template_folder="templates")

HOME_ROWS = 10


def serious_events_dashboard(role):
    def build(user):
        count, rows = services.serious_current(limit=HOME_ROWS)
        return {"role": role, "title": f"Serious adverse events ({count})",
                "empty": "No serious adverse event stands.",
                "rows": [{"text": f"{e.term} — subject {e.subject.code}, grade {e.grade}, {e.relatedness}",
                          "detail": f"onset {e.onset_on.isoformat()} · recorded {local(e.recorded_at)}"
                                    + (" · from the infusion record, to complete" if e.from_infusion else ""),
                          "href": f"/subjects/{e.subject_id}"} for e in rows]}
    return build


investigator_dashboard = serious_events_dashboard("investigator")
qa_dashboard = serious_events_dashboard("qa")


def _form_values(form):
    """A form's grade arrives as text and `serious` as a checkbox; the API's schema takes an integer and a boolean."""
    grade = form.get("grade", "")
    return {"grade": int(grade) if grade.isdigit() and len(grade) < 3 else grade,
            "serious": form.get("serious") == "true"}


@bp.route("/subjects/<int:subject_id>/adverse-events", methods=["POST"])
@roles_required("investigator", "nurse")
def record_event(subject_id):
    from lims.studies.views import subject_context
    try:
        body = load_form(schemas.AdverseEventCreateSchema(), request.form, **_form_values(request.form))
        event = services.record_event(current_user(), subject_id, body)
    except LimsError as e:
        return refused("studies/subject.html", e, form=request.form, refused_action="adverse_event",
                       context=lambda: subject_context(subject_id))
    flash(f"Adverse event recorded: {event.term}, grade {event.grade}"
          f"{', serious' if event.counts_as_serious else ''}, {event.relatedness}.")
    return redirect(f"/subjects/{subject_id}#adverse-events-title")


@bp.route("/subjects/<int:subject_id>/adverse-events/<int:event_id>/supersede", methods=["POST"])
@roles_required("investigator", "nurse")
def supersede_event(subject_id, event_id):
    """A correction from the subject page: the API's supersede (a reason, no signature), refused beside its form."""
    from lims.studies.views import subject_context
    try:
        body = load_form(schemas.AdverseEventSupersedeSchema(), request.form, **_form_values(request.form))
        reason = body.pop("reason")
        event = services.supersede_event(current_user(), event_id, body, reason, subject_id=subject_id)
    except LimsError as e:
        return refused("studies/subject.html", e, form=request.form, refused_action="supersede_event",
                       refused_event=event_id, context=lambda: subject_context(subject_id))
    flash(f"Adverse event corrected: {event.term}, grade {event.grade}"
          f"{', serious' if event.counts_as_serious else ''}, {event.relatedness}. "
          "The earlier version is kept in the history.")
    return redirect(f"/subjects/{subject_id}#adverse-events-title")
