"""Accounts of SPEC §4: usernames unique whatever their case, the password rules, and an admin with no operational
role, the same through the API, the Users page and `flask users create`, with nothing written when refused."""
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lims.audit.models import AuditEntry
from lims.auth.models import User, UserRole
from lims.auth.passwords import password_problem
from lims.demo.cli import DEMO_PASSWORD
from lims.extensions import db
from tests.support import PASSWORD, page_text, signed_in


def _rows():
    db.session.rollback()
    return (db.session.scalar(select(func.count()).select_from(User)),
            db.session.scalar(select(func.count()).select_from(UserRole)),
            db.session.scalar(select(func.count()).select_from(AuditEntry)))


def _new_user(api, username="nurse9", password="Night-shift-2026!", roles=("nurse",)):  # noqa: S107 (a test account)
    return api.post("/users", {"username": username, "full_name": "Nia Ninth", "roles": list(roles),
                               "password": password}, as_="admin")


# --- usernames --------------------------------------------------------------------------------------------------

def test_a_username_differing_only_in_case_is_taken(api):
    before = _rows()
    r = _new_user(api, username="NURSE1")
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "username_taken" and "username" in r.get_json()["error"]["fields"]
    assert _rows() == before


def test_sign_in_finds_the_account_whatever_the_case_typed(api):
    r = api.client.post("/api/v1/auth/token", json={"username": "Nurse1", "password": PASSWORD})
    assert r.status_code == 200
    r = api.client.get("/api/v1/studies", headers={"Authorization": f"Bearer {r.get_json()['token']}"})
    assert r.status_code == 200


def test_a_page_sign_in_in_capitals_is_the_same_account(app, users):
    assert "Nurse1 Person" in page_text(signed_in(app, "NURSE1").get("/"))


def test_the_database_refuses_a_second_username_differing_in_case(app, users):
    db.session.add(User(username="Tech", full_name="Other", password_hash="x"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalars(select(User.username).where(func.lower(User.username) == "tech")).all() == ["tech"]


# --- passwords ----------------------------------------------------------------------------------------------------

WEAK = [("Short-pw-1", "at least 12 characters"), ("Eleven-char", "at least 12 characters"),
        ("aaaaaaaaaaaaaa", "one character repeated"), ("abcdefghijklmn", "common sequence"),
        ("1234567890123", "common sequence"), ("qwertyuiopasdf", "common sequence"),
        ("passwordpassword", "short pattern repeated"), ("q1w2e3r4t5y6", "commonly used password"),
        ("Password2026!", "commonly used password"), ("Iloveyou-123456", "commonly used password")]


@pytest.mark.parametrize(("password", "why"), WEAK)
def test_a_weak_password_is_refused_naming_the_field(api, password, why):
    before = _rows()
    r = _new_user(api, password=password)
    assert r.status_code == 422
    assert why in " ".join(r.get_json()["error"]["fields"]["password"])
    assert _rows() == before


def test_a_password_that_is_the_username_is_refused(api):
    before = _rows()
    r = _new_user(api, username="night.shift.nurse", password="Night.Shift.Nurse")
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"]["password"] == ["must not be the username"]
    assert _rows() == before


def test_the_passwords_of_the_demo_the_tests_and_the_contract_smoke_pass_the_rules():
    for username, password in (("admin", DEMO_PASSWORD), ("tech", PASSWORD), ("smoke-admin", "Smoke-admin-pw-2026!"),
                               ("smoke-nurse2-a1b2c3", "Smoke-smoke-nurse2-a1b2c3-pw-2026!")):
        assert password_problem(password, username) is None, password


def test_the_users_page_refuses_a_weak_password_with_the_rule(app, users):
    before = _rows()
    r = signed_in(app, "admin").post("/users/new", {"username": "nurse9", "full_name": "Nia Ninth",
                                                    "roles[]": ["nurse"], "password": "abcdefghijklmnop"})
    assert r.status_code == 422
    assert "must not be a common sequence" in page_text(r)
    assert _rows() == before


def test_the_command_line_refuses_a_weak_password(app, users):
    before = _rows()
    result = app.test_cli_runner().invoke(args=["users", "create", "--username", "nurse9", "--full-name", "Nia",
                                                "--role", "nurse", "--password-stdin"], input="aaaaaaaaaaaaaaaa\n")
    assert result.exit_code != 0 and "password: must not be one character repeated" in result.output
    assert _rows() == before


# --- an admin holds no operational role ----------------------------------------------------------------------------

def test_an_admin_account_with_an_operational_role_is_refused(api):
    before = _rows()
    r = _new_user(api, username="admin2", roles=["admin", "qa"])
    assert r.status_code == 422
    assert "holds no operational role" in r.get_json()["error"]["fields"]["roles"][0]
    assert _rows() == before


def test_the_users_page_refuses_an_admin_with_an_operational_role(app, users):
    before = _rows()
    r = signed_in(app, "admin").post("/users/new", {"username": "admin2", "full_name": "Ada Second",
                                                    "roles[]": ["admin", "pharmacist"],
                                                    "password": "Night-shift-2026!"})
    assert r.status_code == 422 and "holds no operational role" in page_text(r)
    assert _rows() == before


def test_the_command_line_refuses_an_admin_with_an_operational_role(app, users):
    before = _rows()
    result = app.test_cli_runner().invoke(args=["users", "create", "--username", "admin2", "--full-name", "Ada",
                                                "--role", "admin", "--role", "qa", "--password-stdin"],
                                          input="Night-shift-2026!\n")
    assert result.exit_code != 0 and "roles: an admin account holds no operational role" in result.output
    assert _rows() == before


def test_the_database_refuses_an_operational_role_added_to_an_admin_later(app, users):
    admin_id = db.session.scalar(select(User.id).where(User.username == "admin"))
    db.session.add(UserRole(user_id=admin_id, role="qa"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalars(select(UserRole.role).where(UserRole.user_id == admin_id)).all() == ["admin"]


def test_the_database_refuses_admin_added_to_an_operational_account(app, users):
    qa_id = db.session.scalar(select(User.id).where(User.username == "qa"))
    db.session.add(UserRole(user_id=qa_id, role="admin"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalars(select(UserRole.role).where(UserRole.user_id == qa_id)).all() == ["qa"]


def test_the_database_refuses_turning_an_operational_role_into_admin_beside_another(app, users):
    db.session.rollback()
    from lims.auth import services
    services.create_user("multi", "Mia Multi", ["qa", "technician"], PASSWORD)
    multi_id = db.session.scalar(select(User.id).where(User.username == "multi"))
    with pytest.raises(IntegrityError):
        db.session.execute(db.update(UserRole).where(UserRole.user_id == multi_id, UserRole.role == "qa")
                           .values(role="admin"))
    db.session.rollback()
    assert db.session.scalars(select(UserRole.role).where(UserRole.user_id == multi_id)
                              .order_by(UserRole.role)).all() == ["qa", "technician"]


def test_the_demo_admin_holds_only_the_admin_role(app):
    assert app.test_cli_runner().invoke(args=["demo", "load"]).exit_code == 0
    admins = db.session.scalars(select(User).join(UserRole).where(UserRole.role == "admin")).all()
    assert [(u.username, u.roles) for u in admins] == [("admin", ["admin"])]
