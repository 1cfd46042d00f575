from marshmallow import ValidationError, fields, validate, validates_schema

from lims.auth.models import ROLES, roles_problem
from lims.auth.passwords import password_problem
from lims.schemas import StrictSchema, identifier, line, text


class TokenRequestSchema(StrictSchema):
    username = identifier(64, required=True)
    password = fields.String(required=True, validate=validate.Length(max=256))


class TokenSchema(StrictSchema):
    token = fields.String()
    expires_at = fields.String()


class UserCreateSchema(StrictSchema):
    username = identifier(64, r"[A-Za-z0-9._-]{2,64}", "2 to 64 letters, digits, dots, dashes or underscores",
                          required=True)
    full_name = line(128, required=True)
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True, validate=validate.Length(min=1))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256),
                             metadata={"description": "at least 12 characters; not the username, one repeated "
                                                      "character, a common sequence or a common password"})

    @validates_schema(skip_on_field_errors=False)
    def _account_rules(self, data, **kwargs):
        # The service applies the same rules (the CLI calls it directly); here they join the other fields' errors,
        # so a page shows every problem of the form at once.
        errors = {}
        if "roles" in data and roles_problem(data["roles"]):
            errors["roles"] = [roles_problem(data["roles"])]
        if "password" in data and password_problem(data["password"], data.get("username")):
            errors["password"] = [password_problem(data["password"], data.get("username"))]
        if errors:
            raise ValidationError(errors)


class UserSchema(StrictSchema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    roles = fields.List(fields.String())
    active = fields.Boolean()


class UnlockSchema(StrictSchema):
    reason = text(500, required=True, metadata={"description": "why the lockout ends early, e.g. identity checked"})


class AccountStateSchema(StrictSchema):
    reason = text(500, required=True, metadata={"description": "why the account is deactivated or reactivated"})
