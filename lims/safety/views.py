"""Adverse events on the home pages (SPEC §6): a serious event shows at once to investigators and QA."""
from flask import Blueprint

from lims.safety import services
from lims.timeutil import local

bp = Blueprint("safety_pages", __name__)

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
