"""The dose page's Print button: a POST form with its CSRF token (SPEC §9: no page GET prints), the same print
service as the API, answered as a download; a refusal is the dose page with the refusal, never a PDF."""
from sqlalchemy import select

from lims.doses.models import Bag
from lims.extensions import db
from tests.labels.conftest import pdf_text
from tests.support import page_text as text
from tests.support import signed_in


def label_prints(code):
    db.session.expire_all()
    return db.session.scalar(select(Bag.label_prints).where(Bag.code == code))


def test_print_returns_the_pdf_as_an_attachment_named_after_the_bag(app, bag):
    r = signed_in(app, "pharm1").post(f"/bags/{bag['code']}/label.pdf")
    assert r.status_code == 200
    assert r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"] == f'attachment; filename="{bag["code"]}.pdf"'
    assert r.data.startswith(b"%PDF")
    assert "REPRINT" not in pdf_text(r.data)
    assert label_prints(bag["code"]) == 1


def test_a_page_get_prints_nothing(app, bag):
    r = signed_in(app, "pharm1").get(f"/bags/{bag['code']}/label.pdf")
    assert r.status_code == 405
    assert label_prints(bag["code"]) == 0


def test_a_print_without_its_csrf_token_is_refused(app, bag):
    pharm = signed_in(app, "pharm1")
    r = pharm.client.post(f"/bags/{bag['code']}/label.pdf", data={})
    assert r.status_code == 400
    assert label_prints(bag["code"]) == 0


def test_reprint_without_a_reason_is_422_on_an_html_page(app, bag):
    pharm = signed_in(app, "pharm1")
    assert pharm.post(f"/bags/{bag['code']}/label.pdf").status_code == 200
    r = pharm.post(f"/bags/{bag['code']}/label.pdf", {"reprint_reason": ""})
    assert r.status_code == 422
    assert r.mimetype == "text/html"
    assert "reprint_reason" in text(r) and "a reprint needs a reason" in text(r)
    assert label_prints(bag["code"]) == 1


def test_reprint_with_a_reason_is_marked_and_counted(app, bag):
    pharm = signed_in(app, "pharm1")
    pharm.post(f"/bags/{bag['code']}/label.pdf")
    r = pharm.post(f"/bags/{bag['code']}/label.pdf", {"reprint_reason": "label smudged"})
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert "REPRINT" in pdf_text(r.data) and "label smudged" in pdf_text(r.data)
    assert label_prints(bag["code"]) == 2


def test_printing_needs_the_pharmacist_role(app, bag):
    assert signed_in(app, "nurse1").post(f"/bags/{bag['code']}/label.pdf").status_code == 403
    assert label_prints(bag["code"]) == 0


def test_unknown_bag_is_404(app, users):
    r = signed_in(app, "pharm1").post("/bags/W123426999999-S1234-B001/label.pdf")
    assert r.status_code == 404 and r.mimetype == "text/html"
