"""What the bag label PDF carries (SPEC §9): barcodes that decode, every required item in its text, the stock size."""
import re

from tests.labels.conftest import decode_page, pdf_page_sizes, pdf_text
from tests.support import label


def flat(text):
    return re.sub(r"\s+", " ", text)


def bag_json(api, code):
    r = api.get(f"/bags/{code}", as_="pharm1")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_label_pdf_is_served_as_application_pdf(api, bag):
    r = label(api, bag["code"])
    assert r.status_code == 200, r.get_json(silent=True)
    assert r.mimetype == "application/pdf"
    assert r.data.startswith(b"%PDF-")


def test_qr_code_decodes_to_the_bags_scan_payload(api, bag):
    found = decode_page(label(api, bag["code"]).data)
    assert ("QR Code", bag["scan"]) in found
    assert bag["scan"].startswith("MSC1:") and bag["scan"].endswith(":B001")


def test_code128_carries_the_isbt_din_data_structure_without_the_check_character(api, bag):
    found = decode_page(label(api, bag["code"]).data)
    codes128 = [text for fmt, text in found if (fmt == "Code128" or fmt == "Code 128") and text.startswith("=W")]
    assert codes128 == ["=" + bag["din"] + "00"]
    assert len(codes128[0]) == 16 and bag["check_character"] not in codes128[0][14:]


def test_text_layer_carries_every_item_spec_9_requires(api, bag):
    text = flat(pdf_text(label(api, bag["code"]).data))
    din = bag["din"]
    assert "itMSC, cryopreserved" in text
    assert f"{din[:5]} {din[5:7]} {din[7:]} {bag['check_character']}" in text
    assert "Product code S1234" in text
    assert "Subject S-001" in text and "Wristband MRN-S-001" in text
    assert "Cohort dose 1.5 million cells/kg" in text
    assert "Delivered 109 million cells" in text  # the SPEC §7 worked example, 1.0908e8
    assert "Final volume 10.1 mL" in text
    assert re.search(r"Thawed \d{4}-\d\d-\d\d \d\d:\d\d", text)
    assert re.search(r"Expires \(use by\) \d{4}-\d\d-\d\d \d\d:\d\d", text)
    assert "Protocol EXP-1" in text
    assert "do not refreeze" in text
    assert "Caution: New Drug—Limited by Federal (or United States) law to investigational use." in text
    assert "For intravenous use only. Do not irradiate. Do not use a leukocyte reduction filter." in text


def test_page_is_four_by_four_inches(api, bag):
    assert pdf_page_sizes(label(api, bag["code"]).data) == [(288.0, 288.0)]


def test_first_print_is_the_original_without_reprint(api, bag):
    r = label(api, bag["code"])
    assert "REPRINT" not in pdf_text(r.data)
    assert bag_json(api, bag["code"])["label_prints"] == 1
