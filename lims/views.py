"""Sign-in, sign-out and the home page: each role's work at a glance."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from lims.auth import services, sessions
from lims.auth.access import current_user, login_required, public
from lims.auth.redirects import safe_next
from lims.auth.throttle import TooManySignIns
from lims.errors import NotAuthenticated

bp = Blueprint("main", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    error, status = None, 200
    if request.method == "GET" and current_user() is not None:
        # Already signed in (another tab kept the session alive): on to where the sign-in would have led.
        return redirect(safe_next(request.args.get("next")))
    if request.method == "POST":
        try:
            user = services.authenticate(request.form.get("username", ""), request.form.get("password", ""),
                                         request.remote_addr)
        except (NotAuthenticated, TooManySignIns) as e:
            error, status = e.message, e.status
        else:
            sid = sessions.start_session(user)
            session.clear()  # nothing of an earlier session (or of a planted cookie) survives the sign-in
            session["sid"] = sid
            return redirect(safe_next(request.args.get("next")))
    page = render_template("login.html", error=error, username=request.form.get("username", ""))
    return page, status


@bp.route("/logout", methods=["POST"])
@public
def logout():
    # The session ends on the server: the cookie, and any copy of it, is refused from now on.
    sessions.end_session(session.get("sid"))
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("main.login"))


@bp.route("/")
@public
def home():
    user = current_user()
    if user is None:
        return redirect(url_for("main.login", next=request.path))
    from lims.dashboard import work_for
    return render_template("home.html", sections=work_for(user))


# Each role's places, in the order of its work; a user with several roles sees each link once.
NAV = (
    ("technician", "Lots", "/lots"),
    ("technician", "Reports", "/reports"),
    ("qa", "Release queue", "/lots/release-queue"),
    ("qa", "Lots", "/lots"),
    ("qa", "Near misses", "/near-misses"),
    ("qa", "Recalls", "/recalls"),
    ("qa", "Audit trail", "/audit"),
    ("qa", "Reports", "/reports"),
    ("investigator", "Studies", "/studies"),
    ("investigator", "Reports", "/reports"),
    ("pharmacist", "Doses", "/doses"),
    ("pharmacist", "Reports", "/reports"),
    ("nurse", "Ward", "/ward"),
    ("nurse", "Bedside", "/bedside"),
    ("admin", "Users", "/users"),
    ("admin", "Audit trail", "/audit"),
    ("admin", "Reports", "/reports"),
)


def nav_links(user):
    links, seen = [("Home", "/")], {"/"}
    for role, label, path in NAV:
        if user is not None and user.has_role(role) and path not in seen:
            links.append((label, path))
            seen.add(path)
    return links


@bp.app_context_processor
def inject_user():
    try:
        me = current_user()
    except NotAuthenticated:
        me = None
    from flask import current_app
    from lims.auth.sessions import asks_username
    return {"me": me, "nav_links": nav_links(me), "signature_asks_username": asks_username,
            "idle_seconds": current_app.config["LIMS_SESSION_IDLE_MINUTES"] * 60}


@bp.app_template_global()
def page_url(**changes):
    """This page's URL with its query arguments (a list's filters) kept and `changes` applied; a None drops one.
    The pager (_ui.html) uses it for the next page's cursor, so a filtered list pages through its own rows."""
    args = request.args.to_dict()
    for name, value in changes.items():
        if value is None:
            args.pop(name, None)
        else:
            args[name] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


__all__ = ["bp", "login_required"]
