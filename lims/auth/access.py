"""Who is asking: the Bearer token (API) or the session cookie (pages), and the role each route needs.

Every route declares its access with one of these decorators; tests enumerate `view.required_roles` over the URL map
so a new route cannot skip the check (issue 8).
"""
from functools import wraps

from flask import g, request, session

from lims.auth import services
from lims.auth.models import User
from lims.errors import NotAuthenticated
from lims.extensions import db

ANY_SIGNED_IN = ("*",)


def current_user():
    if "user" in g:
        return g.user
    user = None
    header = request.headers.get("Authorization", "")
    if request.path.startswith("/api/"):
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise NotAuthenticated("use Authorization: Bearer <token>", code="invalid_token")
            user = services.user_for_token(token.strip())
    elif session.get("user_id") is not None:
        user = db.session.get(User, session["user_id"])
        if user is None or not user.active:
            session.clear()
            user = None
    g.user = user
    g.username = user.username if user else None  # for the request log, read while loaded (no query)
    return user


def _guard(roles):
    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                raise NotAuthenticated("sign in first: this needs an authenticated user")
            if roles != ANY_SIGNED_IN:
                services.require_role(user, *roles)
            return fn(*args, **kwargs)

        wrapper.required_roles = roles
        return wrapper

    return decorator


def roles_required(*roles):
    return _guard(tuple(roles))


login_required = _guard(ANY_SIGNED_IN)


def public(fn):
    fn.required_roles = ()
    return fn
