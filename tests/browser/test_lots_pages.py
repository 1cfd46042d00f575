"""The lot pages in a real browser (chromium): QA signs a release in its dialog; the product's trend chart draws."""
from playwright.sync_api import expect

from lims.extensions import db
from tests.browser.conftest import fill_signature, screenshot, sign_in
from tests.lots.helpers import qc_with
from tests.support import make_lot, make_product, record_qc, released_lot


def test_qc_form_opens_on_the_next_test_and_shows_the_reason_only_for_a_correction(live_server, page, api):
    make_product(api)
    lot = make_lot(api)
    record_qc(api, lot["id"], [("viability", "91 %"), ("cell_concentration", "12e6 cell/mL")])
    db.session.remove()
    sign_in(page, live_server, "tech")
    page.goto(f"{live_server}/lots/{lot['id']}")
    test, reason = page.locator("#f-test"), page.locator("#f-reason")
    expect(test).to_have_value("cd73")
    expect(reason).to_be_hidden()
    test.select_option("viability")  # has a result: a new entry is a correction, which needs its reason
    expect(reason).to_be_visible()
    expect(page.locator("label[for=f-reason]")).to_have_text("Reason (only when correcting an existing result)")
    test.select_option("cd73")
    expect(reason).to_be_hidden()
    page.fill("#f-result", "98 %")
    page.click("button:has-text('Record result')")
    expect(page.locator(".flash")).to_contain_text("cd73 recorded: 98 %.")
    expect(page.locator("#f-test")).to_have_value("cd90")
    screenshot(page, "lots-qc-next-test")


def test_qa_signs_a_release_in_the_dialog_from_the_queue(live_server, page, api):
    make_product(api)
    lot = make_lot(api)
    record_qc(api, lot["id"], qc_with())
    db.session.remove()  # the server thread writes next; this thread holds no transaction open on SQLite
    sign_in(page, live_server, "qa")
    page.goto(live_server + "/lots/release-queue")
    row = page.locator(f"#lot-{lot['id']}")
    expect(row).to_contain_text("every requirement met")
    row.get_by_role("button", name="Release").click()
    dialog = page.locator(f"dialog#release-{lot['id']}")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("sign this record as released")
    screenshot(page, "lots-release-dialog")
    fill_signature(dialog, "qa")
    dialog.get_by_role("button", name="Sign: Release").click()
    page.wait_for_url(live_server + "/lots/release-queue**")  # the form's #lot-N fragment survives the redirect
    expect(page.locator(".flash")).to_contain_text("is now released, signed by Qa Person")
    expect(page.locator("#lot-" + str(lot["id"]))).to_have_count(0)
    page.goto(f"{live_server}/lots/{lot['id']}")
    expect(page.locator("h1 .badge")).to_have_text("released")
    expect(page.locator("#dispositions")).to_contain_text("released by Qa Person")
    screenshot(page, "lots-released")


def test_product_page_trend_chart_renders_a_point_per_lot(live_server, page, api):
    released_lot(api)
    failing = make_lot(api)
    record_qc(api, failing["id"], qc_with(viability="65 %"))
    db.session.remove()
    sign_in(page, live_server, "tech")
    page.goto(live_server + "/products/S1234")
    viability = page.locator("svg#trend-viability")
    expect(viability).to_be_visible()
    expect(viability.locator("circle.point")).to_have_count(2)
    expect(viability.locator("circle.point.unmet")).to_have_count(1)
    expect(viability.locator("line.limit")).to_have_count(1)
    box = viability.bounding_box()
    assert box["width"] > 300 and box["height"] > 100  # drawn at a readable size, not collapsed
    expect(page.locator("svg#trend-concentration circle.point")).to_have_count(2)
    expect(page.get_by_role("img", name="S1234 post-thaw viability (%) by lot")).to_be_visible()
    screenshot(page, "lots-product-trend")
