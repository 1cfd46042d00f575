"""Security events of SPEC §4 on the audit trail, which QA and the administrator read: failed sign-ins (known or
unknown username), refused signatures (the submitting user as actor), refused permissions and segregation-of-duties
refusals; each in a transaction of its own, so the refused operation writes nothing and the chain stays intact."""
import json

from sqlalchemy import func, select

from lims.audit.models import AuditEntry
from lims.doses.models import Dose
from lims.extensions import db
from lims.lots.models import Donor
from tests.support import bedside, enrol, make_study, planned_dose, prepared_dose, received_bag, released_lot
from tests.support import signed_in, verify


def _events(action):
    db.session.rollback()
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)).all()


def _chain_intact(api):
    r = api.get("/audit/verify", as_="qa")
    assert r.status_code == 200 and r.get_json()["ok"] is True, r.get_json()


def test_a_failed_sign_in_of_a_known_account_is_a_security_event(api):
    api.client.post("/api/v1/auth/token", json={"username": "Nurse1", "password": "Wrong-password-1"})
    [row] = _events("security.sign_in_failed")
    assert row.actor == "nurse1"
    assert json.loads(row.after) == {"username": "nurse1", "reason": "wrong_password", "locked": False,
                                     "client_address": "127.0.0.1"}
    _chain_intact(api)


def test_a_failed_sign_in_of_an_unknown_username_is_a_security_event(api):
    r = api.client.post("/api/v1/auth/token", json={"username": "ghost.user", "password": "Wrong-password-1"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "invalid_credentials"
    [row] = _events("security.sign_in_failed")
    assert (row.actor, row.actor_id) == ("anonymous", None)
    assert json.loads(row.after)["username"] == "ghost.user" and json.loads(row.after)["reason"] == "unknown_username"


def test_a_refused_witness_signature_names_the_submitting_nurse(api):
    lot = released_lot(api)
    subject = enrol(api, make_study(api)["id"])
    bag = received_bag(api, subject["id"], lot["id"])
    r = bedside(api, bag["scan"], subject["wristband"], witness="nurse2", password="Wrong-password-1")
    assert r.status_code == 401
    [row] = _events("security.signature_refused")
    assert row.actor == "nurse1" and json.loads(row.after) == {"signer": "nurse2", "reason": "wrong_password",
                                                               "locked": False}
    r = bedside(api, bag["scan"], subject["wristband"], witness="nobody-here")
    assert r.status_code == 401
    assert json.loads(_events("security.signature_refused")[-1].after)["reason"] == "unknown_username"
    _chain_intact(api)


def test_a_refused_permission_is_a_security_event_and_writes_nothing_else(api):
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    r = api.post("/donors", {"code": "D-9", "eligibility": "eligible"}, as_="nurse1")
    assert r.status_code == 403
    [row] = _events("security.permission_refused")
    assert (row.actor, row.entity, row.entity_id) == ("nurse1", "route", "/api/v1/donors")
    assert json.loads(row.after)["code"] == "role_required"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before + 1
    assert db.session.scalar(select(func.count()).select_from(Donor)) == 0
    _chain_intact(api)


def test_a_segregation_of_duties_refusal_is_a_security_event(api):
    lot = released_lot(api)
    subject = enrol(api, make_study(api)["id"])
    dose = prepared_dose(api, subject["id"], lot["id"])
    r = verify(api, dose, as_="pharm1")  # the preparer scans and measures, then signs as the verifier
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "segregation_of_duties"
    [row] = _events("security.segregation_refused")
    assert row.actor == "pharm1" and row.entity_id.startswith("/api/v1/doses/")
    db.session.expire_all()
    assert db.session.get(Dose, dose["id"]).status == "prepared"
    _chain_intact(api)


def test_a_refusal_shown_on_a_page_is_recorded_too(app, api):
    planned_dose(api, enrol(api, make_study(api)["id"])["id"], released_lot(api)["id"])
    r = signed_in(app, "nurse1").get("/users")
    assert r.status_code == 403
    [row] = _events("security.permission_refused")
    assert (row.actor, row.entity_id) == ("nurse1", "/users")


def test_qa_and_the_administrator_read_the_security_events(api):
    api.client.post("/api/v1/auth/token", json={"username": "ghost.user", "password": "Wrong-password-1"})
    api.post("/donors", {"code": "D-9", "eligibility": "eligible"}, as_="nurse1")
    for reader in ("qa", "admin"):
        r = api.get("/audit?action=security.*", as_=reader)
        assert r.status_code == 200
        assert [row["action"] for row in r.get_json()["rows"]] in (
            ["security.sign_in_failed", "security.permission_refused"],
            ["security.permission_refused", "security.sign_in_failed"])
    assert api.get("/audit?action=security.*", as_="nurse1").status_code == 403
