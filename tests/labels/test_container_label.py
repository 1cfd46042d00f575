"""A 2 x 1 in container label with the container code as QR (issue 5)."""
from tests.labels.conftest import decode_page, pdf_page_sizes, pdf_text


def container_code(lot):
    return lot["containers"][0]["code"]


def test_container_label_qr_decodes_to_the_container_code(api, lot):
    code = container_code(lot)
    r = api.get(f"/containers/{code}/label.pdf", as_="tech")
    assert r.status_code == 200, r.get_json(silent=True)
    assert r.mimetype == "application/pdf"
    assert ("QR Code", code) in decode_page(r.data, scale=6)


def test_container_label_is_two_by_one_inches(api, lot):
    r = api.get(f"/containers/{container_code(lot)}/label.pdf", as_="pharm1")
    assert r.status_code == 200
    assert pdf_page_sizes(r.data) == [(144.0, 72.0)]


def test_container_label_shows_code_and_din_with_check_character(api, lot):
    r = api.get(f"/containers/{container_code(lot)}/label.pdf", as_="tech")
    text = "".join(pdf_text(r.data).split())
    assert container_code(lot) in text
    assert lot["din"] + lot["check_character"] in text


def test_container_label_needs_technician_or_pharmacist(api, lot):
    assert api.get(f"/containers/{container_code(lot)}/label.pdf", as_="nurse1").status_code == 403


def test_unknown_container_is_404(api, lot):
    r = api.get("/containers/W123426999999-S1234-C999/label.pdf", as_="tech")
    assert r.status_code == 404
