"""A prepared or verified dose prints; every later print is a reasoned, counted REPRINT; every print is audited
(SPEC §9)."""
from sqlalchemy import func, select

from lims.audit.models import AuditEntry
from lims.extensions import db
from lims.labels.models import LabelPrint
from tests.labels.conftest import pdf_text
from tests.support import label, prepared_dose


def test_second_print_without_a_reason_is_refused_422(api, bag):
    assert label(api, bag["code"]).status_code == 200
    r = label(api, bag["code"])
    assert r.status_code == 422
    assert "reprint_reason" in r.get_json()["error"]["fields"]


def test_reprint_with_a_reason_says_reprint_and_is_counted(api, bag):
    assert label(api, bag["code"]).status_code == 200
    r = label(api, bag["code"], reason="smudged")
    assert r.status_code == 200
    text = pdf_text(r.data)
    assert "REPRINT" in text and "smudged" in text
    assert api.get(f"/bags/{bag['code']}", as_="pharm1").get_json()["label_prints"] == 2


def test_refused_reprint_is_not_counted(api, bag):
    label(api, bag["code"])
    assert label(api, bag["code"]).status_code == 422
    assert api.get(f"/bags/{bag['code']}", as_="pharm1").get_json()["label_prints"] == 1


def test_a_prepared_dose_prints_its_original_label_before_verification(api, lot, subject):
    dose = prepared_dose(api, subject["id"], lot["id"])
    r = label(api, dose["bag"]["code"])
    assert r.status_code == 200 and "REPRINT" not in pdf_text(r.data)
    assert api.get(f"/bags/{dose['bag']['code']}", as_="pharm1").get_json()["label_prints"] == 1


def test_every_print_writes_an_audit_row(api, users, bag):
    label(api, bag["code"])
    label(api, bag["code"], reason="torn")
    rows = db.session.execute(select(AuditEntry.action, AuditEntry.actor, AuditEntry.reason)
                              .where(AuditEntry.action.like("label.%")).order_by(AuditEntry.seq)).all()
    assert [tuple(r) for r in rows] == [("label.printed", "pharm1", None), ("label.reprinted", "pharm1", "torn"),
                                        ("label.voided", "pharm1", "replaced by print 2")]


def test_a_reprint_voids_the_earlier_label_in_the_record(api, bag):
    label(api, bag["code"])
    label(api, bag["code"], reason="torn")
    label(api, bag["code"], reason="wet")
    db.session.expire_all()
    prints = db.session.scalars(select(LabelPrint).order_by(LabelPrint.number)).all()
    by_number = {p.number: p for p in prints}
    assert [(p.number, p.voided_at is not None) for p in prints] == [(1, True), (2, True), (3, False)]
    assert by_number[1].voided_by_print_id == by_number[2].id
    assert by_number[2].voided_by_print_id == by_number[3].id


def test_label_needs_the_pharmacist_role(api, bag):
    assert api.get(f"/bags/{bag['code']}/label.pdf", as_="nurse1").status_code == 403
    assert api.get(f"/bags/{bag['code']}/label.pdf").status_code == 401


def test_unknown_bag_is_404(api, users):
    assert label(api, "W123426999999-S1234-B001").status_code == 404


def test_a_bag_of_a_lot_on_hold_prints_no_label(api, lot, bag):
    from tests.chainofcustody.helpers import hold_lot
    assert label(api, bag["code"]).status_code == 200
    hold_lot(api, lot["id"])
    r = label(api, bag["code"], reason="smudged")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "lot_blocked"
    assert api.get(f"/bags/{bag['code']}", as_="pharm1").get_json()["label_prints"] == 1
    assert db.session.scalar(select(func.count()).select_from(LabelPrint)) == 1
