from marshmallow import Schema, fields, validate

from lims.lots.models import ELIGIBILITY, NOTIFICATION_METHODS
from lims.schemas import AwareDateTime, PlausibleDate, SignedSchema, StrictSchema, identifier, line, text
from lims.units import Quantity


class ProductCreateSchema(StrictSchema):
    code = identifier(16, r"[A-Z0-9]{2,16}", "2 to 16 capital letters or digits", required=True)
    name = line(128, required=True)
    # Minutes to days after thaw: a figure outside it is a slip of the unit, and it sets every bag's expiry.
    post_thaw_stability = Quantity("duration", required=True, minimum=0.25, maximum=168)
    storage_text = text(500, load_default="Store at ≤ −150 °C (vapour-phase liquid nitrogen) until thaw. "
                                          "After thaw keep at 15–25 °C; do not refreeze.")


class ProductSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    post_thaw_stability = Quantity("duration")
    storage_text = fields.String()


class DonorCreateSchema(StrictSchema):
    code = identifier(32, r"[A-Za-z0-9-]{1,32}", "letters, digits and dashes", required=True)
    eligibility = fields.String(required=True, validate=validate.OneOf(ELIGIBILITY))


class DonorSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    eligibility = fields.String()


class StorageSchema(StrictSchema):
    freezer = line(32, required=True)
    rack = line(32, required=True)
    box = line(32, required=True)
    first_position = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10000))


class LotCreateSchema(StrictSchema):
    product_code = identifier(16, required=True)
    donor_id = fields.Integer(required=True, strict=True)
    manufactured_on = PlausibleDate(required=True)
    expires_on = PlausibleDate(required=True)
    container_count = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=999))
    fill_volume = Quantity("volume", required=True, minimum=0.01, maximum=1000)
    dmso_fraction = Quantity("percent", load_default=None, allow_zero=True, maximum=100)
    storage = fields.Nested(StorageSchema, load_default=None)


class ContainerSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    division = fields.String()
    status = fields.String()
    location = fields.String(allow_none=True)
    fill_volume = fields.Method("_fill")

    def _fill(self, c):
        return {"value": c.fill_volume_ml, "unit": "mL"}


class SignatureOutSchema(Schema):
    printed_name = fields.String()
    username = fields.Function(lambda s: s.user.username)
    meaning = fields.String()
    signed_at = fields.AwareDateTime(format="iso")
    record_hash = fields.String()


class DispositionSchema(Schema):
    from_status = fields.String()
    to_status = fields.String()
    reason = fields.String(allow_none=True)
    automatic = fields.Boolean()
    at = fields.AwareDateTime(format="iso")
    signature = fields.Nested(SignatureOutSchema, allow_none=True)


class LotSchema(Schema):
    id = fields.Integer()
    din = fields.String()
    check_character = fields.String()
    status = fields.String()
    blocked = fields.Boolean()
    product_code = fields.Function(lambda lot: lot.product.code)
    product_name = fields.Function(lambda lot: lot.product.name)
    donor = fields.Nested(DonorSchema)
    spec = fields.Function(lambda lot: {"name": lot.spec.name, "version": lot.spec.version})
    manufactured_on = fields.Date()
    expires_on = fields.Date()
    container_count = fields.Integer()
    fill_volume = Quantity("volume")
    dmso_fraction = Quantity("percent")
    containers = fields.List(fields.Nested(ContainerSchema))
    dispositions = fields.Method("_dispositions")

    def _dispositions(self, lot):
        from lims.lots.services import dispositions
        return DispositionSchema(many=True).dump(dispositions(lot))


class QcCreateSchema(StrictSchema):
    test = identifier(32, required=True)
    result = fields.Raw(required=True, metadata={"description": 'a quantity ("92.5 %") or "negative"/"positive"'})
    method = line(128, load_default=None)
    reason = text(500, load_default=None)


class QcResultSchema(Schema):
    id = fields.Integer()
    lot_id = fields.Integer()
    test = fields.String()
    result = fields.Method("_result")
    method = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    supersedes_id = fields.Integer(allow_none=True)
    recorded_by = fields.Function(lambda r: r.recorded_by.username)
    recorded_at = fields.AwareDateTime(format="iso")

    def _result(self, r):
        return r.text_value if r.text_value is not None else {"value": r.numeric_value, "unit": r.unit}


class CriterionSchema(Schema):
    test = fields.String()
    requirement = fields.String()
    result = fields.Raw(allow_none=True)
    met = fields.Boolean()
    missing = fields.Boolean()


class EvaluationSchema(Schema):
    lot_id = fields.Integer()
    spec = fields.String()
    status = fields.String()
    criteria = fields.List(fields.Nested(CriterionSchema))


class DispositionRequestSchema(SignedSchema):
    reason = text(1000, load_default=None)


class DonorEligibilityRequestSchema(SignedSchema):
    """QA's determination of a donor's eligibility (SPEC §5, donor look-back)."""
    eligibility = fields.String(required=True, validate=validate.OneOf(ELIGIBILITY))
    reason = text(1000, required=True)


class LateQcReviewRequestSchema(SignedSchema):
    """QA's signed review of the QC results recorded on a lot after its release (SPEC §5)."""
    note = text(1000, load_default=None)


class NotificationRequestSchema(StrictSchema):
    """A subject told of a hold, recall or look-back of a lot they received (SPEC §5)."""
    subject_id = fields.Integer(required=True, strict=True)
    method = fields.String(required=True, validate=validate.OneOf(NOTIFICATION_METHODS))
    notified_at = AwareDateTime(load_default=None, metadata={"description": "when the subject was told (default now)"})
    note = text(1000, load_default=None)
