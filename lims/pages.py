"""What every page view shares.

A form is read through the same marshmallow schema the API uses, so a page and the API cannot disagree on what a
valid lot, weight or signature is; a refusal is shown beside the form that caused it, with the same message and
status the API would give, instead of on an error page that loses what the user typed.
"""
from flask import render_template
from marshmallow import ValidationError

from lims.errors import Invalid

NOT_DATA = ("csrf_token",)


def form_data(form):
    """A flat HTML form as the nested dict the API schema reads.

    `signature.password` becomes {"signature": {"password": ...}}; a name ending in `[]` keeps every value as a list;
    empty fields are left out, so an optional field left blank stays optional rather than failing as "".
    """
    data = {}
    for key in form:
        if key in NOT_DATA:
            continue
        if key.endswith("[]"):
            value = [v.strip() for v in form.getlist(key) if v.strip()]
            key = key[:-2]
        else:
            value = form.get(key, "")
            value = value.strip() if key.split(".")[-1] not in ("password",) else value
            if value == "":
                continue
        target = data
        *parents, leaf = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return data


def _flatten(messages, prefix=""):
    flat = {}
    for key, value in (messages.items() if isinstance(messages, dict) else [("_schema", messages)]):
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value if isinstance(value, list) else [value]
    return flat


def load_form(schema, form, **extra):
    """Validates a form with an API schema; a bad field raises Invalid (422) naming it, as the API does."""
    data = form_data(form)
    data.update(extra)
    try:
        return schema.load(data)
    except ValidationError as e:
        raise Invalid("Some fields need attention.", fields=_flatten(e.messages)) from None


def refused(template, error, context=dict, **extra):
    """Re-renders a page with the refusal beside its form; the status is the refusal's own (401, 403, 409, 422).

    The refused operation is rolled back first and only then does `context()` read the page again: nothing of what
    was refused may show on the page drawn after it. `extra` is what the page shows of the refusal itself."""
    from lims.auth.security import record_refusal
    from lims.extensions import db
    from lims.observability import note_refusal
    db.session.rollback()
    record_refusal(error)  # a 403 is a security event, in a transaction of its own
    note_refusal(error.status, error.code, error.message, error.fields)
    return render_template(template, error=error, form=extra.pop("form", None), **context(), **extra), error.status


def site_time(value):
    """A browser's `datetime-local` value ("2026-11-24T09:00") read as the site's wall clock, as ISO with a zone.

    The API refuses a time without a zone rather than guess; on a page the zone is the ward's own, so it is added
    here, once. A value that already carries a zone, or is empty, is returned as it is for the schema to judge.
    """
    import datetime as dt

    from lims.timeutil import site_zone
    if not value:
        return value
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=site_zone())
    return parsed.isoformat()
