from marshmallow import Schema, fields, validate

from lims.safety.models import OUTCOMES, RELATEDNESS
from lims.schemas import PlausibleDate, StrictSchema, line, text


class AdverseEventCreateSchema(StrictSchema):
    term = line(200, required=True)
    onset_on = PlausibleDate(required=True)
    grade = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    serious = fields.Boolean(required=True, truthy={True}, falsy={False})
    relatedness = fields.String(required=True, validate=validate.OneOf(RELATEDNESS))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    description = text(4000, load_default=None)


class AdverseEventSupersedeSchema(AdverseEventCreateSchema):
    reason = text(1000, required=True)


class AdverseEventSchema(Schema):
    id = fields.Integer()
    subject_id = fields.Integer()
    subject = fields.Function(lambda e: e.subject.code)
    bag_id = fields.Integer(allow_none=True)
    lot_id = fields.Integer(allow_none=True)
    donor_id = fields.Integer(allow_none=True)
    term = fields.String()
    onset_on = fields.Date()
    grade = fields.Integer()
    serious = fields.Boolean(metadata={"description": "as recorded"})
    counts_as_serious = fields.Boolean(metadata={
        "description": "serious as recorded, or by definition (grade 4/5 or outcome fatal, ICH E2A): what the "
                       "escalation gate and the home pages read; differs from `serious` only on a row recorded "
                       "before the rule was enforced"})
    relatedness = fields.String()
    outcome = fields.String()
    description = fields.String(allow_none=True)
    from_infusion = fields.Boolean()
    pre_treatment = fields.Boolean(metadata={"description": "onset before the infusion (or none yet): no lot linked"})
    current = fields.Boolean()
    supersedes_id = fields.Integer(allow_none=True)
    superseded_by_id = fields.Integer(allow_none=True)
    supersede_reason = fields.String(allow_none=True)
    recorded_at = fields.DateTime()


class AdverseEventListSchema(Schema):
    events = fields.List(fields.Nested(AdverseEventSchema))
    superseded = fields.List(fields.Nested(AdverseEventSchema))
