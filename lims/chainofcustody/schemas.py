from marshmallow import fields, validate

from lims.doses.schemas import entry_field
from lims.schemas import AwareDateTime, SignedSchema, StrictSchema, identifier, line, text
from lims.units import Quantity

EVENTS = ("dispensed", "received", "returned", "discarded")


class CustodyEventRequestSchema(StrictSchema):
    bag = identifier(128, required=True,
                     metadata={"description": "the label's QR payload verbatim, or the bare bag code"})
    event = fields.String(required=True, validate=validate.OneOf(EVENTS))
    location = line(128, required=True)
    scan_entry = entry_field()
    reason = text(500, load_default=None, metadata={"description": "why the bag is discarded (required to discard)"})


class WitnessSchema(StrictSchema):
    username = identifier(64, required=True)
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class BedsideRequestSchema(StrictSchema):
    bag = identifier(128, required=True)
    wristband = identifier(128, required=True)
    witness = fields.Nested(WitnessSchema, required=True)
    location = line(128, load_default=None)
    bag_entry = entry_field()
    wristband_entry = entry_field()


class BedsideScanSchema(StrictSchema):
    """The bedside page's first step: the two scans, before the witness (SPEC §11)."""
    bag = identifier(128, required=True)
    wristband = identifier(128, required=True)
    bag_entry = entry_field()
    wristband_entry = entry_field()


class InfusionRequestSchema(SignedSchema):
    started_at = AwareDateTime(required=True)
    completed_at = AwareDateTime(required=True)
    volume_infused = Quantity("volume", required=True, minimum=0.01, maximum=1000)
    reactions = fields.List(text(500), load_default=list, validate=validate.Length(max=50))
