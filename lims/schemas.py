"""Schema pieces shared by every domain."""
from marshmallow import Schema, fields, validate

from lims.timeutil import UTC


class StrictSchema(Schema):
    """Unknown fields are refused (422): a misspelt field must never be silently ignored on a clinical record."""


class SignatureSchema(StrictSchema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=256),
                             metadata={"description": "the signer's password, re-entered at the moment of signing"})


class SignedSchema(StrictSchema):
    signature = fields.Nested(SignatureSchema, required=True)


class AwareDateTime(fields.AwareDateTime):
    """ISO 8601 with a zone (SPEC §13); a time without one is refused rather than guessed."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)


def text(max_length=200, **kwargs):
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)
