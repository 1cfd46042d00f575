"""A prepared bag ready to print (the label prints before the second pharmacist's check, SPEC §8), and readers for
what a label says (text layer and barcodes)."""
import io

import pypdfium2
import pytest
import zxingcpp
from pypdf import PdfReader

from tests.support import enrol, expansion_study, prepared_dose, released_lot


@pytest.fixture
def lot(api):
    return released_lot(api)


@pytest.fixture
def subject(api):
    study = expansion_study(api)
    return enrol(api, study["id"], code="S-001", cohort="Expansion")


@pytest.fixture
def bag(api, lot, subject):
    return prepared_dose(api, subject["id"], lot["id"])["bag"]


def pdf_text(pdf):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def pdf_page_sizes(pdf):
    return [(float(p.mediabox.width), float(p.mediabox.height)) for p in PdfReader(io.BytesIO(pdf)).pages]


def decode_page(pdf, index=0, scale=4):
    """Every barcode zxing-cpp finds on a rasterised page: [(format name, text)]."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[index].render(scale=scale).to_pil()
    finally:
        document.close()
    return [(str(b.format).split(".")[-1], b.text) for b in zxingcpp.read_barcodes(image)]
