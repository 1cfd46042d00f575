"""The pharmacist's plan page in a real browser: prepare in the signing dialog, print the label (a PDF download),
then a second pharmacist verifies by scanning that label and entering the volume measured, and dispenses."""
from tests.browser.conftest import fill_signature, screenshot, sign_in
from tests.labels.conftest import decode_page
from tests.support import enrol, expansion_study, planned_dose, released_lot


def sign_out(page, base_url):
    page.click("text=Sign out")
    page.wait_for_url(base_url + "/login")


def sign_in_dialog(page, dialog_id, button, username):
    page.click(f"button[data-open-dialog={dialog_id}]")
    dialog = page.locator(f"#{dialog_id}")
    assert dialog.is_visible()
    fill_signature(dialog, username)
    dialog.locator(f"button[type=submit]:has-text('Sign: {button}')").click()


def test_prepare_verify_and_print_a_dose_in_the_browser(live_server, page, app, api):
    study = expansion_study(api)
    subject = enrol(api, study["id"], code="S-001", cohort="Expansion", weight="160 lb")
    dose = planned_dose(api, subject["id"], released_lot(api)["id"])
    dose_url = f"{live_server}/doses/{dose['id']}"

    sign_in(page, live_server, "pharm1")
    page.goto(dose_url)
    steps = page.locator("table.plan-steps").inner_text()
    assert "72.5748 kg" in steps and "10.1 mL" in steps and "+0.20 %" in steps
    assert page.locator("#prepare-dialog").is_hidden()
    sign_in_dialog(page, "prepare-dialog", "Prepare", "pharm1")
    page.wait_for_selector("text=A second pharmacist verifies it next.")
    assert "prepared by Pharm1 Person" in page.locator("ul.signatures").inner_text()
    assert "You prepared this dose; another pharmacist verifies it." in page.locator("#verify").inner_text()
    assert page.locator("button[data-open-dialog=verify-dialog]").count() == 0  # not offered to the preparer
    screenshot(page, "dose-prepared")

    # The label prints once the dose is prepared, so it is on the bag when the second pharmacist checks.
    with page.expect_download() as download_info:
        page.click("button:has-text('Print label')")
    download = download_info.value
    bag_code = page.locator("#bag-title").inner_text().split()[1]
    assert download.suggested_filename == f"{bag_code}.pdf"
    with open(download.path(), "rb") as pdf:
        label_pdf = pdf.read()
    assert label_pdf[:5] == b"%PDF-"
    # No manual reload: doses.js brings the page up to date once the print is counted.
    page.wait_for_selector("text=Printed 1 time(s)")
    assert page.locator("#f-reprint_reason").is_visible()
    assert "printed 1 time(s)" in page.locator("#bag-title + dl").inner_text()
    [scan] = [text for kind, text in decode_page(label_pdf) if kind == "QR Code"]
    sign_out(page, live_server)

    sign_in(page, live_server, "pharm2")
    page.goto(dose_url)
    assert page.locator("table.plan-steps").count() == 0  # the plan is not shown before the check
    assert "10.1 mL" not in page.locator("main").inner_text()
    page.click("button[data-open-dialog=verify-dialog]")
    dialog = page.locator("#verify-dialog")
    dialog.locator("#scan-bag").focus()
    page.keyboard.type(scan)
    page.keyboard.press("Enter")  # a keyboard-wedge scanner ends with Enter: the focus moves on, nothing submits
    assert page.evaluate("document.activeElement.id") == "f-measured_volume"
    page.keyboard.type("10.1 mL")
    page.keyboard.press("Enter")
    fill_signature(dialog, "pharm2")
    dialog.locator("button[type=submit]:has-text('Sign: Verify')").click()
    page.wait_for_selector("text=verified by Pharm2 Person")
    assert "10.1 mL" in page.locator("table.plan-steps").inner_text()
    page.locator("#dispense #scan-bag").focus()
    page.keyboard.type(scan)
    page.keyboard.press("Enter")
    page.fill("#f-location", "Stroke unit 4B")
    page.click("button:has-text('Dispense')")
    page.wait_for_selector(f"text=Bag {bag_code} dispensed to Stroke unit 4B.")
    screenshot(page, "dose-printed-and-dispensed")


def test_investigator_enrols_on_the_study_page_and_the_chart_counts_the_subject(live_server, page, app, api):
    study = expansion_study(api, code="EXP-B", size=4)
    enrol(api, study["id"], code="S-001", cohort="Expansion")
    sign_in(page, live_server, "inv")
    page.goto(f"{live_server}/studies/{study['id']}")
    cohort = page.locator("#f-cohort").evaluate(
        "el => { const ctx = document.createElement('canvas').getContext('2d'); ctx.font = getComputedStyle(el).font;"
        " return {text: ctx.measureText(el.options[el.selectedIndex].text).width, box: el.clientWidth}; }")
    assert cohort["text"] + 32 < cohort["box"], cohort  # the whole choice shows, beside the select's arrow
    page.fill("#f-code", "S-002")
    page.fill("#f-wristband", "MRN-0002")
    page.fill("#f-weight", "72.5 kg")
    page.click("button:has-text('Enrol')")
    page.wait_for_selector("text=S-002 enrolled in Expansion (wristband MRN-0002).")
    chart = page.locator("svg.chart")
    assert chart.get_attribute("role") == "img"
    assert "Expansion: 2 of 4 enrolled, 0 infused" in chart.locator("desc").text_content()
    assert "Expansion is open: 2 of 4 enrolled, 2 place(s) left." in page.locator("ul.escalation").inner_text()
    screenshot(page, "study-enrolment")
