"""The audit trail as a page for QA and administrators: the newest rows, and the chain verified on demand."""
from flask import Blueprint, render_template, request

from lims.audit import services
from lims.auth.access import roles_required

bp = Blueprint("audit_pages", __name__, template_folder="templates")


@bp.route("/audit")
@roles_required("qa", "admin")
def audit_trail():
    # Verifying reads every row (about 250,000 rows/s), so it runs when asked for, not on every visit.
    verification = services.verify_chain() if request.args.get("verify") == "1" else None
    entity = request.args.get("entity") or None
    return render_template("audit/trail.html", entries=services.recent_entries(100, entity), entity=entity,
                           entities=services.entity_names(), verification=verification)


def admin_dashboard(user):
    latest = services.recent_entries(5)
    return {"role": "admin", "title": "Audit trail", "empty": "Nothing has been recorded yet.",
            "rows": [{"text": f"#{e.seq} {e.action}", "detail": f"{e.actor} · {e.entity} {e.entity_id or ''}",
                      "href": "/audit"} for e in latest]}
