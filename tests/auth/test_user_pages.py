"""The administrator's user page: accounts with their roles, a new account through the API's own schema, and the
end of a lockout with its reason on the audit trail."""
import json

from sqlalchemy import select

from lims.audit.models import AuditEntry
from lims.auth.models import User
from lims.extensions import db
from tests.support import PASSWORD, page_text, signed_in


def _lock_out(client_app, username, times=5):
    client = client_app.test_client()
    for _ in range(times):
        client.post("/api/v1/auth/token", json={"username": username, "password": "wrong-password-1"})


def _user(username):
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.username == username)).one()


def test_users_page_lists_every_account_with_its_roles(app, users):
    text = page_text(signed_in(app, "admin").get("/users"))
    assert "nurse1 Nurse1 Person nurse active" in text
    assert "pharm2 Pharm2 Person pharmacist active" in text


def test_an_account_created_on_the_page_can_sign_in(app, users):
    page = signed_in(app, "admin")
    r = page.post("/users/new", {"username": "nurse3", "full_name": "Noor Nurse", "roles[]": ["nurse"],
                                 "password": "Night-shift-2026!"})
    assert r.status_code == 302 and r.headers["Location"] == "/users"
    assert "Account nurse3 created for Noor Nurse (nurse)" in page_text(page.get("/users"))
    created = _user("nurse3")
    assert created.roles == ["nurse"] and created.password_hash != "Night-shift-2026!"
    r = app.test_client().post("/api/v1/auth/token", json={"username": "nurse3", "password": "Night-shift-2026!"})
    assert r.status_code == 200


def test_a_refused_account_keeps_what_was_typed_but_never_the_password(app, users):
    page = signed_in(app, "admin")
    r = page.post("/users/new", {"username": "nurse1", "full_name": "Second Nurse", "roles[]": ["nurse"],
                                 "password": "Night-shift-2026!"})
    assert r.status_code == 409
    markup = r.get_data(as_text=True)
    assert "username 'nurse1' is taken" in page_text(r)
    assert 'value="Second Nurse"' in markup and "Night-shift-2026!" not in markup
    assert 'value="nurse" checked' in markup


def test_an_account_needs_a_role_and_a_long_password(app, users):
    r = signed_in(app, "admin").post("/users/new", {"username": "x1", "full_name": "X", "password": "short"})
    assert r.status_code == 422
    text = page_text(r)
    assert "Roles" in text and "Password" in text
    assert db.session.scalar(select(User.id).where(User.username == "x1")) is None


def test_a_locked_account_is_shown_locked_and_unlocked_with_a_reason(app, users):
    _lock_out(app, "nurse1")
    page = signed_in(app, "admin")
    assert "nurse1 Nurse1 Person nurse locked until" in page_text(page.get("/users"))
    assert "Locked accounts (admin) Nurse1 Person (nurse1) locked after repeated" in page_text(page.get("/"))
    nurse1 = _user("nurse1")
    r = page.post(f"/users/{nurse1.id}/unlock", {"reason": "identity checked in person on the ward"})
    assert r.status_code == 302
    assert _user("nurse1").locked_until is None and _user("nurse1").failed_attempts == 0
    [row] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.unlocked")).all()
    assert (row.actor, row.entity_id, row.reason) == ("admin", str(nurse1.id), "identity checked in person on the ward")
    before = json.loads(row.before)
    assert before["failed_attempts"] == 0 and before["locked_until"] is not None  # what the lockout had set
    r = app.test_client().post("/api/v1/auth/token", json={"username": "nurse1", "password": PASSWORD})
    assert r.status_code == 200


def test_an_unlock_needs_a_reason_and_a_locked_account(app, users):
    _lock_out(app, "nurse1")
    page = signed_in(app, "admin")
    nurse1_id, nurse2_id = _user("nurse1").id, _user("nurse2").id
    assert page.post(f"/users/{nurse1_id}/unlock", {}).status_code == 422
    assert _user("nurse1").locked_until is not None
    r = page.post(f"/users/{nurse2_id}/unlock", {"reason": "asked to"})
    assert r.status_code == 409 and "nurse2 is not locked" in page_text(r)
    assert page.post("/users/987654/unlock", {"reason": "asked to"}).status_code == 404


def test_only_an_administrator_sees_the_users_page(app, users):
    assert signed_in(app, "qa").get("/users").status_code == 403
    assert signed_in(app, "nurse1").post("/users/new", {"username": "n9", "full_name": "N", "roles[]": ["admin"],
                                                        "password": "Night-shift-2026!"}).status_code == 403
