"""What an operator reads: one JSON line per request and one per refusal, on stdout, each with the request's id.

The id comes from the proxy's X-Request-ID when it sent a sane one (so the proxy's log and ours name the same
request), else it is made here; it goes back in the X-Request-ID header and in every JSON error body, so a nurse's
screenshot or a client's bug report leads to the log line. Lines carry the route's rule (`/api/v1/lots/<int:lot_id>`),
never the path or the body: the log names no subject, bag or value, only who asked for what and how it went.

Every request pays for this (the bedside check is benchmarked): one id, one clock read, one JSON encoding and one
write, some 15 µs on this machine.
"""
import contextlib
import datetime as dt
import json
import re
import secrets
import sys
import threading
import time

from flask import g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy sends (nginx's $request_id is 32 hex digits, others a UUID): short, printable, nothing to inject.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


# Kept in the WSGI environ, which is the request's own: `g` belongs to the app context, which a test (or a CLI
# command) may hold across several requests.
_ID, _STARTED, _REFUSAL = "lims.request_id", "lims.request_started", "lims.refusal"


def request_id():
    """This request's id: the proxy's when sane, else a new one (made at most once per request)."""
    environ = request.environ
    rid = environ.get(_ID)
    if rid is None:
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        rid = environ[_ID] = offered if _SANE_REQUEST_ID.fullmatch(offered) else secrets.token_hex(8)
    return rid


def current_request_id():
    """The id, or None outside a request (a CLI command building an error body)."""
    return request_id() if has_request_context() else None


def note_refusal(status, code, message, fields=None):
    """Remembers what was refused for this request's refusal line (errors.error_body and pages.refused call it)."""
    if has_request_context():
        request.environ[_REFUSAL] = (code, message, sorted(fields or ()))


def _now():
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
_write_lock = threading.Lock()


def _line(fields):
    # Straight to sys.stdout, as it is at this moment (gunicorn's, or a test's capture), without the logging module:
    # a third of the cost, and nothing to configure. The lock keeps the threads' lines whole; the flush sends each
    # line at once even when stdout is a pipe.
    text = _encode(fields) + "\n"
    with _write_lock, contextlib.suppress(OSError, ValueError, AttributeError):  # a lost line, never a lost answer
        sys.stdout.write(text)
        sys.stdout.flush()


def init_app(app):
    def start_clock():
        request.environ[_STARTED] = time.perf_counter()
        g.pop("username", None)  # set by lims.auth.access.current_user for this request only

    # First of all before-request functions: the CSRF check and the JSON-only guard may refuse the request, and
    # the refusal needs the id and the clock.
    app.before_request_funcs.setdefault(None, []).insert(0, start_clock)

    @app.after_request
    def log_request(response):
        req = request._get_current_object()  # one context lookup, not one per attribute
        environ = req.environ
        rid = environ.get(_ID) or request_id()
        response.headers[REQUEST_ID_HEADER] = rid
        started = environ.get(_STARTED)
        ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
        rule = req.url_rule
        status = response.status_code
        now = _now()
        common = {"request_id": rid, "user": g.get("username"), "method": req.method,
                  "route": rule.rule if rule is not None else None, "status": status}
        _line({"time": now, "event": "request", **common, "ms": ms})
        if status >= 400:
            code, message, fields = environ.get(_REFUSAL) or (None, None, [])
            _line({"time": now, "event": "refusal", **common, "code": code, "message": message, "fields": fields})
        return response
