"""Session cookies and security headers on every kind of response: a page, an API answer, and errors of both."""
import re

import pytest

from tests.support import PASSWORD


def _csp_sources(policy):
    directives = {}
    for part in filter(None, (p.strip() for p in policy.split(";"))):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_security_headers(r):
    policy = _csp_sources(r.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]  # no inline script or style
    assert policy["frame-ancestors"] == ["'none'"]
    for name, sources in policy.items():
        for source in sources:  # only this site (and inline images as data:); never another host
            assert source in ("'self'", "'none'", "data:"), f"{name} allows {source}"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"


def _sign_in(client, username="tech"):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    return client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})


def test_the_session_cookie_is_http_only_and_same_site(app, users):
    r = _sign_in(app.test_client())
    assert r.status_code == 302
    cookie = next(c for c in r.headers.getlist("Set-Cookie") if c.startswith("session="))
    attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"] in ("SameSite=Lax", "SameSite=Strict")


@pytest.mark.parametrize(("path", "status"), [("/login", 200), ("/no-such-page", 404)])
def test_pages_and_page_errors_carry_the_security_headers(client, path, status):
    r = client.get(path)
    assert r.status_code == status and r.mimetype == "text/html"
    assert_security_headers(r)


def test_api_answers_and_api_errors_carry_the_security_headers(api):
    ok = api.get("/studies", as_="tech")
    anonymous = api.get("/studies")
    missing = api.get("/lots/987654", as_="tech")
    malformed = api.client.post("/api/v1/donors", data="{not json", content_type="application/json",
                                headers={"Authorization": f"Bearer {api.token('tech')}"})
    assert [r.status_code for r in (ok, anonymous, missing, malformed)] == [200, 401, 404, 400]
    for r in (ok, anonymous, missing, malformed):
        assert r.mimetype == "application/json"
        assert_security_headers(r)
        assert r.headers["Cache-Control"] == "no-store"  # tokens and patient data stay out of caches
