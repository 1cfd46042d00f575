import re

from tests.support import PASSWORD


def _csrf(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_form_post_without_csrf_token_is_refused(app, users):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    r = client.post("/login", data={"username": "tech", "password": PASSWORD})
    assert r.status_code == 400
    assert "CSRF" in r.get_data(as_text=True)


def test_sign_in_with_csrf_token_reaches_home(app, users):
    client = app.test_client()
    token = _csrf(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": "tech", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Tech Person" in page and "Lots in quarantine" in page


def test_wrong_password_on_page_shows_error(app, users):
    client = app.test_client()
    token = _csrf(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": "tech", "password": "nope", "csrf_token": token})
    assert r.status_code == 401 and "invalid username or password" in r.get_data(as_text=True)


def test_home_redirects_anonymous_to_login(client):
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


def test_session_cookie_is_httponly_and_samesite(app, users):
    client = app.test_client()
    token = _csrf(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": "tech", "password": PASSWORD, "csrf_token": token})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_forbid_external_requests(client):
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "http" not in csp
