from marshmallow import fields, validate

from lims.auth.models import ROLES
from lims.schemas import StrictSchema, text


class TokenRequestSchema(StrictSchema):
    username = text(64, required=True)
    password = fields.String(required=True, validate=validate.Length(max=256))


class TokenSchema(StrictSchema):
    token = fields.String()
    expires_at = fields.String()


class UserCreateSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{2,64}$"))
    full_name = text(128, required=True)
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True, validate=validate.Length(min=1))
    password = fields.String(required=True, validate=validate.Length(min=10, max=256))


class UserSchema(StrictSchema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    roles = fields.List(fields.String())
    active = fields.Boolean()


class UnlockSchema(StrictSchema):
    reason = text(500, required=True, metadata={"description": "why the lockout ends early, e.g. identity checked"})
