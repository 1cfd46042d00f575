"""Who is asking: the Bearer token (API) or the session cookie (pages), and the role each route needs.

Every route declares its access with one of these decorators; tests enumerate `view.required_roles` over the URL map
so a new route cannot skip the check (issue 8).
"""
from functools import wraps

from flask import current_app, flash, g, request, session

from lims.auth import services, sessions
from lims.errors import NotAuthenticated

ANY_SIGNED_IN = ("*",)


def current_user():
    if "user" in g:
        return g.user
    user = page = None
    if request.path.startswith("/api/"):
        token = bearer_token()
        if token:
            user = services.user_for_token(token)
    elif session.get("sid") is not None:
        user, page, why = sessions.user_for_session(session["sid"])
        if user is None:
            session.clear()
            if why == "idle":
                flash(f"You were signed out after {current_app.config['LIMS_SESSION_IDLE_MINUTES']} minutes "
                      f"without activity. Sign in again to go on.")
    g.user = user
    g.page_session = page  # whether this page session has signed yet (SPEC §4: the first signature asks the username)
    g.username = user.username if user else None  # for the request log, read while loaded (no query)
    return user


def bearer_token():
    """The token of `Authorization: Bearer <token>`; None without the header; 401 for any other scheme."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("use Authorization: Bearer <token>", code="invalid_token")
    return token.strip()


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
