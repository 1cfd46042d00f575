"""The label as a nurse reads it (SPEC §9, issue 17), checked on the rendered PDF: barcodes decoded from the
rasterised page with zxing-cpp, text sizes and positions read from pdfium's text page."""
import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.lots.models import Product
from lims.studies.models import Subject
from tests.labels.conftest import decode_page
from tests.pdf_text import pdf_text, text_runs
from tests.support import enrol, expansion_study, label, prepared_dose

MARGIN_PT = 0.12 * 72


def code128s(found):
    return sorted(text for fmt, text in found if fmt.replace(" ", "") == "Code128")


def run_with(runs, text):
    matches = [r for r in runs if r.text == text]
    assert len(matches) == 1, (text, runs)
    return matches[0]


def overlapping(runs):
    return [(a, b) for i, a in enumerate(runs) for b in runs[i + 1:] if a.overlaps(b)]


def outside_page(runs, width_pt, height_pt, margin_pt):
    return [r for r in runs if r.box[0] < margin_pt - 0.5 or r.box[1] < margin_pt - 0.5
            or r.box[2] > width_pt - margin_pt + 0.5 or r.box[3] > height_pt - margin_pt + 0.5]


def expiry(api, bag):
    from lims.timeutil import local
    return local(api.get(f"/bags/{bag['code']}", as_="pharm1").get_json()["expires_at"])


def test_both_code128_symbols_decode_to_the_din_and_product_code_data_structures(api, bag):
    found = decode_page(label(api, bag["code"]).data)
    assert code128s(found) == sorted(["=" + bag["din"] + "00", "=<S1234V00"])


def test_qr_decodes_to_the_bags_scan_payload_beside_the_two_code128s(api, bag):
    found = decode_page(label(api, bag["code"]).data)
    assert [text for fmt, text in found if fmt == "QR Code"] == [bag["scan"]]


def test_volume_and_expiry_are_in_the_largest_type_with_the_two_identifiers(api, bag):
    runs = text_runs(label(api, bag["code"]).data)
    big = [run_with(runs, t) for t in ("10.1 mL", expiry(api, bag), "S-001", "MRN-S-001")]
    assert len({r.size for r in big}) == 1, big
    others = [r for r in runs if r not in big]
    assert others and all(r.size < big[0].size for r in others), [r for r in others if r.size >= big[0].size]


def test_no_text_box_overlaps_another(api, bag):
    runs = text_runs(label(api, bag["code"]).data)
    assert len(runs) > 20  # the whole label was read, not an empty page
    assert overlapping(runs) == []


def test_every_line_lies_inside_the_label_margins(api, bag):
    assert outside_page(text_runs(label(api, bag["code"]).data), 288, 288, MARGIN_PT) == []


def test_reprint_is_a_band_that_overlaps_no_figure(api, bag):
    label(api, bag["code"])
    pdf = label(api, bag["code"], reason="smudged").data
    runs = text_runs(pdf)
    reprint = [r for r in runs if "REPRINT" in r.text]
    assert len(reprint) == 1 and reprint[0].text.startswith("REPRINT 1")
    figures = [r for r in runs if any(ch.isdigit() for ch in r.text) and r is not reprint[0]]
    assert run_with(runs, "10.1 mL") in figures and run_with(runs, expiry(api, bag)) in figures
    assert [f for f in figures if reprint[0].overlaps(f, tolerance=0)] == []
    assert overlapping(runs) == []


def test_cell_counts_read_in_words(api, bag):
    text = pdf_text(label(api, bag["code"]).data)
    assert "109 million cells" in text  # SPEC §7's delivered 1.0908e8
    assert "1.5 million cells/kg" in text
    assert "×" not in text and "10⁸" not in text


def test_protocol_number_and_a_smaller_dose_in_words(api, lot):
    study = expansion_study(api, code="NCT01297413")
    subject = enrol(api, study["id"], code="S-024", cohort="Expansion", weight="24 kg")
    bag = prepared_dose(api, subject["id"], lot["id"])["bag"]
    text = pdf_text(label(api, bag["code"]).data)
    assert "Protocol NCT01297413" in text
    # 24 kg x 1.5e6 cell/kg = 3.6e7 target; 3.3 mL x 1.08e7 cell/mL = 3.564e7 delivered
    assert "3.3 mL" in text and "35.6 million cells" in text


def test_a_thawed_bag_carries_the_after_thaw_text_not_the_frozen_storage_text(api, bag):
    text = pdf_text(label(api, bag["code"]).data)
    assert f"Thawed: keep at room temperature 15–25 °C, do not refreeze, use by {expiry(api, bag)}." in text
    assert "−150 °C" not in text and "until thaw" not in text


def test_long_identifiers_and_a_long_reason_still_fit_without_overlap(api, bag):
    subject = db.session.scalar(select(Subject).where(Subject.code == bag["subject_code"]))
    subject.code, subject.wristband = "S-" + "9" * 30, "MRN-" + "8" * 60
    db.session.scalar(select(Product).where(Product.code == "S1234")).name = "itMSC " + "cryopreserved " * 8
    db.session.commit()
    label(api, bag["code"])
    runs = text_runs(label(api, bag["code"], reason="x" * 400).data)
    assert overlapping(runs) == []
    assert outside_page(runs, 288, 288, MARGIN_PT) == []
    assert "leukocyte reduction filter." in " ".join(r.text for r in runs)


@pytest.fixture
def container_pdf(api, lot):
    r = api.get(f"/containers/{lot['containers'][0]['code']}/label.pdf", as_="tech")
    assert r.status_code == 200
    return r.data


def test_container_label_carries_both_code128s_and_its_qr(lot, container_pdf):
    found = decode_page(container_pdf, scale=8)
    assert code128s(found) == sorted(["=" + lot["din"] + "00", "=<S1234V00"])
    assert [text for fmt, text in found if fmt == "QR Code"] == [lot["containers"][0]["code"]]


def test_container_label_text_does_not_overlap_and_fits(container_pdf):
    runs = text_runs(container_pdf)
    assert len(runs) >= 3
    assert overlapping(runs) == []
    assert outside_page(runs, 144, 72, 0.07 * 72) == []
