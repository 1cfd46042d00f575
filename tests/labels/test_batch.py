"""Batch printing (SPEC §9, issue 14): one PDF, at most LIMS_LABEL_BATCH_MAX (200) labels a request, an empty batch
422; a refused batch prints, counts and audits nothing, through the API and the CLI alike."""
import pytest
from sqlalchemy import func, select

import config
from lims.audit.models import AuditEntry
from lims.extensions import db
from lims.labels.models import LabelPrint
from tests.labels.conftest import pdf_page_sizes
from tests.support import enrol, prepared_dose


@pytest.fixture
def two_bags(api, lot, subject, bag):
    other = enrol(api, subject["study_id"], code="S-002", cohort="Expansion")
    return [bag, prepared_dose(api, other["id"], lot["id"])["bag"]]


def batch(api, bags, reason=None):
    return api.post("/labels/batch.pdf", {"bags": bags, "reprint_reason": reason}, as_="pharm1")


def nothing_printed():
    db.session.expire_all()
    prints = db.session.scalar(select(func.count()).select_from(LabelPrint))
    audited = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("label.%")))
    return prints == 0 and audited == 0


def test_the_default_batch_limit_is_200_labels():
    assert config.Config.LIMS_LABEL_BATCH_MAX == 200


def test_a_batch_of_201_labels_is_refused_422_naming_the_limit(api, bag):
    r = batch(api, [bag["code"]] * 201, reason="test")
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert "bags" in error["fields"] and "at most 200 labels a request" in error["message"]
    assert nothing_printed()


def test_a_batch_at_the_limit_prints_one_pdf_with_every_label(app, api, two_bags):
    app.config["LIMS_LABEL_BATCH_MAX"] = 2
    r = batch(api, [b["code"] for b in two_bags])
    assert r.status_code == 200, r.get_json(silent=True)
    assert r.mimetype == "application/pdf"
    assert pdf_page_sizes(r.data) == [(288.0, 288.0)] * 2
    assert db.session.scalar(select(func.count()).select_from(LabelPrint)) == 2


def test_a_batch_one_over_the_limit_prints_nothing(app, api, two_bags):
    app.config["LIMS_LABEL_BATCH_MAX"] = 1
    r = batch(api, [b["code"] for b in two_bags])
    assert r.status_code == 422
    assert "at most 1 labels a request" in r.get_json()["error"]["message"]
    assert nothing_printed()
    assert api.get(f"/bags/{two_bags[0]['code']}", as_="pharm1").get_json()["label_prints"] == 0


def test_an_empty_batch_is_422(api, bag):
    r = batch(api, [])
    assert r.status_code == 422
    assert "bags" in r.get_json()["error"]["fields"]
    assert nothing_printed()


def test_the_cli_refuses_a_batch_over_the_limit_and_prints_nothing(app, two_bags, tmp_path):
    app.config["LIMS_LABEL_BATCH_MAX"] = 1
    out = tmp_path / "batch.pdf"
    args = ["labels", "print", "--out", str(out), "--user", "pharm1"]
    for b in two_bags:
        args += ["--bag", b["code"]]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0 and "at most 1 labels a request" in result.output
    assert not out.exists()
    assert nothing_printed()
