"""The signing dialog in a real browser (SPEC §4): the session's first signature asks for the username and the
password, the next one the password alone."""
from playwright.sync_api import expect

from lims.extensions import db
from tests.browser.conftest import sign_in
from tests.lots.helpers import qc_with
from tests.support import PASSWORD, make_lot, make_product, record_qc


def _open_release_dialog(page, lot_id):
    page.locator(f"#lot-{lot_id}").get_by_role("button", name="Release").click()
    dialog = page.locator(f"dialog#release-{lot_id}")
    expect(dialog).to_be_visible()
    return dialog


def test_the_first_dialog_asks_the_username_and_the_second_only_the_password(live_server, page, api):
    make_product(api)
    first, second = make_lot(api), make_lot(api)
    for lot in (first, second):
        record_qc(api, lot["id"], qc_with())
    db.session.remove()  # the server thread writes next; this thread holds no transaction open on SQLite
    sign_in(page, live_server, "qa")
    page.goto(live_server + "/lots/release-queue")

    dialog = _open_release_dialog(page, first["id"])
    username = dialog.get_by_label("Username")
    expect(username).to_be_visible()
    expect(username).to_have_attribute("autocomplete", "username")
    expect(dialog).to_contain_text("Your first signature of this session: enter your username and password.")
    dialog.get_by_role("button", name="Sign: Release").click()  # the username left empty: the browser asks for it
    expect(dialog).to_be_visible()
    assert page.evaluate("document.activeElement.name") == "signature.username"
    username.fill("QA")
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Sign: Release").click()
    expect(page.locator(".flash")).to_contain_text("is now released, signed by Qa Person")

    dialog = _open_release_dialog(page, second["id"])
    expect(dialog.locator("input[name='signature.username']")).to_have_count(0)
    expect(dialog).to_contain_text("Re-enter your password to sign.")
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Sign: Release").click()
    expect(page.locator(".flash")).to_contain_text("is now released, signed by Qa Person")
    expect(page.locator(f"#lot-{second['id']}")).to_have_count(0)
