"""The administrator's user pages: who may sign in and with which roles, a new account, and the end of a lockout."""
from flask import Blueprint, flash, redirect, render_template, request, url_for

from lims.auth import services
from lims.auth.access import current_user, roles_required
from lims.auth.models import ROLES
from lims.auth.schemas import AccountStateSchema, UnlockSchema, UserCreateSchema
from lims.errors import LimsError
from lims.pages import load_form, refused

bp = Blueprint("auth_pages", __name__, template_folder="templates")


def _users_context():
    return {"users": services.users_by_name(), "roles": ROLES, "is_locked": services.is_locked}


@bp.route("/users")
@roles_required("admin")
def users():
    return render_template("auth/users.html", error=None, form=None, failed=None, action=None, **_users_context())


@bp.route("/users/new", methods=["POST"])
@roles_required("admin")
def create_user():
    try:
        body = load_form(UserCreateSchema(), request.form)
        user = services.create_user(body["username"], body["full_name"], body["roles"], body["password"],
                                    actor=current_user())
    except LimsError as e:
        return refused("auth/users.html", e, form=request.form, failed="new", context=_users_context)
    flash(f"Account {user.username} created for {user.full_name} ({', '.join(user.roles)}). Give them the password "
          f"in person; they sign in with it.")
    return redirect(url_for(".users"))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@roles_required("admin")
def unlock_user(user_id):
    try:
        body = load_form(UnlockSchema(), request.form)
        user = services.unlock_user(current_user(), user_id, body["reason"])
    except LimsError as e:
        return refused("auth/users.html", e, form=request.form, failed=user_id, context=_users_context)
    flash(f"{user.full_name} ({user.username}) can sign in again.")
    return redirect(url_for(".users"))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@roles_required("admin")
def deactivate_user(user_id):
    try:
        body = load_form(AccountStateSchema(), request.form)
        user = services.deactivate_user(current_user(), user_id, body["reason"])
    except LimsError as e:
        return refused("auth/users.html", e, form=request.form, failed=user_id, action="deactivate",
                       context=_users_context)
    flash(f"{user.full_name} ({user.username}) is deactivated: signed out everywhere, and cannot sign in, use a "
          f"token or sign as a witness until reactivated.")
    return redirect(url_for(".users"))


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@roles_required("admin")
def reactivate_user(user_id):
    try:
        body = load_form(AccountStateSchema(), request.form)
        user = services.reactivate_user(current_user(), user_id, body["reason"])
    except LimsError as e:
        return refused("auth/users.html", e, form=request.form, failed=user_id, action="reactivate",
                       context=_users_context)
    flash(f"{user.full_name} ({user.username}) is active again and signs in with their own password.")
    return redirect(url_for(".users"))


def locked_accounts_dashboard(user):
    locked = [u for u in services.users_by_name() if services.is_locked(u)]
    return {"role": "admin", "title": "Locked accounts", "empty": "No account is locked.",
            "rows": [{"text": f"{u.full_name} ({u.username})", "detail": "locked after repeated failed passwords",
                      "href": "/users"} for u in locked]}
