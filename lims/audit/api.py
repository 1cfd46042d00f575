from flask_smorest import Blueprint
from marshmallow import Schema, fields

from lims.audit.services import verify_chain
from lims.auth.access import roles_required

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit trail")


class VerifySchema(Schema):
    ok = fields.Boolean()
    checked = fields.Integer()
    first_broken = fields.Integer(allow_none=True)
    reason = fields.String()


@blp.route("/audit/verify", methods=["GET"])
@roles_required("qa", "admin")
@blp.response(200, VerifySchema)
def verify():
    return verify_chain()
