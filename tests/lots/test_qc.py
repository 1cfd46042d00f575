"""SPEC §5: QC results — validation, corrections that supersede but never overwrite, and the automatic hold."""
from sqlalchemy import select

from lims.audit.models import AuditEntry
from lims.extensions import db
from lims.lots.models import LotDisposition, QcResult
from tests.lots.helpers import count, error
from tests.support import make_lot, make_product, released_lot, sig


def _lot(api):
    make_product(api)
    return make_lot(api)


def _qc(api, lot_id, test, result, as_="tech", **extra):
    return api.post(f"/lots/{lot_id}/qc-results", {"test": test, "result": result, **extra}, as_=as_)


def test_qc_result_is_recorded_with_who_and_canonical_value(api):
    lot = _lot(api)
    r = _qc(api, lot["id"], "viability", "92.5 %", method="7-AAD flow cytometry")
    assert r.status_code == 201
    body = r.get_json()
    assert body["test"] == "viability" and body["lot_id"] == lot["id"]
    assert body["result"] == {"value": 92.5, "unit": "%"}
    assert body["method"] == "7-AAD flow cytometry"
    assert body["recorded_by"] == "tech" and body["recorded_at"]
    assert body["supersedes_id"] is None and body["reason"] is None


def test_qc_quantity_is_converted_to_the_canonical_unit(api):
    lot = _lot(api)
    r = _qc(api, lot["id"], "cell_concentration", "12 million cell/mL")
    assert r.status_code == 201 and r.get_json()["result"] == {"value": 12e6, "unit": "cell/mL"}
    r = _qc(api, lot["id"], "endotoxin", {"value": 0.25, "unit": "EU/mL"})
    assert r.status_code == 201 and r.get_json()["result"] == {"value": 0.25, "unit": "EU/mL"}


def test_categorical_result_is_normalised(api):
    lot = _lot(api)
    r = _qc(api, lot["id"], "sterility", " Negative ")
    assert r.status_code == 201 and r.get_json()["result"] == "negative"


def test_viability_in_mg_is_422_naming_result_and_expected_unit(api):
    lot = _lot(api)
    r = _qc(api, lot["id"], "viability", "92 mg")
    assert r.status_code == 422
    err = error(r)
    assert err["code"] == "validation_failed"
    assert list(err["fields"]) == ["result"]
    assert "%" in err["fields"]["result"][0]
    assert "mg" in err["fields"]["result"][0]


def test_viability_above_100_percent_is_422(api):
    lot = _lot(api)
    r = _qc(api, lot["id"], "viability", "140 %")
    assert r.status_code == 422
    assert "result" in error(r)["fields"]
    assert "100" in error(r)["fields"]["result"][0]


def test_negative_percentage_is_422(api):
    lot = _lot(api)
    r = _qc(api, lot["id"], "cd45", "-1 %")
    assert r.status_code == 422 and "result" in error(r)["fields"]


def test_percentage_without_unit_is_422(api):
    lot = _lot(api)
    r = _qc(api, lot["id"], "viability", "92")
    assert r.status_code == 422 and "result" in error(r)["fields"]


def test_unknown_test_is_422_naming_test(api):
    lot = _lot(api)
    r = _qc(api, lot["id"], "potency", "90 %")
    assert r.status_code == 422
    assert list(error(r)["fields"]) == ["test"]
    assert "viability" in error(r)["fields"]["test"][0]  # the message lists the tests to choose from


def test_categorical_sterility_maybe_is_422(api):
    lot = _lot(api)
    r = _qc(api, lot["id"], "sterility", "maybe")
    assert r.status_code == 422
    assert list(error(r)["fields"]) == ["result"]
    assert "negative" in error(r)["fields"]["result"][0]


def test_categorical_result_given_as_number_is_422(api):
    lot = _lot(api)
    r = _qc(api, lot["id"], "mycoplasma", 0)
    assert r.status_code == 422 and "result" in error(r)["fields"]


def test_missing_result_field_is_422(api):
    lot = _lot(api)
    r = api.post(f"/lots/{lot['id']}/qc-results", {"test": "viability"}, as_="tech")
    assert r.status_code == 422 and "result" in error(r)["fields"]


def test_only_a_technician_records_qc(api):
    lot = _lot(api)
    r = _qc(api, lot["id"], "viability", "90 %", as_="qa")
    assert r.status_code == 403
    assert count(QcResult) == 0


def test_qc_for_unknown_lot_is_404(api):
    r = _qc(api, 31337, "viability", "90 %")
    assert r.status_code == 404 and error(r)["code"] == "lot_not_found"


def test_second_result_for_same_test_without_reason_is_422(api):
    lot = _lot(api)
    assert _qc(api, lot["id"], "viability", "88 %").status_code == 201
    r = _qc(api, lot["id"], "viability", "91 %")
    assert r.status_code == 422
    assert list(error(r)["fields"]) == ["reason"]
    r = _qc(api, lot["id"], "viability", "91 %", reason="   ")
    assert r.status_code == 422 and list(error(r)["fields"]) == ["reason"]
    assert count(QcResult) == 1


def test_correction_with_reason_supersedes_and_keeps_history(api):
    lot = _lot(api)
    first = _qc(api, lot["id"], "viability", "88 %").get_json()
    r = _qc(api, lot["id"], "viability", "91 %", reason="transcription error: 91 % on the cytometer printout")
    assert r.status_code == 201
    correction = r.get_json()
    assert correction["supersedes_id"] == first["id"]
    assert correction["reason"].startswith("transcription error")
    history = api.get(f"/lots/{lot['id']}/qc-results", as_="qa")
    assert history.status_code == 200
    rows = history.get_json()
    assert [(row["id"], row["result"]) for row in rows] == [
        (first["id"], {"value": 88.0, "unit": "%"}), (correction["id"], {"value": 91.0, "unit": "%"})]
    assert rows[0]["supersedes_id"] is None  # the earlier row is not overwritten
    viability = next(c for c in api.get(f"/lots/{lot['id']}/evaluation", as_="qa").get_json()["criteria"]
                     if c["test"] == "viability")
    assert viability["result"] == {"value": 91.0, "unit": "%"}


def test_correction_of_a_correction_chains_and_uses_the_latest(api):
    lot = _lot(api)
    a = _qc(api, lot["id"], "endotoxin", "0.3 EU/mL").get_json()
    b = _qc(api, lot["id"], "endotoxin", "0.4 EU/mL", reason="re-read").get_json()
    c = _qc(api, lot["id"], "endotoxin", "0.1 EU/mL", reason="re-test").get_json()
    assert (b["supersedes_id"], c["supersedes_id"]) == (a["id"], b["id"])
    assert len(api.get(f"/lots/{lot['id']}/qc-results", as_="tech").get_json()) == 3
    endotoxin = next(x for x in api.get(f"/lots/{lot['id']}/evaluation", as_="qa").get_json()["criteria"]
                     if x["test"] == "endotoxin")
    assert endotoxin["result"] == {"value": 0.1, "unit": "EU/mL"}


def test_correction_is_audited_with_before_value_and_reason(api):
    lot = _lot(api)
    _qc(api, lot["id"], "viability", "88 %")
    _qc(api, lot["id"], "viability", "91 %", reason="recount")
    row = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "qc.corrected"))
    assert row is not None and row.reason == "recount" and row.actor == "tech"
    assert "88" in row.before and "91" in row.after


def test_qc_validation_failure_changes_no_row_and_adds_no_audit_row(api):
    lot = _lot(api)
    assert _qc(api, lot["id"], "viability", "88 %").status_code == 201
    before = (count(QcResult), count(AuditEntry), count(LotDisposition))
    for test, result, extra in (("viability", "92 mg", {}), ("viability", "140 %", {}), ("potency", "9 %", {}),
                                ("sterility", "maybe", {}), ("viability", "91 %", {}),
                                ("viability", "91 %", {"colour": "blue"})):
        r = _qc(api, lot["id"], test, result, **extra)
        assert r.status_code == 422, (test, result, r.get_json())
    assert (count(QcResult), count(AuditEntry), count(LotDisposition)) == before


def test_failing_result_after_release_puts_lot_on_hold_at_once(api):
    lot = released_lot(api)
    r = _qc(api, lot["id"], "sterility", "positive", reason="final 14-day culture read positive")
    assert r.status_code == 201
    assert r.get_json()["result"] == "positive"
    body = api.get(f"/lots/{lot['id']}", as_="qa").get_json()
    assert body["status"] == "on_hold" and body["blocked"] is True
    hold = body["dispositions"][-1]
    assert (hold["from_status"], hold["to_status"], hold["automatic"]) == ("released", "on_hold", True)
    assert "sterility" in hold["reason"]
    assert hold["signature"] is None
    assert api.get(f"/lots/{lot['id']}/evaluation", as_="qa").get_json()["status"] == "fail"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "lot.on_hold")) is not None


def test_passing_correction_after_release_leaves_lot_released(api):
    lot = released_lot(api)
    r = _qc(api, lot["id"], "viability", "88 %", reason="post-release stability read")
    assert r.status_code == 201
    body = api.get(f"/lots/{lot['id']}", as_="qa").get_json()
    assert body["status"] == "released" and len(body["dispositions"]) == 1


def test_failing_result_on_quarantined_lot_leaves_it_in_quarantine(api):
    lot = _lot(api)
    assert _qc(api, lot["id"], "sterility", "positive").status_code == 201
    body = api.get(f"/lots/{lot['id']}", as_="qa").get_json()
    assert body["status"] == "quarantine" and body["dispositions"] == []


def test_qc_may_be_recorded_on_a_lot_on_hold(api):
    lot = released_lot(api)
    assert api.post(f"/lots/{lot['id']}/hold", {"signature": sig(), "reason": "investigation"},
                    as_="qa").status_code == 200
    r = _qc(api, lot["id"], "endotoxin", "0.1 EU/mL", reason="retest during investigation")
    assert r.status_code == 201
    assert api.get(f"/lots/{lot['id']}", as_="qa").get_json()["status"] == "on_hold"


def test_qc_refused_on_rejected_lot(api):
    lot = _lot(api)
    r = api.post(f"/lots/{lot['id']}/reject", {"signature": sig(), "reason": "bag breach"}, as_="qa")
    assert r.status_code == 200
    r = _qc(api, lot["id"], "viability", "90 %")
    assert r.status_code == 409 and error(r)["code"] == "lot_closed"
    assert r.get_json()["status"] == "rejected"
    assert count(QcResult) == 0


def test_qc_refused_on_recalled_lot(api):
    lot = released_lot(api)
    r = api.post(f"/lots/{lot['id']}/recall", {"signature": sig(), "reason": "donor lookback"}, as_="qa")
    assert r.status_code == 200
    r = _qc(api, lot["id"], "viability", "90 %", reason="late")
    assert r.status_code == 409 and error(r)["code"] == "lot_closed"


def test_zero_cell_concentration_is_recorded_but_fails_the_specification(api):
    lot = _lot(api)
    r = _qc(api, lot["id"], "cell_concentration", "0 cell/mL")
    assert r.status_code == 201 and r.get_json()["result"] == {"value": 0.0, "unit": "cell/mL"}
    criterion = next(c for c in api.get(f"/lots/{lot['id']}/evaluation", as_="qa").get_json()["criteria"]
                     if c["test"] == "cell_concentration")
    assert criterion["met"] is False and criterion["missing"] is False
    assert criterion["requirement"] == "reported; > 0 cell/mL"
