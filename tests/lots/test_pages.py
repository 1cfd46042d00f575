"""The lot pages (issue 3): technicians register lots and record QC, QA releases, on both databases.

Pages post forms through the same schemas and services as the API; these tests set up state through the API
builders, act through the pages as a browser would (PageClient), and read the outcome back through the API.
"""
import re

import pytest

from lims.auth import services as auth
from tests.lots.helpers import qc_with, qc_without
from tests.support import PASSWORD, PageClient, make_donor, make_lot, make_product, record_qc, released_lot, text_of


@pytest.fixture
def pages(app, users):
    return lambda username: PageClient(app).sign_in(username)


def _quarantined(api, qc=None, **kw):
    make_product(api)
    lot = make_lot(api, **kw)
    if qc:
        record_qc(api, lot["id"], qc)
    return lot


def _lot(api, lot_id):
    return api.get(f"/lots/{lot_id}", as_="qa").get_json()


def _history(api, lot_id):
    return api.get(f"/lots/{lot_id}/qc-results", as_="qa").get_json()


def _text(response):
    return response.get_data(as_text=True)


def _alert(html):
    """The refusal shown beside the form (the page's role="alert" block)."""
    found = re.search(r'<div class="alert" role="alert"[^>]*>(.*?)</div>', html, re.DOTALL)
    assert found, "no refusal is shown on the page"
    return found.group(1)


# --- anonymous and roles -----------------------------------------------------------------------------------------

def test_anonymous_get_lots_redirects_to_login(client):
    r = client.get("/lots")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login?next=/lots")


def test_technician_cannot_post_release(api, pages):
    lot = _quarantined(api, qc=qc_with())
    r = pages("tech").post(f"/lots/{lot['id']}/release", {"signature.password": PASSWORD})
    assert r.status_code == 403
    assert _lot(api, lot["id"])["status"] == "quarantine"


def test_pharmacist_may_read_a_lot_but_gets_no_lot_list(api, pages):
    lot = _quarantined(api)
    pharmacist = pages("pharm1")
    page = pharmacist.get(f"/lots/{lot['id']}")
    assert page.status_code == 200 and lot["din"][:5] in _text(page)
    assert 'action="/lots/' not in _text(page)  # no QC form, no signing dialog
    assert pharmacist.get("/lots").status_code == 403


# --- lot list and registration -----------------------------------------------------------------------------------

def test_technician_registers_a_lot_through_the_page(api, pages):
    make_product(api)
    donor = make_donor(api, code="D-0042")
    tech = pages("tech")
    assert "Register lot" in _text(tech.get("/lots"))
    r = tech.post("/lots/new", {"product_code": "S1234", "donor_id": str(donor["id"]),
                                "manufactured_on": "2026-01-05", "expires_on": "2028-01-05",
                                "container_count": "3", "fill_volume": "5 mL", "dmso_fraction": "10 %",
                                "storage.freezer": "LN2-1", "storage.rack": "R2", "storage.box": "B7",
                                "storage.first_position": "4"})
    assert r.status_code == 302
    lot_id = int(re.search(r"/lots/(\d+)$", r.headers["Location"]).group(1))
    lot = _lot(api, lot_id)
    assert lot["status"] == "quarantine" and lot["donor"]["code"] == "D-0042"
    assert lot["fill_volume"] == {"value": 5.0, "unit": "mL"} and lot["dmso_fraction"] == {"value": 10.0, "unit": "%"}
    assert [c["location"] for c in lot["containers"]] == ["LN2-1 / R2 / B7 / 4", "LN2-1 / R2 / B7 / 5",
                                                          "LN2-1 / R2 / B7 / 6"]
    page = _text(tech.get(r.headers["Location"]))
    assert f'<span class="check" title="ISBT 128 check character">{lot["check_character"]}</span>' in page
    assert "registered in quarantine with 3 containers" in page


def test_lot_registered_without_dmso_takes_the_ten_percent_default(api, pages):
    make_product(api)
    donor = make_donor(api)
    r = pages("tech").post("/lots/new", {"product_code": "S1234", "donor_id": str(donor["id"]),
                                         "manufactured_on": "2026-01-05", "expires_on": "2028-01-05",
                                         "container_count": "2", "fill_volume": "5 mL"})
    assert r.status_code == 302
    lot_id = int(r.headers["Location"].rsplit("/", 1)[1])
    assert _lot(api, lot_id)["dmso_fraction"] == {"value": 10.0, "unit": "%"}


def test_lot_registration_with_a_bad_fill_volume_is_refused_naming_the_field(api, pages):
    make_product(api)
    donor = make_donor(api)
    r = pages("tech").post("/lots/new", {"product_code": "S1234", "donor_id": str(donor["id"]),
                                         "manufactured_on": "2026-01-05", "expires_on": "2028-01-05",
                                         "container_count": "2", "fill_volume": "5 kg"})
    assert r.status_code == 422
    alert = _alert(_text(r))
    assert "<strong>Fill volume</strong>" in alert and "mL" in alert
    assert 'value="5 kg"' in _text(r)  # what was typed is kept
    assert api.get("/lots/1", as_="qa").status_code == 404


def test_technician_registers_a_donor_through_the_page(api, pages):
    tech = pages("tech")
    r = tech.post("/donors/new", {"code": "D-0777", "eligibility": "incomplete"})
    assert r.status_code == 302 and r.headers["Location"] == "/lots"
    assert "Donor D-0777 registered (incomplete)." in _text(tech.get("/lots"))
    again = tech.post("/donors/new", {"code": "D-0777", "eligibility": "eligible"})
    assert again.status_code == 409 and "D-0777 is registered" in _alert(_text(again))


def test_lot_list_filters_by_status(api, pages):
    released = released_lot(api)
    waiting = make_lot(api)
    qa = pages("qa")
    page = _text(qa.get("/lots?status=quarantine"))
    assert f"/lots/{waiting['id']}\"" in page and f"/lots/{released['id']}\"" not in page
    page = _text(qa.get("/lots?status=released"))
    assert f"/lots/{released['id']}\"" in page and f"/lots/{waiting['id']}\"" not in page
    assert "Register lot" not in page  # QA reads the list; registering is the technician's
    assert qa.get("/lots?status=shipped").status_code == 422


# --- QC through the page -----------------------------------------------------------------------------------------

def test_technician_records_qc_through_the_page(api, pages):
    lot = _quarantined(api)
    tech = pages("tech")
    r = tech.post(f"/lots/{lot['id']}/qc", {"test": "viability", "result": "92.5 %", "method": "trypan blue"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/lots/{lot['id']}#qc")
    [result] = _history(api, lot["id"])
    assert result["test"] == "viability" and result["result"] == {"value": 92.5, "unit": "%"}
    assert result["method"] == "trypan blue" and result["recorded_by"] == "tech"
    page = _text(tech.get(f"/lots/{lot['id']}"))
    assert "viability recorded: 92.5 %." in page
    assert re.search(r'<tr data-test="viability">\s*<td>viability</td><td>≥ 70 %</td><td>92.5 %</td>\s*'
                     r'<td><span class="met">met</span>', page)


def test_viability_in_mg_is_refused_on_the_page_naming_the_field(api, pages):
    lot = _quarantined(api)
    r = pages("tech").post(f"/lots/{lot['id']}/qc", {"test": "viability", "result": "92 mg"})
    assert r.status_code == 422
    alert = _alert(_text(r))
    assert "result: viability: wrong dimension: mg is not convertible to %" in alert
    assert _history(api, lot["id"]) == []


def test_correction_without_reason_is_refused_and_with_reason_strikes_the_old_result(api, pages):
    lot = _quarantined(api, qc=[("viability", "90 %")])
    tech = pages("tech")
    r = tech.post(f"/lots/{lot['id']}/qc", {"test": "viability", "result": "85 %"})
    assert r.status_code == 422
    assert "viability already has a result; a correction needs a reason" in _alert(_text(r))
    assert len(_history(api, lot["id"])) == 1
    r = tech.post(f"/lots/{lot['id']}/qc", {"test": "viability", "result": "85 %", "reason": "recount"})
    assert r.status_code == 302
    page = _text(tech.get(f"/lots/{lot['id']}"))
    assert "<del>90 %</del>" in page
    assert "superseded by Tech Person" in page and "“recount”" in page
    assert "<td>85 %</td>" in page


def _selected_test(html):
    return re.search(r'<option value="([a-z0-9_]+)"(?: data-has-result)? selected>', html).group(1)


def test_qc_form_opens_on_the_next_test_without_a_result(api, pages):
    lot = _quarantined(api, qc=[("viability", "91 %"), ("cell_concentration", "12e6 cell/mL")])
    tech = pages("tech")
    page = _text(tech.get(f"/lots/{lot['id']}"))
    assert _selected_test(page) == "cd73"
    assert '<option value="viability" data-has-result>viability — needs ≥ 70 % (enter %) — has 91 %: a new entry ' \
           'corrects it</option>' in page
    r = tech.post(f"/lots/{lot['id']}/qc", {"test": "cd73", "result": "98 %"})
    assert r.status_code == 302
    assert _selected_test(_text(tech.get(f"/lots/{lot['id']}"))) == "cd90"


def test_qc_form_keeps_the_test_chosen_when_a_result_is_refused(api, pages):
    lot = _quarantined(api)
    r = pages("tech").post(f"/lots/{lot['id']}/qc", {"test": "endotoxin", "result": "0.1 %"})
    assert r.status_code == 422 and _selected_test(_text(r)) == "endotoxin"


def test_qc_reason_field_says_it_is_only_for_corrections(api, pages):
    lot = _quarantined(api)
    page = _text(pages("tech").get(f"/lots/{lot['id']}"))
    assert '<label for="f-reason">Reason (only when correcting an existing result)</label>' in page
    assert '<div class="correction-reason">' in page  # hidden by lots.css while the chosen test has no result


def test_wrong_password_on_the_lot_page_names_no_status_code(api, pages):
    lot = _quarantined(api, qc=qc_with())
    r = pages("qa").post(f"/lots/{lot['id']}/reject", {"signature.password": "not-my-password-9", "reason": "x"})
    assert r.status_code == 401
    assert "<strong>wrong password</strong>" in _alert(_text(r)) and "(401)" not in _text(r)


# --- release and the other dispositions --------------------------------------------------------------------------

def test_release_through_the_page_succeeds_for_a_passing_lot(api, pages):
    lot = _quarantined(api, qc=qc_with())
    qa = pages("qa")
    assert "Every release requirement is met." in _text(qa.get(f"/lots/{lot['id']}"))
    r = qa.post(f"/lots/{lot['id']}/release", {"signature.password": PASSWORD})
    assert r.status_code == 302
    body = _lot(api, lot["id"])
    assert body["status"] == "released"
    assert body["dispositions"][0]["signature"]["printed_name"] == "Qa Person"
    page = _text(qa.get(r.headers["Location"]))
    assert "is now released, signed by Qa Person" in page
    assert "released by <strong>Qa Person</strong>" in page  # the signature shown with the record


def test_release_at_65_percent_viability_is_refused_with_viability_named(api, pages):
    lot = _quarantined(api, qc=qc_with(viability="65 %"))
    r = pages("qa").post(f"/lots/{lot['id']}/release", {"signature.password": PASSWORD})
    assert r.status_code == 409
    alert = _alert(_text(r))
    assert "Release refused: 1 requirement(s) not met" in alert and "409" not in alert
    assert '<li data-item="viability">viability: 65 % does not meet ≥ 70 %</li>' in alert
    assert _lot(api, lot["id"])["status"] == "quarantine"


def test_release_refusal_lists_every_unmet_item(api, pages):
    donor = make_donor(api, code="D-INC", eligibility="incomplete")
    lot = _quarantined(api, qc=qc_without("sterility"), donor_id=donor["id"])
    r = pages("qa").post(f"/lots/{lot['id']}/release", {"signature.password": PASSWORD})
    assert r.status_code == 409
    items = re.findall(r'<li data-item="([a-z_]+)">', _alert(_text(r)))
    assert items == ["sterility", "donor_eligibility"]


def test_qa_who_recorded_a_qc_result_gets_403_on_the_page(api, pages):
    auth.create_user("qatech", "Quinn Tech-QA", ["technician", "qa"], PASSWORD)
    lot = _quarantined(api, qc=qc_without("gram_stain"))
    qatech = pages("qatech")
    assert qatech.post(f"/lots/{lot['id']}/qc", {"test": "gram_stain", "result": "negative"}).status_code == 302
    r = qatech.post(f"/lots/{lot['id']}/release", {"signature.password": PASSWORD})
    assert r.status_code == 403
    assert "segregation of duties" in _alert(_text(r))
    assert _lot(api, lot["id"])["status"] == "quarantine"


def test_wrong_signature_password_on_the_page_is_401_and_changes_nothing(api, pages):
    lot = _quarantined(api, qc=qc_with())
    r = pages("qa").post(f"/lots/{lot['id']}/release", {"signature.password": "not-my-password-9"})
    assert r.status_code == 401
    alert = _alert(_text(r))
    assert "wrong password" in alert and "401" not in alert  # people read the reason, not the HTTP status
    assert _lot(api, lot["id"])["dispositions"] == []


def test_hold_without_reason_is_refused_and_with_reason_blocks_the_lot(api, pages):
    lot = released_lot(api)
    qa = pages("qa")
    r = qa.post(f"/lots/{lot['id']}/hold", {"signature.password": PASSWORD})
    assert r.status_code == 422 and "a hold needs a reason" in _alert(_text(r))
    r = qa.post(f"/lots/{lot['id']}/hold", {"signature.password": PASSWORD, "reason": "deviation DV-12 open"})
    assert r.status_code == 302
    body = _lot(api, lot["id"])
    assert body["status"] == "on_hold" and body["blocked"] is True
    page = _text(qa.get(f"/lots/{lot['id']}"))
    assert "every container is blocked" in page and "deviation DV-12 open" in page


# --- release queue -----------------------------------------------------------------------------------------------

def test_release_queue_names_each_missing_item_and_releases_from_the_queue(api, pages):
    ready = _quarantined(api, qc=qc_with())
    waiting = make_lot(api)
    record_qc(api, waiting["id"], qc_without("gram_stain", "endotoxin"))
    qa = pages("qa")
    page = _text(qa.get("/lots/release-queue"))
    row = page[page.index(f'<tr id="lot-{waiting["id"]}">'):]
    row = row[:row.index("</tr>")]
    assert re.findall(r'<li data-item="([a-z_]+)">', row) == ["endotoxin", "gram_stain"]
    r = qa.post(f"/lots/{ready['id']}/release", {"signature.password": PASSWORD, "return_to": "queue"})
    assert r.status_code == 302 and r.headers["Location"] == "/lots/release-queue"
    assert _lot(api, ready["id"])["status"] == "released"
    refused = qa.post(f"/lots/{waiting['id']}/release", {"signature.password": PASSWORD, "return_to": "queue"})
    assert refused.status_code == 409
    assert "Release queue" in _text(refused) and "2 requirement(s) not met" in _alert(_text(refused))


def test_release_queue_is_for_qa_only(pages):
    assert pages("tech").get("/lots/release-queue").status_code == 403


# --- product page ------------------------------------------------------------------------------------------------

def test_product_page_draws_each_lot_with_the_specification_limit(api, pages):
    first = released_lot(api)
    second = make_lot(api)
    record_qc(api, second["id"], qc_with(viability="65 %", cell_concentration="9e6 cell/mL"))
    page = _text(pages("pharm1").get("/products/S1234"))
    assert "4 h" in page and "Store at" in page
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="trend"') == 2
    assert len(re.findall(r'<circle class="point met"', page)) == 3  # both concentrations, one viability
    assert len(re.findall(r'<circle class="point unmet"', page)) == 1
    assert "specification ≥ 70 %" in page and "specification reported; &gt; 0 cell/mL" in page
    assert f'/lots/{first["id"]}"' in page and f'/lots/{second["id"]}"' in page


def test_unknown_product_page_is_404(pages):
    assert pages("tech").get("/products/NOPE").status_code == 404


# --- dashboards --------------------------------------------------------------------------------------------------

def test_technician_dashboard_shows_missing_qc_and_results_outside_specification(api, pages):
    lot = _quarantined(api, qc=[("viability", "60 %"), ("sterility", "negative")])
    page = text_of(_text(pages("tech").get("/")))
    din = lot["din"]
    assert f"Waiting for QC {din[:5]} {din[5:7]} {din[7:]} {lot['check_character']} — itMSC" in page
    assert "12 QC result(s) missing" in page
    assert "viability 60 %" in page and "needs ≥ 70 %" in page


def test_technician_dashboard_moves_a_lot_with_every_qc_result_to_waiting_for_qa(api, pages):
    complete = _quarantined(api, qc=qc_with())
    incomplete = make_lot(api)
    record_qc(api, incomplete["id"], qc_without("endotoxin"))
    page = text_of(_text(pages("tech").get("/")))
    waiting = page[page.index("Waiting for QC"):page.index("QC complete — waiting for QA release")]
    done = page[page.index("QC complete — waiting for QA release"):page.index("QC results outside specification")]
    din = complete["din"]
    assert f"{din[:5]} {din[5:7]} {din[7:]}" in done and "every QC result recorded; evaluation pass" in done
    assert f"{din[:5]} {din[5:7]} {din[7:]}" not in waiting
    assert "1 QC result(s) missing: endotoxin" in waiting and "every QC result recorded" not in waiting


def test_technician_dashboard_says_when_no_lot_waits_for_qa(api, pages):
    _quarantined(api, qc=[("viability", "90 %")])
    page = text_of(_text(pages("tech").get("/")))
    assert "No lot with every QC result recorded waits for QA release." in page


def test_qa_dashboard_shows_an_automatic_hold_from_a_failing_result_after_release(api, pages):
    lot = released_lot(api)
    r = api.post(f"/lots/{lot['id']}/qc-results",
                 {"test": "sterility", "result": "positive", "reason": "final culture read"}, as_="tech")
    assert r.status_code == 201
    page = _text(pages("qa").get("/"))
    assert "No lot waits in quarantine for release." in page
    assert "on hold (automatic: a QC result after release failed)" in page
    assert "automatic hold: sterility result fails the specification" in page


def test_dashboards_say_plainly_when_there_is_nothing_to_do(pages):
    assert "No QC result recorded in the last 14 days misses its specification." in _text(pages("tech").get("/"))
    page = _text(pages("qa").get("/"))
    assert "No lot waits in quarantine for release." in page and "No lot is on hold." in page


def test_container_count_that_is_not_a_number_is_refused_naming_the_field(api, pages):
    make_product(api)
    donor = make_donor(api)
    tech = pages("tech")
    for typed in ("ten", "²", "9" * 5000):
        r = tech.post("/lots/new", {"product_code": "S1234", "donor_id": str(donor["id"]),
                                    "manufactured_on": "2026-01-05", "expires_on": "2028-01-05",
                                    "container_count": typed, "fill_volume": "5 mL"})
        assert r.status_code == 422, typed
        assert "<strong>Container count</strong>" in _alert(_text(r))
