from sqlalchemy import func, select

from lims.audit.models import AuditEntry
from lims.auth.models import Signature, User
from lims.extensions import db
from tests.support import PASSWORD, make_product, make_lot, record_qc


def test_missing_role_is_403_with_reason(api):
    r = api.post("/donors", {"code": "D-1", "eligibility": "eligible"}, as_="nurse1")
    assert r.status_code == 403
    assert r.get_json()["error"]["code"] == "role_required" and "technician" in r.get_json()["error"]["message"]


def test_admin_creates_user_and_new_user_signs_in(api):
    r = api.post("/users", {"username": "pharm9", "full_name": "Pat Ninth", "roles": ["pharmacist"],
                            "password": "Another-pw-2026"}, as_="admin")
    assert r.status_code == 201
    assert r.get_json()["roles"] == ["pharmacist"] and r.get_json()["username"] == "pharm9"
    stored = db.session.scalar(select(User).where(User.username == "pharm9"))
    assert stored.password_hash.startswith("$argon2id$") and "Another-pw-2026" not in stored.password_hash
    r = api.client.post("/api/v1/auth/token", json={"username": "pharm9", "password": "Another-pw-2026"})
    assert r.status_code == 200


def test_five_failed_entries_lock_the_account(api):
    for attempt in range(5):
        r = api.client.post("/api/v1/auth/token", json={"username": "tech", "password": f"wrong-{attempt}"})
        assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "account_locked"
    r = api.client.post("/api/v1/auth/token", json={"username": "tech", "password": PASSWORD})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "account_locked"


def test_success_resets_the_failure_count(api):
    for attempt in range(4):
        api.client.post("/api/v1/auth/token", json={"username": "tech", "password": f"wrong-{attempt}"})
    assert api.client.post("/api/v1/auth/token", json={"username": "tech", "password": PASSWORD}).status_code == 200
    for attempt in range(4):
        api.client.post("/api/v1/auth/token", json={"username": "tech", "password": f"wrong-{attempt}"})
    assert api.client.post("/api/v1/auth/token", json={"username": "tech", "password": PASSWORD}).status_code == 200


def test_wrong_signature_password_is_401_and_records_only_the_attempt(api):
    make_product(api)
    lot = make_lot(api)
    record_qc(api, lot["id"])
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    r = api.post(f"/lots/{lot['id']}/release", {"signature": {"password": "not-mine"}}, as_="qa")
    assert r.status_code == 401
    db.session.expire_all()
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.seq > before)).all()
    assert actions == ["security.signature_refused"]
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 0
    assert api.get(f"/lots/{lot['id']}", as_="qa").get_json()["status"] == "quarantine"


def test_signature_failures_count_toward_lockout(api):
    make_product(api)
    lot = make_lot(api)
    for _ in range(5):
        r = api.post(f"/lots/{lot['id']}/release", {"signature": {"password": "not-mine"}}, as_="qa")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "account_locked"


def test_malformed_json_is_400(api):
    r = api.client.post("/api/v1/donors", data="{not json", content_type="application/json",
                        headers={"Authorization": f"Bearer {api.token('tech')}"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "malformed_request"


def test_wrong_content_type_is_400(api):
    r = api.client.post("/api/v1/donors", data="code=D-1", content_type="application/x-www-form-urlencoded",
                        headers={"Authorization": f"Bearer {api.token('tech')}"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "unsupported_content_type"


def test_unknown_field_is_422_naming_it(api):
    r = api.post("/donors", {"code": "D-1", "eligibility": "eligible", "colour": "red"}, as_="tech")
    assert r.status_code == 422 and "colour" in r.get_json()["error"]["fields"]


def test_unknown_route_is_json_404(api):
    r = api.get("/nothing-here", as_="tech")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_openapi_is_public_and_lists_the_contract_routes(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.get_json()["paths"]
    for path in ("/api/v1/auth/token", "/api/v1/lots", "/api/v1/doses/{dose_id}/prepare", "/api/v1/bedside/verify",
                 "/api/v1/bags/{code}/infusion", "/api/v1/audit/verify"):
        assert path in paths
