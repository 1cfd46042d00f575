"""The audit trail over HTTP (SPEC §13, §17): its chain verified, its rows by filter and cursor, and its copies."""
from flask import Response, stream_with_context
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields

from lims.audit import export, query
from lims.audit.naming import Namer
from lims.audit.schemas import AuditFilterSchema, AuditPageArgsSchema, AuditPageSchema, split_filter
from lims.audit.services import verify_chain
from lims.auth.access import current_user, roles_required

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit trail")


class VerifySchema(Schema):
    ok = fields.Boolean()
    checked = fields.Integer()
    first_broken = fields.Integer(allow_none=True)
    reason = fields.String()


@blp.route("/audit/verify", methods=["GET"])
@roles_required("qa", "admin")
@blp.response(200, VerifySchema)
def verify():
    return verify_chain()


@blp.route("/audit", methods=["GET"])
@roles_required("qa", "admin")
@blp.arguments(AuditPageArgsSchema, location="query", unknown=RAISE)
@blp.response(200, AuditPageSchema)
def audit_rows(args):
    """Newest first; `next_cursor` (null on the last page) is the `cursor` of the next page. `entity` with
    `entity_id` of a lot, subject, bag, dose, container or adverse event (every version of it) is that record's
    whole history."""
    audit_filter, rest = split_filter(args)
    rows, next_cursor = query.page(audit_filter, rest.get("cursor"), rest["limit"])
    return {"rows": Namer().present(rows), "next_cursor": next_cursor}


def csv_response(audit_filter, user):
    response = Response(stream_with_context(export.csv_lines(audit_filter, user)), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=audit-trail.csv"
    return response


def pdf_response(audit_filter, user):
    document, _shown, _total = export.pdf_document(audit_filter, user)
    response = Response(document, mimetype="application/pdf")
    response.headers["Content-Disposition"] = "attachment; filename=audit-trail.pdf"
    return response


@blp.route("/audit/export.csv", methods=["GET"])
@roles_required("qa", "admin")
@blp.arguments(AuditFilterSchema, location="query", unknown=RAISE)
@blp.response(200, content_type="text/csv", description="every matching row, oldest first, UTC; streamed")
def export_csv(args):
    return csv_response(split_filter(args)[0], current_user())


@blp.route("/audit/export.pdf", methods=["GET"])
@roles_required("qa", "admin")
@blp.arguments(AuditFilterSchema, location="query", unknown=RAISE)
@blp.response(200, content_type="application/pdf",
              description=f"human-readable, site times; at most {export.PDF_ROW_LIMIT:,} rows, saying so")
def export_pdf(args):
    return pdf_response(split_filter(args)[0], current_user())
