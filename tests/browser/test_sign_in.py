"""Sign-in in a real browser: Debian's chromium driven by Playwright against the app served on loopback."""
from tests.browser.conftest import screenshot
from tests.support import PASSWORD


def test_technician_signs_in_and_sees_the_worklist(live_server, page, app):
    page.goto(live_server + "/")
    assert page.url.startswith(live_server + "/login")
    page.fill("#username", "tech")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
    assert page.locator("h1").inner_text() == "Good to see you, Tech Person"
    assert "No lot in quarantine is missing a QC result." in page.content()
    screenshot(page, "home-technician")
    page.click("text=Sign out")
    page.wait_for_url(live_server + "/login")
    assert "You are signed out." in page.content()
