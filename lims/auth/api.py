from flask import request
from flask_smorest import Blueprint

from lims.auth import services
from lims.auth.access import bearer_token, current_user, login_required, public, roles_required
from lims.auth.schemas import TokenRequestSchema, TokenSchema, UserCreateSchema, UserSchema
from lims.errors import ErrorSchema
from lims.timeutil import iso

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Sign-in and users")


@blp.route("/auth/token", methods=["POST"])
@public
@blp.arguments(TokenRequestSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, schema=ErrorSchema, description="wrong username or password, or the account is locked")
@blp.alt_response(429, schema=ErrorSchema, description="too many failed sign-ins from this address; see Retry-After")
def issue_token(body):
    user = services.authenticate(body["username"], body["password"], request.remote_addr)
    token, expires_at = services.issue_token(user)
    return {"token": token, "expires_at": iso(expires_at)}


@blp.route("/auth/token", methods=["DELETE"])
@login_required
@blp.response(204)
def revoke_token():
    """Signs the token out: it is refused from then on (a label station retired, a token copied)."""
    services.revoke_token(bearer_token())


@blp.route("/users", methods=["POST"])
@roles_required("admin")
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
def create_user(body):
    return services.create_user(body["username"], body["full_name"], body["roles"], body["password"],
                                actor=current_user())
