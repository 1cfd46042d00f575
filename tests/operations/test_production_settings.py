"""A production server refuses to start without its secret key, and behind a TLS proxy it sends Secure cookies and
HSTS and reads the client's address and scheme from that one proxy."""
import os
import re
import subprocess
import sys

import pytest

import config
from lims import MissingSecretKey, create_app
from tests.conftest import make_app
from tests.reliability.servers import PROJECT
from tests.support import PASSWORD


def test_the_served_app_refuses_to_start_without_a_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LIMS_SECRET_KEY"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/lims.db"
    run = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=PROJECT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode != 0
    assert "LIMS_SECRET_KEY is not set" in run.stderr.splitlines()[-1]


def test_an_empty_secret_key_is_refused_too(tmp_path):
    with pytest.raises(MissingSecretKey, match="LIMS_SECRET_KEY is not set"):
        create_app(config.Config, DATABASE_URL=f"sqlite:///{tmp_path}/lims.db", SECRET_KEY="")


def _csrf(client, path="/login"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path, **HTTPS).get_data(as_text=True)).group(1)


HTTPS = {"headers": {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7",
                     "X-Forwarded-Host": "lims.example"}}


@pytest.fixture
def tls_app(database, users):
    app = make_app(database.url, LIMS_BEHIND_TLS=True)
    with app.app_context():
        yield app


def test_behind_tls_the_session_cookie_is_secure_and_hsts_is_sent(tls_app):
    client = tls_app.test_client()
    r = client.post("/login", data={"username": "tech", "password": PASSWORD, "csrf_token": _csrf(client)}, **HTTPS)
    # Signed in over HTTPS with no Referer (our pages send Referrer-Policy: no-referrer): the CSRF token suffices.
    assert r.status_code == 302
    cookie = next(c for c in r.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" in [a.strip() for a in cookie.split(";")]
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_behind_tls_the_client_address_is_the_one_the_proxy_saw(tls_app):
    seen = {}

    @tls_app.before_request
    def _remember():
        from flask import request
        seen.update(remote_addr=request.remote_addr, secure=request.is_secure, host=request.host)

    tls_app.test_client().get("/healthz", **HTTPS)
    assert seen == {"remote_addr": "203.0.113.7", "secure": True, "host": "lims.example"}


def test_without_tls_no_hsts_and_the_cookie_is_not_marked_secure(app, users):
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"username": "tech", "password": PASSWORD, "csrf_token": token})
    cookie = next(c for c in r.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" not in [a.strip() for a in cookie.split(";")]
    assert "Strict-Transport-Security" not in r.headers
