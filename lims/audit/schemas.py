"""The audit trail's filters (query string) and its rows, as the API, the pages and the exports read them."""
import datetime as dt
import json

from marshmallow import ValidationError, fields, post_load, validate

from lims.audit.query import AuditFilter
from lims.schemas import StrictSchema, identifier
from lims.timeutil import UTC, site_zone


class PeriodBound(fields.Field):
    """A date (a whole day in the site's time zone) or an ISO 8601 time with its zone."""

    def __init__(self, end_of_day=False, **kwargs):
        super().__init__(**kwargs)
        self.end_of_day = end_of_day

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not value.strip() or len(value) > 40:
            raise ValidationError("a date (2026-11-24) or a time with its zone (2026-11-24T09:00:00Z)")
        text = value.strip()
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            day = None
        if day is not None:
            if self.end_of_day:  # "until 24 Nov" means through the whole of that day
                day += dt.timedelta(days=1)
            return dt.datetime.combine(day, dt.time(), tzinfo=site_zone()).astimezone(UTC)
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("a date (2026-11-24) or a time with its zone (2026-11-24T09:00:00Z)") from None
        if moment.tzinfo is None:
            raise ValidationError("a time needs its zone (Z or +01:00): it is not guessed")
        return moment.astimezone(UTC)


def _name(max_length):
    return identifier(max_length)


class AuditFilterSchema(StrictSchema):
    entity = _name(32)
    entity_id = _name(64)
    record = identifier(64, metadata={
        "description": "a lot number, bag or container code, or subject code, found as a person types it"})
    actor = _name(64)
    action = fields.String(validate=validate.Regexp(r"^[a-z_]+(\.[a-z_.]*\*?)?$", error="an action such as "
                                                    "lot.released, or a group such as security.*"))
    since = PeriodBound(metadata={"description": "from this date (site time) or time with zone, inclusive"})
    until = PeriodBound(end_of_day=True, metadata={"description": "through this date, or before this time"})

    @post_load
    def to_filter(self, data, **kwargs):
        from lims.audit.query import find_record
        if data.get("entity_id") and not data.get("entity"):
            raise ValidationError({"entity": ["name the kind of record (lot, subject, bag, …) the id is of"]})
        if data.get("since") and data.get("until") and data["until"] <= data["since"]:
            raise ValidationError({"until": ["the period ends before it starts"]})
        record = data.pop("record", None)
        if record is not None:
            if data.get("entity"):
                raise ValidationError({"record": ["give either a record to find or entity and entity_id"]})
            entity, entity_id = find_record(record)
            data["entity"], data["entity_id"] = entity, str(entity_id)
        return data


class AuditPageArgsSchema(AuditFilterSchema):
    cursor = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                            metadata={"description": "the next_cursor of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


def split_filter(data):
    """(AuditFilter, the other arguments) from the loaded query string."""
    keys = ("entity", "entity_id", "actor", "action", "since", "until")
    return AuditFilter(**{k: data.get(k) for k in keys}), {k: v for k, v in data.items() if k not in keys}


class ChangeSchema(StrictSchema):
    field = fields.String()
    old = fields.String()
    new = fields.String()


class JsonText(fields.Field):
    """A stored JSON text, given to clients parsed."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else json.loads(value)


class AuditRowSchema(StrictSchema):
    seq = fields.Integer()
    at = fields.AwareDateTime(format="iso")
    actor = fields.String(metadata={"description": "username"})
    actor_name = fields.String(metadata={"description": "the actor's printed name"})
    action = fields.String()
    action_text = fields.String(metadata={"description": "the action in words"})
    entity = fields.String()
    entity_id = fields.String(allow_none=True)
    record = fields.String(metadata={"description": "the record as the product names it"})
    record_href = fields.String(allow_none=True)
    changes = fields.List(fields.Nested(ChangeSchema))
    reason = fields.String(allow_none=True)
    before = JsonText(allow_none=True)
    after = JsonText(allow_none=True)
    prev_hash = fields.String()
    hash = fields.String()


class AuditPageSchema(StrictSchema):
    rows = fields.List(fields.Nested(AuditRowSchema))
    next_cursor = fields.Integer(allow_none=True)
