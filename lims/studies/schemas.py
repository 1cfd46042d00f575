from marshmallow import Schema, fields, validate

from lims.schemas import PlausibleDate, SignedSchema, StrictSchema, identifier, line, text
from lims.studies.models import ESCALATION
from lims.units import Quantity


class EnteredMass(Quantity):
    """A weight as a Quantity together with what was typed ("160 lb"), which the record keeps."""

    def __init__(self, **kwargs):
        super().__init__("mass", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        q = super()._deserialize(value, attr, data, **kwargs)
        entered = value.strip() if isinstance(value, str) else f"{value['value']} {value['unit']}"
        return q, entered


class CohortCreateSchema(StrictSchema):
    name = identifier(64, r"[\w .()-]{1,64}", "letters, digits, spaces, dots, dashes and brackets",
                      required=True)
    # From a thousand to a billion cells per kilogram: beyond either, a mistyped exponent, not a cohort.
    dose = Quantity("dose", required=True, minimum=1e3, maximum=1e9)
    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))


class StudyCreateSchema(StrictSchema):
    code = identifier(32, r"[A-Za-z0-9_-]{1,32}", "letters, digits, dashes and underscores", required=True)
    title = line(256, required=True)
    escalation = fields.String(required=True, validate=validate.OneOf(ESCALATION))
    cohorts = fields.List(fields.Nested(CohortCreateSchema), required=True, validate=validate.Length(min=1, max=20))
    weight_cap = Quantity("mass", load_default=None, minimum=20, maximum=300)


class CohortStateSchema(Schema):
    name = fields.String()
    dose = Quantity("dose")
    size = fields.Integer()
    enrolled = fields.Integer()
    infused = fields.Integer()
    status = fields.String()


class StudySchema(Schema):
    id = fields.Integer()
    code = fields.String()
    title = fields.String()
    escalation = fields.String()
    weight_cap = Quantity("mass", allow_none=True)
    cohorts = fields.Method("_cohorts")

    def _cohorts(self, study):
        from lims.studies.services import cohort_states
        return CohortStateSchema(many=True).dump(cohort_states(study))


class SubjectCreateSchema(StrictSchema):
    study_id = fields.Integer(required=True, strict=True)
    code = identifier(32, r"[\w-]{1,32}", "letters, digits, dashes and underscores", required=True)
    wristband = identifier(64, required=True)
    cohort = identifier(64, required=True)
    weight = EnteredMass(required=True)
    weighed_on = PlausibleDate(required=True)


class WeightCreateSchema(StrictSchema):
    weight = EnteredMass(required=True)
    weighed_on = PlausibleDate(required=True)
    # A change of more than 10 % from the latest weight is refused unless confirmed, with the reason (SPEC §6).
    confirm_change = fields.Boolean(load_default=False)
    reason = text(500, load_default=None)


class WeightStrikeSchema(StrictSchema):
    reason = text(500, required=True)


class WeightSchema(Schema):
    id = fields.Integer()
    weight = Quantity("mass")
    entered = fields.String()
    weighed_on = fields.Date()
    struck = fields.Boolean()
    strike = fields.Function(lambda w: None if w.strike is None else {
        "reason": w.strike.reason, "struck_by": w.strike.struck_by.full_name,
        "struck_at": w.strike.struck_at.isoformat()})


class SubjectSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    wristband = fields.String()
    study_id = fields.Integer()
    cohort = fields.Function(lambda s: s.cohort.name)
    weights = fields.List(fields.Nested(WeightSchema))


class SafetyReviewCreateSchema(SignedSchema):
    decision = fields.String(load_default="proceed", validate=validate.OneOf(("proceed", "stop")))
    notes = text(2000, load_default=None)


class SafetyReviewSchema(Schema):
    id = fields.Integer()
    cohort = fields.Function(lambda r: r.cohort.name)
    decision = fields.String()
    notes = fields.String(allow_none=True)
    signature = fields.Function(lambda r: {"printed_name": r.signature.printed_name, "meaning": r.signature.meaning,
                                           "signed_at": r.signature.signed_at.isoformat()})


