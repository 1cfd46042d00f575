import math

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from lims.schemas import PlausibleDate, SignatureSchema, SignedSchema, StrictSchema, identifier, line, text
from lims.studies.models import CRITERION_KINDS, ESCALATION
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


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class CriterionCreateSchema(StrictSchema):
    """One entry criterion (SPEC §6): `yes` takes true or false, `min`/`max` a number, `months_before` whole months.
    `question` is how the enrolment form asks it; `integer`, `lowest` and `highest` bound what a valid answer is
    (NIHSS: an integer 0–42), apart from whether it meets the criterion."""
    name = identifier(64, r"[a-z][a-z0-9_]{0,63}", "lower-case letters, digits and underscores", required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CRITERION_KINDS))
    value = fields.Raw(required=True, allow_none=False)
    question = line(200, load_default=None)
    integer = fields.Boolean(load_default=False)
    lowest = fields.Float(load_default=None, allow_none=True, allow_nan=False)
    highest = fields.Float(load_default=None, allow_none=True, allow_nan=False)

    @validates_schema
    def _value_of_its_kind(self, data, **kwargs):
        kind, value = data.get("kind"), data.get("value")
        if kind == "yes" and not isinstance(value, bool):
            raise ValidationError("a yes criterion's value is true or false", "value")
        if kind in ("min", "max") and not _is_number(value):
            raise ValidationError("a min or max criterion's value is a number", "value")
        if kind == "months_before" and not (isinstance(value, int) and not isinstance(value, bool)
                                            and 1 <= value <= 1200):
            raise ValidationError("a months_before criterion's value is a whole number of months, 1–1200", "value")
        low, high = data.get("lowest"), data.get("highest")
        if low is not None and high is not None and low > high:
            raise ValidationError("lowest must not be above highest", "lowest")
        if kind in ("min", "max") and _is_number(value) and (
                (low is not None and value < low) or (high is not None and value > high)):
            raise ValidationError("the value lies outside the possible answers (lowest–highest)", "value")


def _distinct_days(days):
    if len(set(days)) != len(days):
        raise ValidationError("each day once")


class StudyCreateSchema(StrictSchema):
    code = identifier(32, r"[A-Za-z0-9_-]{1,32}", "letters, digits, dashes and underscores", required=True)
    title = line(256, required=True)
    escalation = fields.String(required=True, validate=validate.OneOf(ESCALATION))
    cohorts = fields.List(fields.Nested(CohortCreateSchema), required=True, validate=validate.Length(min=1, max=20))
    weight_cap = Quantity("mass", load_default=None, minimum=20, maximum=300)
    eligibility = fields.List(fields.Nested(CriterionCreateSchema), load_default=None,
                              validate=validate.Length(max=50))
    # Days after infusion at which a follow-up visit is due; the reference trial's by default (SPEC §6).
    follow_up_days = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=3650)),
                                 load_default=None, validate=[validate.Length(min=1, max=30), _distinct_days])


class EligibilityRevisionSchema(SignedSchema):
    """A protocol amendment of the entry criteria: the new version whole, why, and the administrator's signature."""
    eligibility = fields.List(fields.Nested(CriterionCreateSchema), required=True,
                              validate=validate.Length(min=1, max=50))
    reason = text(1000, required=True)


class CohortStateSchema(Schema):
    name = fields.String()
    dose = Quantity("dose")
    size = fields.Integer()
    enrolled = fields.Integer()
    infused = fields.Integer()
    status = fields.String()


def criteria_view(version):
    if version is None:
        return None
    return {"version": version.version, "criteria": [
        {"name": c.name, "kind": c.kind, "value": c.value, "question": c.question, "integer": c.integer,
         "lowest": c.lowest, "highest": c.highest} for c in version.criteria]}


class StudySchema(Schema):
    id = fields.Integer()
    code = fields.String()
    title = fields.String()
    escalation = fields.String()
    weight_cap = Quantity("mass", allow_none=True)
    eligibility = fields.Function(lambda s: criteria_view(s.eligibility))
    follow_up_days = fields.List(fields.Integer())
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
    # Where the study has entry criteria (SPEC §6): each answered, consent dated, the enrolment signed.
    eligibility = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=64)), values=fields.Raw(),
                              load_default=None, validate=validate.Length(max=50))
    consent_signed_on = PlausibleDate(load_default=None)
    signature = fields.Nested(SignatureSchema, load_default=None)


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


def enrolment_view(enrolment):
    if enrolment is None:
        return None
    sig = enrolment.signature
    return {"criteria_version": enrolment.eligibility_version.version if enrolment.eligibility_version else None,
            "consent_signed_on": enrolment.consent_signed_on.isoformat() if enrolment.consent_signed_on else None,
            "answers": [{"name": a.criterion.name, "answer": a.answer, "met": a.met} for a in enrolment.answers],
            "signature": None if sig is None else {"printed_name": sig.printed_name, "meaning": sig.meaning,
                                                   "signed_at": sig.signed_at.isoformat()}}


class SubjectSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    wristband = fields.String()
    study_id = fields.Integer()
    cohort = fields.Function(lambda s: s.cohort.name)
    weights = fields.List(fields.Nested(WeightSchema))
    eligibility = fields.Function(lambda s: enrolment_view(s.enrolment))


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




class FollowUpVisitCreateSchema(StrictSchema):
    day = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=3650))
    done_on = PlausibleDate(required=True)


class FollowUpVisitSchema(Schema):
    id = fields.Integer()
    day = fields.Integer()
    due_on = fields.Date()
    opens_on = fields.Date()
    closes_on = fields.Date()
    done_on = fields.Date(allow_none=True)
    status = fields.Function(lambda v: v.status(_today()))


def _today():
    from lims.timeutil import site_today
    return site_today()
