"""Every route, read from the URL map, refuses whoever may not use it (issue 8: a new route cannot skip this).

The table is the app's own URL map: each rule's view must declare `required_roles` (lims.auth.access), unless it
is one of the few public routes below. Path parameters are filled with ids that do not exist, so a 403 (or a 401)
rather than a 404 also proves the role check happens before any lookup.

Decisions: an anonymous API request gets 401 JSON; an anonymous page GET is redirected to /login (then back); an
anonymous page POST gets 401 (a form cannot be replayed after signing in). A signed-in user without the role gets
403 everywhere. Page POSTs carry a valid CSRF token, so what refuses them is the role check, not CSRF.
"""
import re

from flask import g
from werkzeug.routing import IntegerConverter, PathConverter

from lims.auth.access import ANY_SIGNED_IN
from tests.support import ROLE_USERS, PageClient

# Routes anyone may use, each with the reason; everything else needs a signed-in user.
PUBLIC = {
    "main.login": "signing in",
    "main.logout": "signing out ends a session, whoever holds it",
    "auth.issue_token": "the API's sign-in",
    "static": "CSS and JS the sign-in page needs",
    "api-docs.openapi_json": "SPEC §13: the OpenAPI document is public",
    "main.home": "shows a dashboard to a signed-in user and sends anyone else to /login",
    "health.healthz": "a load balancer's liveness probe; shows no data",
    "health.readyz": "a load balancer's readiness probe; shows no data",
}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def routes(app):
    """(method, path, rule) for every rule and method of the URL map, path params filled with absent records."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        values = {}
        for name in rule.arguments:
            converter = rule._converters[name]
            if isinstance(converter, IntegerConverter):
                values[name] = 987654
            elif isinstance(converter, PathConverter):
                values[name] = "No such cohort"
            else:
                values[name] = "NO-SUCH-RECORD"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.build(values)[1], rule


def roles_of(app, rule):
    return getattr(app.view_functions[rule.endpoint], "required_roles", None)


def is_api(path):
    return path.startswith("/api/")


def _with_fresh_csrf(client, page):
    # The `app` fixture keeps one app context across requests, and Flask-WTF caches the token in `g`: drop it, so
    # the page issues (and stores in the session) a token of this session, as a fresh request context would.
    g.pop("csrf_token", None)
    html = client.get(page).get_data(as_text=True)
    client.csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return client


def anonymous_page_client(app):
    """Not signed in, but holding the CSRF token a browser would have from the sign-in page."""
    return _with_fresh_csrf(PageClient(app), "/login")


def signed_in_page_client(app, username):
    # Signing in starts a new session (and so a new CSRF token): read it again, as the browser's next page would.
    return _with_fresh_csrf(PageClient(app).sign_in(username), "/")


def request(client, method, path, headers=None):
    if isinstance(client, PageClient):
        if method == "GET":
            return client.get(path)
        return client.client.open(path, method=method, data={"csrf_token": client.csrf_token})
    return client.open(path, method=method, json={} if method in WRITES else None, headers=headers or {})


def test_every_route_declares_who_may_use_it(app):
    undeclared, unlisted_public, stale = [], [], set(PUBLIC)
    for method, _path, rule in routes(app):
        roles = roles_of(app, rule)
        stale.discard(rule.endpoint)
        if rule.endpoint in PUBLIC:
            continue
        if roles is None:
            undeclared.append(f"{method} {rule.rule} ({rule.endpoint})")
        elif roles == ():
            unlisted_public.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert not undeclared, ("routes without roles_required/login_required (lims.auth.access) — decorate them:\n"
                            + "\n".join(undeclared))
    assert not unlisted_public, "routes marked @public but not in PUBLIC here:\n" + "\n".join(unlisted_public)
    assert not stale, f"PUBLIC lists endpoints that no longer exist: {sorted(stale)}"


def test_every_write_route_refuses_an_anonymous_request(app):
    api_client, page_client = app.test_client(), anonymous_page_client(app)
    wrong = []
    for method, path, rule in routes(app):
        if method not in WRITES or rule.endpoint in PUBLIC:
            continue
        r = request(api_client if is_api(path) else page_client, method, path)
        if is_api(path):
            ok = r.status_code == 401 and r.get_json()["error"]["code"] == "not_authenticated"
        else:
            ok = r.status_code == 401 and "sign in" in r.get_data(as_text=True)
        if not ok:
            wrong.append(f"{method} {path}: {r.status_code} {r.get_data(as_text=True)[:200]}")
    assert not wrong, "anonymous writes not refused with 401:\n" + "\n".join(wrong)


def test_every_non_public_read_refuses_an_anonymous_request(app):
    api_client, page_client = app.test_client(), anonymous_page_client(app)
    wrong = []
    for method, path, rule in routes(app):
        if method != "GET" or rule.endpoint in PUBLIC:
            continue
        r = request(api_client if is_api(path) else page_client, method, path)
        if is_api(path):
            ok = r.status_code == 401 and r.get_json()["error"]["code"] == "not_authenticated"
        else:
            ok = r.status_code == 302 and r.headers["Location"].startswith("/login?next=")
        if not ok:
            wrong.append(f"GET {path}: {r.status_code} {r.get_data(as_text=True)[:200]}")
    assert not wrong, "anonymous reads not refused (401 for the API, redirect to /login for pages):\n" + \
        "\n".join(wrong)


def test_every_role_restricted_route_refuses_a_user_without_the_role(app, api):
    pages = {}
    wrong, checked = [], 0
    for method, path, rule in routes(app):
        roles = roles_of(app, rule)
        if rule.endpoint in PUBLIC or not roles or roles == ANY_SIGNED_IN:
            continue
        outsider = next((name for name, held in ROLE_USERS.items() if not set(held) & set(roles)), None)
        if outsider is None:
            continue  # every role may use it: nobody to refuse
        if is_api(path):
            r = request(api.client, method, path, headers={"Authorization": f"Bearer {api.token(outsider)}"})
            ok = r.status_code == 403 and r.get_json()["error"]["code"] == "role_required"
        else:
            if outsider not in pages:
                pages[outsider] = signed_in_page_client(app, outsider)
            r = request(pages[outsider], method, path)
            ok = r.status_code == 403
        checked += 1
        if not ok:
            wrong.append(f"{method} {path} as {outsider} (needs {' or '.join(roles)}): {r.status_code} "
                         f"{r.get_data(as_text=True)[:200]}")
    assert not wrong, "a user without the role was not refused with 403 (before any lookup):\n" + "\n".join(wrong)
    assert checked >= 25  # the contract's role-restricted API routes alone are more: the table was really read
