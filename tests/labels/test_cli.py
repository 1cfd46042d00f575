"""`flask labels print`: a batch of bags into one PDF, recorded as the named pharmacist (issue 5)."""
from sqlalchemy import select

from lims.audit.models import AuditEntry
from lims.extensions import db
from lims.labels.models import LabelPrint
from tests.labels.conftest import decode_page, pdf_page_sizes
from tests.support import enrol, prepared_dose


def second_bag(api, lot, subject):
    other = enrol(api, subject["study_id"], code="S-002", cohort="Expansion")
    return prepared_dose(api, other["id"], lot["id"])["bag"]


def run(app, *args):
    return app.test_cli_runner().invoke(args=["labels", "print", *args])


def test_cli_prints_a_batch_of_bags_into_one_pdf(app, api, lot, subject, bag, tmp_path):
    bag2 = second_bag(api, lot, subject)
    out = tmp_path / "batch.pdf"
    result = run(app, "--bag", bag["code"], "--bag", bag2["code"], "--out", str(out), "--user", "pharm2")
    assert result.exit_code == 0, result.output
    assert "wrote 2 label(s)" in result.output
    pdf = out.read_bytes()
    assert pdf_page_sizes(pdf) == [(288.0, 288.0)] * 2
    assert ("QR Code", bag["scan"]) in decode_page(pdf, 0)
    assert ("QR Code", bag2["scan"]) in decode_page(pdf, 1)


def test_cli_records_the_prints_as_the_named_user(app, api, users, bag, tmp_path):
    result = run(app, "--bag", bag["code"], "--out", str(tmp_path / "l.pdf"), "--user", "pharm2")
    assert result.exit_code == 0, result.output
    printed = db.session.scalars(select(LabelPrint)).all()
    assert [(p.number, p.printed_by.username, p.output_format) for p in printed] == [(1, "pharm2", "pdf")]
    actors = db.session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "label.printed")).all()
    assert actors == ["pharm2"]


def test_cli_accepts_the_qr_text_for_a_bag(app, bag, tmp_path):
    result = run(app, "--bag", bag["scan"], "--out", str(tmp_path / "l.pdf"), "--user", "pharm1")
    assert result.exit_code == 0, result.output


def test_cli_reprint_needs_a_reason(app, api, bag, tmp_path):
    out = str(tmp_path / "l.pdf")
    assert run(app, "--bag", bag["code"], "--out", out, "--user", "pharm1").exit_code == 0
    refused = run(app, "--bag", bag["code"], "--out", out, "--user", "pharm1")
    assert refused.exit_code != 0 and "reprint needs a reason" in refused.output
    again = run(app, "--bag", bag["code"], "--out", out, "--user", "pharm1", "--reprint-reason", "jammed")
    assert again.exit_code == 0, again.output
    assert api.get(f"/bags/{bag['code']}", as_="pharm1").get_json()["label_prints"] == 2


def test_cli_refuses_a_user_who_is_not_a_pharmacist(app, bag, tmp_path):
    result = run(app, "--bag", bag["code"], "--out", str(tmp_path / "l.pdf"), "--user", "nurse1")
    assert result.exit_code != 0 and "pharmacist" in result.output
    assert db.session.scalars(select(LabelPrint)).all() == []


def test_cli_shows_progress(app, bag, tmp_path):
    result = run(app, "--bag", bag["code"], "--out", str(tmp_path / "l.pdf"), "--user", "pharm1")
    assert "Laying out 1 label(s)" in result.output
