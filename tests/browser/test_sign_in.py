"""Sign-in in a real browser: Debian's chromium driven by Playwright against the app served on loopback."""
import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from lims.extensions import db
from tests.support import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def live_server(app, users):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    db.session.remove()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page():
    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is missing: the README's test command installs it")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser.new_page()
        browser.close()


def test_technician_signs_in_and_sees_the_worklist(live_server, page, app):
    if app.database.is_postgresql:
        pytest.skip("one browser run is enough; the pages read through the same services")
    page.goto(live_server + "/")
    assert page.url.startswith(live_server + "/login")
    page.fill("#username", "tech")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
    assert page.locator("h1").inner_text() == "Good to see you, Tech Person"
    assert "No lot is waiting in quarantine." in page.content()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home-technician.png"))
    page.click("text=Sign out")
    page.wait_for_url(live_server + "/login")
    assert "You are signed out." in page.content()
