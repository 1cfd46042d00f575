"""Domain exceptions, raised by services and mapped to HTTP once, here (SPEC §13: one JSON error shape)."""
import logging

from flask import jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from marshmallow import INCLUDE, Schema, ValidationError, fields
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from lims.observability import current_request_id, note_refusal

log = logging.getLogger(__name__)


class LimsError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message, fields=None, code=None, extra=None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code
        self.extra = extra or {}


class BadRequest(LimsError):
    status, code = 400, "bad_request"


class NotAuthenticated(LimsError):
    status, code = 401, "not_authenticated"


class Forbidden(LimsError):
    status, code = 403, "forbidden"


class NotFound(LimsError):
    status, code = 404, "not_found"


class Conflict(LimsError):
    status, code = 409, "conflict"


class Invalid(LimsError):
    """A value that parses but breaks a rule: 422 naming the field."""
    status, code = 422, "validation_failed"


def invalid(field, message):
    return Invalid(f"{field}: {message}", fields={field: [message]})


def error_body(status, code, message, fields=None, extra=None):
    note_refusal(status, code, message, fields)
    body = {"error": {"code": code, "message": message, "fields": fields or {}, "request_id": current_request_id()}}
    body.update(extra or {})
    return body


class ErrorDetailSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", required=True)
    request_id = fields.String(allow_none=True, metadata={"description": "the X-Request-ID of the answer, in the log"})


class ErrorSchema(Schema):
    """error_body() as the OpenAPI document describes it; some refusals add keys beside "error" (extra)."""
    class Meta:
        unknown = INCLUDE

    error = fields.Nested(ErrorDetailSchema, required=True)


def _wants_json():
    return (request.path.startswith("/api/") or request.is_json
            or request.accept_mimetypes.best == "application/json")


def _respond(status, code, message, fields=None, extra=None):
    if _wants_json():
        return jsonify(error_body(status, code, message, fields, extra)), status
    note_refusal(status, code, message, fields)
    return render_template("error.html", status=status, code=code, message=message, fields=fields or {},
                           request_id=current_request_id()), status


def _flatten_webargs(messages):
    # webargs nests by location ({"json": {"field": [...]}}); clients want the field names.
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "form", "headers", "files", "view_args"}:
        flat = {}
        for part in messages.values():
            if isinstance(part, dict):
                flat.update(part)
        return flat
    return messages if isinstance(messages, dict) else {"_schema": messages}


def register_error_handlers(app):
    @app.errorhandler(LimsError)
    def handle_lims_error(e):
        from lims.auth.security import record_refusal
        from lims.extensions import db
        db.session.rollback()
        record_refusal(e)  # a 403 is a security event, in a transaction of its own
        if isinstance(e, NotAuthenticated) and request.method == "GET" and not _wants_json():
            # A page asked for by someone not signed in (or whose session ended): sign in, then come back.
            from flask import redirect, url_for
            return redirect(url_for("main.login", next=request.full_path.rstrip("?")))
        response = make_response(_respond(e.status, e.code, e.message, e.fields, e.extra))
        if getattr(e, "retry_after", None):
            response.headers["Retry-After"] = str(e.retry_after)
        return response

    @app.errorhandler(ValidationError)
    def handle_validation(e):
        fields = e.messages if isinstance(e.messages, dict) else {"_schema": e.messages}
        return _respond(422, "validation_failed", "The request has invalid fields.", fields)

    @app.errorhandler(CSRFError)
    def handle_csrf(e):
        return _respond(400, "csrf_failed", "The form was missing its CSRF token or it has expired; reload the page.")

    @app.errorhandler(HTTPException)
    def handle_http(e):
        data = getattr(e, "data", None) or {}
        if e.code == 422 or "messages" in data:
            fields = _flatten_webargs(data.get("messages", {}))
            status = e.code if e.code in (400, 422) else 422
            message = "The request body is not valid JSON." if status == 400 else "The request has invalid fields."
            return _respond(status, "validation_failed" if status == 422 else "malformed_request", message, fields)
        code = {400: "malformed_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}.get(e.code, "http_error")
        return _respond(e.code, code, e.description or e.name)

    @app.errorhandler(IntegrityError)
    def handle_integrity(e):
        log.warning("integrity error on %s %s: %s", request.method, request.path, e.orig)
        from lims.extensions import db
        db.session.rollback()
        # The database's own constraints are the last guard against races; the loser is told to look again.
        return _respond(409, "conflict", "The record changed or already exists (a concurrent update); "
                                         "reload and try again.")

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def handle_out_of_range(e):
        # A number or text beyond what a column holds (an id of 2**31 on PostgreSQL, 2**63 on SQLite) is the
        # client's input, not a fault: the database refused to store or compare it.
        log.warning("value out of range on %s %s: %s", request.method, request.path, e)
        from lims.extensions import db
        db.session.rollback()
        return _respond(422, "value_out_of_range", "A value is out of range (too large or too long).")

    @app.errorhandler(OperationalError)
    def handle_database_unavailable(e):
        log.warning("database unavailable: %s", e)
        from lims.extensions import db
        db.session.rollback()
        response = make_response(_respond(503, "database_unavailable",
                                          "The database is unavailable; nothing was saved. Try again in a moment."))
        response.headers["Retry-After"] = "2"
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(e):
        # Never a stack trace to the client; the log keeps it for the engineers.
        log.exception("unhandled error on %s %s", request.method, request.path)
        from lims.extensions import db
        db.session.rollback()
        return _respond(500, "internal_error", "An internal error occurred; nothing was saved.")
