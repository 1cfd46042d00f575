"""Sign-in, sign-out and the home page: each role's work at a glance."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from lims.auth import services
from lims.auth.access import current_user, login_required, public
from lims.errors import NotAuthenticated

bp = Blueprint("main", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    error = None
    if request.method == "POST":
        try:
            user = services.authenticate(request.form.get("username", ""), request.form.get("password", ""))
        except NotAuthenticated as e:
            error = e.message
        else:
            session.clear()
            session["user_id"] = user.id
            return redirect(_safe_next(request.args.get("next")))
    page = render_template("login.html", error=error, username=request.form.get("username", ""))
    return page, (401 if error else 200)


def _safe_next(target):
    # Only same-site paths: an open redirect after sign-in is a phishing aid.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("main.home")


@bp.route("/logout", methods=["POST"])
@public
def logout():
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
    ("qa", "Release queue", "/lots/release-queue"),
    ("qa", "Lots", "/lots"),
    ("qa", "Near misses", "/near-misses"),
    ("qa", "Recalls", "/recalls"),
    ("qa", "Audit trail", "/audit"),
    ("investigator", "Studies", "/studies"),
    ("pharmacist", "Doses", "/doses"),
    ("nurse", "Ward", "/ward"),
    ("nurse", "Bedside", "/bedside"),
    ("admin", "Users", "/users"),
    ("admin", "Audit trail", "/audit"),
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
    return {"me": me, "nav_links": nav_links(me)}


__all__ = ["bp", "login_required"]
