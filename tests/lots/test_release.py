"""SPEC §4 and §5: evaluation against the release specification, and QA's signed release."""
from sqlalchemy import func, select

from lims.audit.models import AuditEntry
from lims.auth import services as auth
from lims.auth.models import Signature
from lims.extensions import db
from lims.lots.models import LotDisposition
from tests.lots.helpers import count, error, qc_with, qc_without
from tests.support import PASSING_QC, PASSWORD, make_donor, make_lot, make_product, record_qc, sig

ALL_TESTS = [test for test, _ in PASSING_QC]


def _quarantined_lot(api, qc=PASSING_QC, **kw):
    make_product(api)
    lot = make_lot(api, **kw)
    record_qc(api, lot["id"], qc)
    return lot


def _release(api, lot_id, as_="qa", password=PASSWORD):
    return api.post(f"/lots/{lot_id}/release", {"signature": sig(password)}, as_=as_)


def _unmet_items(response):
    return [u["item"] for u in response.get_json()["unmet"]]


def test_evaluation_passes_with_every_criterion_met(api):
    lot = _quarantined_lot(api)
    r = api.get(f"/lots/{lot['id']}/evaluation", as_="qa")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "pass"
    assert [c["test"] for c in body["criteria"]] == ALL_TESTS
    assert all(c["met"] is True and c["missing"] is False for c in body["criteria"])
    by_test = {c["test"]: c for c in body["criteria"]}
    assert by_test["viability"]["result"] == {"value": 90.0, "unit": "%"}
    assert by_test["viability"]["requirement"] == "≥ 70 %"
    assert by_test["cd45"]["requirement"] == "≤ 2 %"
    assert by_test["endotoxin"]["result"] == {"value": 0.2, "unit": "EU/mL"}
    assert by_test["cell_concentration"]["result"] == {"value": 12e6, "unit": "cell/mL"}
    assert by_test["sterility"] == {"test": "sterility", "requirement": "negative", "result": "negative",
                                    "met": True, "missing": False}


def test_release_succeeds_when_every_requirement_is_met(api):
    lot = _quarantined_lot(api)
    r = _release(api, lot["id"])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["id"] == lot["id"] and body["status"] == "released" and body["blocked"] is False
    [disposition] = body["dispositions"]
    assert disposition["from_status"] == "quarantine" and disposition["to_status"] == "released"
    assert disposition["automatic"] is False
    signature = disposition["signature"]
    assert signature["printed_name"] == "Qa Person"
    assert signature["username"] == "qa"
    assert signature["meaning"] == "released"
    assert len(signature["record_hash"]) == 64
    assert signature["signed_at"]
    assert api.get(f"/lots/{lot['id']}", as_="tech").get_json()["status"] == "released"


def test_release_is_audited_with_the_signature(api):
    lot = _quarantined_lot(api)
    assert _release(api, lot["id"]).status_code == 200
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "qa")
                                 .order_by(AuditEntry.seq)).all()
    assert "lot.released" in actions and "signature.released" in actions


def test_release_refused_when_viability_below_spec(api):
    lot = _quarantined_lot(api, qc=qc_with(viability="65 %"))
    evaluation = api.get(f"/lots/{lot['id']}/evaluation", as_="qa").get_json()
    assert evaluation["status"] == "fail"
    viability = next(c for c in evaluation["criteria"] if c["test"] == "viability")
    assert viability["met"] is False and viability["result"] == {"value": 65.0, "unit": "%"}
    r = _release(api, lot["id"])
    assert r.status_code == 409
    assert error(r)["code"] == "release_refused"
    assert _unmet_items(r) == ["viability"]
    assert "65" in r.get_json()["unmet"][0]["message"] and "70" in r.get_json()["unmet"][0]["message"]
    assert "viability" in error(r)["message"]
    assert r.get_json()["evaluation"] == "fail"
    assert api.get(f"/lots/{lot['id']}", as_="qa").get_json()["status"] == "quarantine"


def test_release_refused_when_viability_exactly_at_limit_is_not_refused(api):
    lot = _quarantined_lot(api, qc=qc_with(viability="70 %", cd73="95 %", cd45="2 %", endotoxin="0.5 EU/mL"))
    assert api.get(f"/lots/{lot['id']}/evaluation", as_="qa").get_json()["status"] == "pass"
    assert _release(api, lot["id"]).status_code == 200


def test_release_refused_lists_every_failing_requirement(api):
    lot = _quarantined_lot(api, qc=qc_with(viability="65 %", cd90="90 %", hla_dr="3 %",
                                           endotoxin="0.6 EU/mL", mycoplasma="positive"))
    r = _release(api, lot["id"])
    assert r.status_code == 409 and error(r)["code"] == "release_refused"
    assert sorted(_unmet_items(r)) == sorted(["viability", "cd90", "hla_dr", "endotoxin", "mycoplasma"])


def test_evaluation_incomplete_when_results_missing(api):
    lot = _quarantined_lot(api, qc=qc_without("sterility", "endotoxin"))
    body = api.get(f"/lots/{lot['id']}/evaluation", as_="qa").get_json()
    assert body["status"] == "incomplete"
    missing = [c["test"] for c in body["criteria"] if c["missing"]]
    assert missing == ["sterility", "endotoxin"]
    assert all(c["result"] is None and c["met"] is False for c in body["criteria"] if c["missing"])


def test_evaluation_of_a_lot_without_results_is_incomplete(api):
    make_product(api)
    lot = make_lot(api)
    body = api.get(f"/lots/{lot['id']}/evaluation", as_="nurse1").get_json()
    assert body["status"] == "incomplete"
    assert len(body["criteria"]) == len(ALL_TESTS) and all(c["missing"] for c in body["criteria"])


def test_evaluation_fails_when_a_result_fails_even_if_others_missing(api):
    lot = _quarantined_lot(api, qc=[("viability", "50 %")])
    assert api.get(f"/lots/{lot['id']}/evaluation", as_="qa").get_json()["status"] == "fail"


def test_release_refused_when_results_missing(api):
    lot = _quarantined_lot(api, qc=qc_without("sterility", "gram_stain"))
    r = _release(api, lot["id"])
    assert r.status_code == 409 and error(r)["code"] == "release_refused"
    assert sorted(_unmet_items(r)) == ["gram_stain", "sterility"]
    assert r.get_json()["evaluation"] == "incomplete"
    assert count(LotDisposition) == 0


def test_release_refused_when_donor_ineligible(api):
    make_product(api)
    donor = make_donor(api, code="D-INELIG", eligibility="ineligible")
    lot = make_lot(api, donor_id=donor["id"])
    record_qc(api, lot["id"])
    r = _release(api, lot["id"])
    assert r.status_code == 409 and error(r)["code"] == "release_refused"
    assert _unmet_items(r) == ["donor_eligibility"]
    assert "ineligible" in r.get_json()["unmet"][0]["message"]


def test_release_refused_when_donor_eligibility_incomplete(api):
    make_product(api)
    donor = make_donor(api, code="D-INCOMPLETE", eligibility="incomplete")
    lot = make_lot(api, donor_id=donor["id"])
    record_qc(api, lot["id"])
    r = _release(api, lot["id"])
    assert r.status_code == 409 and _unmet_items(r) == ["donor_eligibility"]


def test_release_refused_when_lot_expired(api):
    lot = _quarantined_lot(api, expires_on="2026-10-02")
    r = _release(api, lot["id"])
    assert r.status_code == 409 and error(r)["code"] == "release_refused"
    assert _unmet_items(r) == ["expiry"]


def test_release_refused_lists_spec_donor_and_expiry_together(api):
    make_product(api)
    donor = make_donor(api, code="D-ALLBAD", eligibility="ineligible")
    lot = make_lot(api, donor_id=donor["id"], expires_on="2026-10-02")
    record_qc(api, lot["id"], qc_with(viability="65 %"))
    r = _release(api, lot["id"])
    assert r.status_code == 409
    assert _unmet_items(r) == ["viability", "donor_eligibility", "expiry"]


def test_qa_who_recorded_a_qc_result_cannot_release(api, app):
    auth.create_user("qatech", "Quinn Tech-QA", ["technician", "qa"], PASSWORD)
    lot = _quarantined_lot(api, qc=qc_without("gram_stain"))
    r = api.post(f"/lots/{lot['id']}/qc-results", {"test": "gram_stain", "result": "negative"}, as_="qatech")
    assert r.status_code == 201 and r.get_json()["recorded_by"] == "qatech"
    r = _release(api, lot["id"], as_="qatech")
    assert r.status_code == 403
    assert error(r)["code"] == "segregation_of_duties"
    assert "QC result" in error(r)["message"]
    assert api.get(f"/lots/{lot['id']}", as_="qa").get_json()["status"] == "quarantine"
    assert count(LotDisposition) == 0
    # another QA, who recorded nothing on this lot, may release it
    assert _release(api, lot["id"], as_="qa").status_code == 200


def test_qa_who_recorded_only_a_superseded_result_still_cannot_release(api):
    auth.create_user("qatech", "Quinn Tech-QA", ["technician", "qa"], PASSWORD)
    make_product(api)
    lot = make_lot(api)
    record_qc(api, lot["id"], [("viability", "80 %")], as_="qatech")
    record_qc(api, lot["id"], qc_without("viability"))
    r = api.post(f"/lots/{lot['id']}/qc-results", {"test": "viability", "result": "85 %", "reason": "recount"},
                 as_="tech")
    assert r.status_code == 201
    r = _release(api, lot["id"], as_="qatech")
    assert r.status_code == 403 and error(r)["code"] == "segregation_of_duties"


def test_qa_with_technician_role_who_recorded_nothing_may_release(api):
    auth.create_user("qatech", "Quinn Tech-QA", ["technician", "qa"], PASSWORD)
    lot = _quarantined_lot(api)
    r = _release(api, lot["id"], as_="qatech")
    assert r.status_code == 200
    assert r.get_json()["dispositions"][0]["signature"]["printed_name"] == "Quinn Tech-QA"


def test_release_with_wrong_signature_password_is_401_and_lot_stays_quarantine(api, users):
    lot = _quarantined_lot(api)
    before = {m: count(m) for m in (LotDisposition, Signature)}
    last_seq = db.session.scalar(select(func.max(AuditEntry.seq)))
    r = _release(api, lot["id"], password="not-the-password-1")
    assert r.status_code == 401
    assert error(r)["code"] == "invalid_credentials"
    body = api.get(f"/lots/{lot['id']}", as_="qa").get_json()
    assert body["status"] == "quarantine" and body["dispositions"] == []
    assert {m: count(m) for m in (LotDisposition, Signature)} == before
    new_rows = db.session.scalars(select(AuditEntry).where(AuditEntry.seq > last_seq)
                                  .order_by(AuditEntry.seq)).all()
    assert [row.action for row in new_rows] == ["security.signature_refused"]
    assert new_rows[0].actor == "qa"
    db.session.expire_all()
    assert auth.user_by_username("qa").failed_attempts == 1


def test_release_after_a_wrong_password_succeeds_with_the_right_one(api, users):
    lot = _quarantined_lot(api)
    assert _release(api, lot["id"], password="not-the-password-1").status_code == 401
    r = _release(api, lot["id"])
    assert r.status_code == 200 and r.get_json()["status"] == "released"
    db.session.expire_all()
    assert auth.user_by_username("qa").failed_attempts == 0


def test_release_without_a_signature_is_422(api):
    lot = _quarantined_lot(api)
    r = api.post(f"/lots/{lot['id']}/release", {}, as_="qa")
    assert r.status_code == 422
    assert "signature" in error(r)["fields"]
    assert api.get(f"/lots/{lot['id']}", as_="qa").get_json()["status"] == "quarantine"


def test_only_qa_may_release(api):
    lot = _quarantined_lot(api)
    for who in ("tech", "admin", "pharm1"):
        r = _release(api, lot["id"], as_=who)
        assert r.status_code == 403, who
        assert error(r)["code"] == "role_required"
    assert api.get(f"/lots/{lot['id']}", as_="qa").get_json()["status"] == "quarantine"


def test_release_of_unknown_lot_is_404(api):
    r = _release(api, 424242)
    assert r.status_code == 404 and error(r)["code"] == "lot_not_found"
