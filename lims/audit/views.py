"""The audit trail as a page for QA and administrators (SPEC §17): rows named as people read records, filtered by
record, user, action and period, paged by cursor, exported as CSV and PDF with the same filters; the chain verified
on demand."""
from flask import Blueprint, render_template, request, url_for

from lims.audit import query, services
from lims.audit.api import csv_response, pdf_response
from lims.audit.naming import ACTION_GROUPS, ACTION_WORDS, Namer
from lims.audit.schemas import AuditFilterSchema, AuditPageArgsSchema, split_filter
from lims.auth.access import current_user, roles_required
from lims.errors import LimsError, Invalid
from lims.pages import _flatten

bp = Blueprint("audit_pages", __name__, template_folder="templates")

PAGE_SIZE = 100


def _filter_args(schema):
    """The page's filters: blank fields are left out, as a form sends every field."""
    from marshmallow import ValidationError
    args = {k: v.strip() for k, v in request.args.items() if k != "verify" and v.strip()}
    try:
        return split_filter(schema.load(args))
    except ValidationError as e:
        raise Invalid("Some filters need attention.", fields=_flatten(e.messages)) from None


@bp.route("/audit")
@roles_required("qa", "admin")
def audit_trail():
    # Verifying reads every row (about 250,000 rows/s), so it runs when asked for, not on every visit.
    verification = services.verify_chain() if request.args.get("verify") == "1" else None
    error, rows, next_cursor, audit_filter = None, [], None, query.AuditFilter()
    try:
        audit_filter, rest = _filter_args(AuditPageArgsSchema())
        found, next_cursor = query.page(audit_filter, rest.get("cursor"), PAGE_SIZE)
        rows = Namer().present(found)
    except LimsError as e:
        error = e
    record_name = (Namer().present_record(audit_filter.entity, audit_filter.entity_id)
                   if audit_filter.entity and audit_filter.entity_id and error is None else None)
    args = audit_filter.as_args()
    return render_template(
        "audit/trail.html", rows=rows, error=error, form=request.args, verification=verification,
        record_name=record_name, filters=audit_filter, users=services.people(),
        actions=sorted(ACTION_WORDS.items()), groups=ACTION_GROUPS.items(),
        next_href=url_for("audit_pages.audit_trail", **args, cursor=next_cursor) if next_cursor else None,
        csv_href=url_for("audit_pages.export_csv", **args), pdf_href=url_for("audit_pages.export_pdf", **args),
        first_href=url_for("audit_pages.audit_trail", **args) if request.args.get("cursor") else None,
    ), (error.status if error else 200)


@bp.route("/audit/export.csv")
@roles_required("qa", "admin")
def export_csv():
    return csv_response(_filter_args(AuditFilterSchema())[0], current_user())


@bp.route("/audit/export.pdf")
@roles_required("qa", "admin")
def export_pdf():
    return pdf_response(_filter_args(AuditFilterSchema())[0], current_user())


def admin_dashboard(user):
    rows = Namer().present(services.recent_rows(5))
    return {"role": "admin", "title": "Audit trail", "empty": "Nothing has been recorded yet.",
            "rows": [{"text": f"#{r['seq']} {r['action_text']}", "detail": f"{r['actor_name']} · {r['record']}",
                      "href": "/audit"} for r in rows]}
