"""The dose page's Print button: GET /bags/<code>/label.pdf with the session, the same print service as the API
(SPEC §9), answered as a download; a refusal is an HTML page, never a PDF."""
from sqlalchemy import select

from lims.doses.models import Bag
from lims.extensions import db
from tests.support import page_text as text
from tests.support import signed_in
from tests.labels.conftest import pdf_text
from tests.support import prepared_dose


def label_prints(code):
    db.session.expire_all()
    return db.session.scalar(select(Bag.label_prints).where(Bag.code == code))


def test_print_returns_the_pdf_as_an_attachment_named_after_the_bag(app, bag):
    r = signed_in(app, "pharm1").get(f"/bags/{bag['code']}/label.pdf")
    assert r.status_code == 200
    assert r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"] == f'attachment; filename="{bag["code"]}.pdf"'
    assert r.data.startswith(b"%PDF")
    assert "REPRINT" not in pdf_text(r.data)
    assert label_prints(bag["code"]) == 1


def test_reprint_without_a_reason_is_422_on_an_html_page(app, bag):
    pharm = signed_in(app, "pharm1")
    assert pharm.get(f"/bags/{bag['code']}/label.pdf").status_code == 200
    r = pharm.get(f"/bags/{bag['code']}/label.pdf?reprint_reason=")
    assert r.status_code == 422
    assert r.mimetype == "text/html"
    assert "reprint_reason" in text(r) and "a reprint needs a reason" in text(r)
    assert label_prints(bag["code"]) == 1


def test_reprint_with_a_reason_is_marked_and_counted(app, bag):
    pharm = signed_in(app, "pharm1")
    pharm.get(f"/bags/{bag['code']}/label.pdf")
    r = pharm.get(f"/bags/{bag['code']}/label.pdf?reprint_reason=label+smudged")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert "REPRINT" in pdf_text(r.data) and "label smudged" in pdf_text(r.data)
    assert label_prints(bag["code"]) == 2


def test_unverified_bag_shows_409_page_not_a_pdf(app, api, lot, subject):
    dose = prepared_dose(api, subject["id"], lot["id"])
    r = signed_in(app, "pharm1").get(f"/bags/{dose['bag']['code']}/label.pdf")
    assert r.status_code == 409 and r.mimetype == "text/html"
    assert "only a verified dose's label prints" in text(r)


def test_printing_needs_the_pharmacist_role(app, bag):
    assert signed_in(app, "nurse1").get(f"/bags/{bag['code']}/label.pdf").status_code == 403
    anonymous = app.test_client().get(f"/bags/{bag['code']}/label.pdf")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    assert label_prints(bag["code"]) == 0


def test_unknown_bag_is_404(app, users):
    r = signed_in(app, "pharm1").get("/bags/W123426999999-S1234-B001/label.pdf")
    assert r.status_code == 404 and r.mimetype == "text/html"
