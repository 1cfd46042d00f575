"""A real browser: Debian's chromium driven by Playwright against the app served on loopback.

Browser tests run on SQLite only: the pages read through the same services whose PostgreSQL behaviour the rest of
the suite covers, and one chromium per test is what costs time.
"""
import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from lims.extensions import db
from tests.support import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextmanager
def serving(app):
    """The app on a loopback port, in a thread; yields its base URL."""
    if app.database.is_postgresql:
        pytest.skip("browser runs use SQLite; the services behind the pages run on both databases elsewhere")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    db.session.remove()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def live_server(app, users):
    with serving(app) as url:
        yield url


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is missing: the README's test command installs it")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page, base_url, username, password=PASSWORD):
    page.goto(base_url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/")


def fill_signature(scope, username, password=PASSWORD):
    """Fills the signature of the form in `scope` as it asks (SPEC §4): the username as well while the session has
    not signed (the field shows only then), the password always."""
    typed = scope.locator("input[name='signature.username']:visible")
    if typed.count():
        typed.fill(username)
    scope.locator("input[name='signature.password']:visible").fill(password)


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
