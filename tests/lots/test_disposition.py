"""SPEC §5: the lot state machine (signed by QA, a reason for everything but a release) and the hold's block."""
import pytest

from lims.audit.models import AuditEntry
from lims.lots.models import LotDisposition
from tests.lots.helpers import count, error
from tests.support import enrol, expansion_study, make_lot, make_product, released_lot, sig, verified_bag


def _act(api, lot_id, action, reason=None, as_="qa", password=None):
    body = {"signature": sig(password) if password else sig()}
    if reason is not None:
        body["reason"] = reason
    return api.post(f"/lots/{lot_id}/{action}", body, as_=as_)


def _status(api, lot_id):
    return api.get(f"/lots/{lot_id}", as_="qa").get_json()["status"]


def test_hold_requires_a_reason(api):
    lot = released_lot(api)
    before = (count(LotDisposition), count(AuditEntry))
    r = _act(api, lot["id"], "hold")
    assert r.status_code == 422
    assert list(error(r)["fields"]) == ["reason"]
    assert _act(api, lot["id"], "hold", reason=" ").status_code == 422
    assert _status(api, lot["id"]) == "released"
    assert (count(LotDisposition), count(AuditEntry)) == before


def test_hold_puts_released_lot_on_hold_and_blocks_it(api):
    lot = released_lot(api)
    r = _act(api, lot["id"], "hold", reason="customer complaint: cloudy bag")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "on_hold" and body["blocked"] is True
    hold = body["dispositions"][-1]
    assert (hold["from_status"], hold["to_status"]) == ("released", "on_hold")
    assert hold["reason"] == "customer complaint: cloudy bag" and hold["automatic"] is False
    assert hold["signature"]["meaning"] == "held" and hold["signature"]["printed_name"] == "Qa Person"
    shown = api.get(f"/lots/{lot['id']}", as_="pharm1").get_json()
    assert shown["status"] == "on_hold" and shown["blocked"] is True


def test_dose_from_a_lot_on_hold_is_refused(api):
    lot = released_lot(api)
    study = expansion_study(api)
    subject = enrol(api, study["id"], cohort="Expansion")
    assert _act(api, lot["id"], "hold", reason="investigation").status_code == 200
    r = api.post("/doses", {"subject_id": subject["id"], "lot_id": lot["id"]}, as_="pharm1")
    assert r.status_code == 409
    assert error(r)["code"] == "lot_not_released"
    assert r.get_json()["status"] == "on_hold"


def test_dose_from_the_same_lot_is_planned_again_once_released_from_hold(api):
    lot = released_lot(api)
    study = expansion_study(api)
    subject = enrol(api, study["id"], cohort="Expansion")
    assert _act(api, lot["id"], "hold", reason="investigation").status_code == 200
    assert api.post("/doses", {"subject_id": subject["id"], "lot_id": lot["id"]}, as_="pharm1").status_code == 409
    assert _act(api, lot["id"], "release").status_code == 200
    r = api.post("/doses", {"subject_id": subject["id"], "lot_id": lot["id"]}, as_="pharm1")
    assert r.status_code == 201, r.get_json()


def test_dose_from_a_lot_in_quarantine_is_refused(api):
    make_product(api)
    lot = make_lot(api)
    study = expansion_study(api)
    subject = enrol(api, study["id"], cohort="Expansion")
    r = api.post("/doses", {"subject_id": subject["id"], "lot_id": lot["id"]}, as_="pharm1")
    assert r.status_code == 409 and error(r)["code"] == "lot_not_released"


def test_reject_from_released_is_409(api):
    lot = released_lot(api)
    r = _act(api, lot["id"], "reject", reason="changed my mind")
    assert r.status_code == 409
    assert error(r)["code"] == "invalid_transition"
    assert r.get_json()["status"] == "released"
    assert _status(api, lot["id"]) == "released"


def test_reject_from_quarantine_works_with_a_reason(api):
    make_product(api)
    lot = make_lot(api)
    assert _act(api, lot["id"], "reject").status_code == 422
    r = _act(api, lot["id"], "reject", reason="container breach during cryopreservation")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "rejected"
    assert body["dispositions"][-1]["signature"]["meaning"] == "rejected"


def test_recall_from_on_hold_works(api):
    lot = released_lot(api)
    assert _act(api, lot["id"], "hold", reason="investigation").status_code == 200
    r = _act(api, lot["id"], "recall", reason="donor lookback: positive NAT")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "recalled" and body["blocked"] is True
    assert [(d["from_status"], d["to_status"]) for d in body["dispositions"]] == [
        ("quarantine", "released"), ("released", "on_hold"), ("on_hold", "recalled")]
    assert body["dispositions"][-1]["signature"]["meaning"] == "recalled"


def test_recall_from_released_works(api):
    lot = released_lot(api)
    r = _act(api, lot["id"], "recall", reason="donor lookback")
    assert r.status_code == 200 and r.get_json()["status"] == "recalled"


def test_recall_requires_a_reason(api):
    lot = released_lot(api)
    r = _act(api, lot["id"], "recall")
    assert r.status_code == 422 and list(error(r)["fields"]) == ["reason"]
    assert _status(api, lot["id"]) == "released"


def test_release_from_on_hold_works_again(api):
    lot = released_lot(api)
    assert _act(api, lot["id"], "hold", reason="investigation").status_code == 200
    r = _act(api, lot["id"], "release", reason="investigation closed: no impact")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "released" and body["blocked"] is False
    last = body["dispositions"][-1]
    assert (last["from_status"], last["to_status"]) == ("on_hold", "released")
    assert last["signature"]["meaning"] == "released"


def test_release_from_automatic_hold_is_refused_while_the_lot_fails(api):
    lot = released_lot(api)
    r = api.post(f"/lots/{lot['id']}/qc-results", {"test": "sterility", "result": "positive",
                                                   "reason": "final culture"}, as_="tech")
    assert r.status_code == 201
    assert _status(api, lot["id"]) == "on_hold"
    r = _act(api, lot["id"], "release")
    assert r.status_code == 409 and error(r)["code"] == "release_refused"
    assert [u["item"] for u in r.get_json()["unmet"]] == ["sterility"]
    assert _status(api, lot["id"]) == "on_hold"


@pytest.mark.parametrize("action", ["hold", "recall", "release"])
def test_no_transition_out_of_recalled(api, action):
    lot = released_lot(api)
    assert _act(api, lot["id"], "recall", reason="donor lookback").status_code == 200
    r = _act(api, lot["id"], action, reason="try again")
    assert r.status_code == 409 and error(r)["code"] == "invalid_transition"
    assert _status(api, lot["id"]) == "recalled"


@pytest.mark.parametrize("action", ["release", "hold", "recall", "reject"])
def test_no_transition_out_of_rejected(api, action):
    make_product(api)
    lot = make_lot(api)
    assert _act(api, lot["id"], "reject", reason="breach").status_code == 200
    r = _act(api, lot["id"], action, reason="try again")
    assert r.status_code == 409 and error(r)["code"] == "invalid_transition"
    assert _status(api, lot["id"]) == "rejected"


@pytest.mark.parametrize("action", ["hold", "recall"])
def test_hold_and_recall_from_quarantine_are_409(api, action):
    make_product(api)
    lot = make_lot(api)
    r = _act(api, lot["id"], action, reason="why not")
    assert r.status_code == 409 and error(r)["code"] == "invalid_transition"
    assert _status(api, lot["id"]) == "quarantine"


def test_hold_from_on_hold_is_409(api):
    lot = released_lot(api)
    assert _act(api, lot["id"], "hold", reason="first").status_code == 200
    r = _act(api, lot["id"], "hold", reason="second")
    assert r.status_code == 409 and error(r)["code"] == "invalid_transition"


def test_hold_with_wrong_password_is_401_and_lot_stays_released(api):
    lot = released_lot(api)
    dispositions = count(LotDisposition)
    r = _act(api, lot["id"], "hold", reason="investigation", password="not-the-password-1")
    assert r.status_code == 401
    assert _status(api, lot["id"]) == "released"
    assert count(LotDisposition) == dispositions


def test_only_qa_may_hold(api):
    lot = released_lot(api)
    r = _act(api, lot["id"], "hold", reason="investigation", as_="tech")
    assert r.status_code == 403
    assert _status(api, lot["id"]) == "released"


def test_hold_blocks_a_bag_already_prepared_from_the_lot(api):
    lot = released_lot(api)
    study = expansion_study(api)
    subject = enrol(api, study["id"], cohort="Expansion")
    bag = verified_bag(api, subject["id"], lot["id"])
    assert api.get(f"/bags/{bag['code']}", as_="nurse1").get_json()["blocked"] is False
    assert _act(api, lot["id"], "hold", reason="investigation").status_code == 200
    shown = api.get(f"/bags/{bag['code']}", as_="nurse1")
    assert shown.status_code == 200 and shown.get_json()["blocked"] is True
