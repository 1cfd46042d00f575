from marshmallow import fields, validate

from lims.schemas import AwareDateTime, SignedSchema, StrictSchema, text
from lims.units import Quantity

EVENTS = ("dispensed", "received", "returned", "discarded")


class CustodyEventRequestSchema(StrictSchema):
    bag = fields.String(required=True, validate=validate.Length(min=1, max=128),
                        metadata={"description": "the label's QR payload verbatim, or the bare bag code"})
    event = fields.String(required=True, validate=validate.OneOf(EVENTS))
    location = text(128, required=True)


class WitnessSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class BedsideRequestSchema(StrictSchema):
    bag = fields.String(required=True, validate=validate.Length(min=1, max=128))
    wristband = fields.String(required=True, validate=validate.Length(min=1, max=128))
    witness = fields.Nested(WitnessSchema, required=True)
    location = text(128, load_default=None)


class InfusionRequestSchema(SignedSchema):
    started_at = AwareDateTime(required=True)
    completed_at = AwareDateTime(required=True)
    volume_infused = Quantity("volume", required=True)
    reactions = fields.List(text(500), load_default=list, validate=validate.Length(max=50))
