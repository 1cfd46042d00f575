"""The certificate of analysis of a released lot (SPEC §5), from the API and from the lot page."""
import pytest

from tests.pdf_text import pdf_text
from tests.support import PASSING_QC, make_lot, make_product, record_qc, released_lot, sig, signed_in

REQUIREMENTS = {"viability": "≥ 70 %", "cell_concentration": "reported; > 0 cell/mL", "cd73": "≥ 95 %",
                "cd45": "≤ 2 %", "sterility": "negative", "endotoxin": "≤ 0.5 EU/mL", "gram_stain": "negative"}
SHOWN = {"viability": "90 %", "cell_concentration": "1.2e+07 cell/mL", "cd73": "98 %", "cd45": "0.5 %",
         "sterility": "negative", "endotoxin": "0.2 EU/mL", "gram_stain": "negative"}


def _printed(lot):
    return f"{lot['din'][:5]} {lot['din'][5:7]} {lot['din'][7:]}"


def test_a_certificate_holds_every_test_with_its_requirement_and_result_and_the_release_signature(api):
    lot = released_lot(api, containers=3)
    r = api.get(f"/lots/{lot['id']}/certificate.pdf", as_="pharm1")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = pdf_text(r.data)
    for test, _result in PASSING_QC:
        assert f" {test} " in f" {text} "
    for test, requirement in REQUIREMENTS.items():
        assert f"{test} {requirement} {SHOWN[test]} " in text
    assert text.count(" met ") >= len(PASSING_QC) and "NOT MET" not in text
    assert f"{_printed(lot)} {lot['check_character']}" in text and "S1234" in text
    assert "Released by Qa Person" in text and "meaning: released" in text
    assert "Manufactured 2026-10-01" in text and "Expires 2028-10-01" in text and "version 1" in text
    assert "Tech Person" in text  # who recorded the results


def test_a_corrected_result_shows_the_correction_on_the_certificate(api):
    lot = released_lot(api, containers=3)
    r = api.post(f"/lots/{lot['id']}/qc-results", {"test": "viability", "result": "88 %",
                                                   "reason": "recount of the same vial"}, as_="tech")
    assert r.status_code == 201, r.get_json()
    text = pdf_text(api.get(f"/lots/{lot['id']}/certificate.pdf", as_="qa").data)
    assert "viability ≥ 70 % 88 % corrected: recount of the same vial" in text


@pytest.mark.parametrize("disposition", [None, "hold"])
def test_a_lot_not_released_has_no_certificate(api, disposition):
    if disposition:
        lot = released_lot(api, containers=3)
        assert api.post(f"/lots/{lot['id']}/hold", {"signature": sig(), "reason": "deviation"},
                        as_="qa").status_code == 200
    else:
        make_product(api)
        lot = make_lot(api)
        record_qc(api, lot["id"])
    r = api.get(f"/lots/{lot['id']}/certificate.pdf", as_="qa")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "lot_not_released"


def test_an_absent_lot_is_404_and_no_one_signed_out_reads_a_certificate(api):
    assert api.get("/lots/987654/certificate.pdf", as_="qa").status_code == 404
    lot = released_lot(api, containers=3)
    assert api.get(f"/lots/{lot['id']}/certificate.pdf").status_code == 401


def test_the_lot_page_links_to_the_certificate_of_a_released_lot(app, api):
    lot = released_lot(api, containers=3)
    client = signed_in(app, "tech")
    assert f'href="/lots/{lot["id"]}/certificate.pdf"' in client.get(f"/lots/{lot['id']}").get_data(as_text=True)
    r = client.get(f"/lots/{lot['id']}/certificate.pdf")
    assert r.status_code == 200 and "Released by Qa Person" in pdf_text(r.data)


def test_the_certificate_renderer_fetches_nothing_outside_its_assets(app, api):
    from lims.reports.render import RecordAssetFetcher, render_pdf
    fetcher = RecordAssetFetcher()
    render_pdf('<link rel="stylesheet" href="records.css"><img src="http://example.com/x.png">'
               '<img src="file:///etc/passwd">', fetcher=fetcher)
    assert fetcher.refused == ["http://example.com/x.png", "file:///etc/passwd"]
