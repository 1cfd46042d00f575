"""Sessions of SPEC §4: signing out ends the session on the server, an administrator's deactivation ends every
session and token of the account, a page session ends after the idle limit, and `DELETE /auth/token` revokes a
token; each is the database's answer, so a second app instance on the same database agrees."""
import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from lims.audit.models import AuditEntry
from lims.auth.models import ApiToken, User, UserSession
from lims.extensions import db
from tests.conftest import make_app
from tests.support import PASSWORD, PageClient, bedside, page_text, signed_in


def _cookie(page):
    return page.client.get_cookie("session").value


def _with_cookie(app, value):
    client = app.test_client()
    client.set_cookie("session", value)
    return client


def _user(username):
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.username == username)).one()


def _audit_count():
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def _last_seen(minutes_ago):
    db.session.execute(db.update(UserSession).values(
        last_seen_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes_ago)))
    db.session.commit()


# --- signing out ---------------------------------------------------------------------------------------------

def test_a_copied_session_cookie_is_dead_once_its_owner_signs_out(app, users):
    page = signed_in(app, "nurse1")
    copied = _cookie(page)
    assert _with_cookie(app, copied).get("/").status_code == 200  # the copy works while the session stands
    r = page.post("/logout")
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    r = _with_cookie(app, copied).get("/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    db.session.expire_all()
    assert db.session.scalars(select(UserSession.end_reason)).all() == ["signed_out"]


def test_signing_out_on_one_app_instance_ends_the_session_on_another(app, users):
    other = make_app(app.database.url)
    page = signed_in(app, "pharm1")
    copied = _cookie(page)
    with other.app_context():
        assert _with_cookie(other, copied).get("/").status_code == 200
    page.post("/logout")
    with other.app_context():
        assert _with_cookie(other, copied).get("/").status_code == 302
        db.session.remove()
        db.engine.dispose()


def test_a_cookie_of_an_ended_session_cannot_act(app, users):
    page = signed_in(app, "tech")
    copied = _cookie(page)
    token = page.csrf_token
    page.post("/logout")
    thief = _with_cookie(app, copied)
    r = thief.post("/lots/new", data={"csrf_token": token, "product_code": "S1234"})
    assert r.status_code in (400, 401)  # the CSRF token died with the session, and so did the user
    from lims.lots.models import Lot
    assert db.session.scalar(select(func.count()).select_from(Lot)) == 0


# --- the idle limit --------------------------------------------------------------------------------------------

def test_a_page_session_idle_past_the_limit_is_signed_out_and_told_why(app, users):
    page = signed_in(app, "nurse1")
    _last_seen(16)
    r = page.get("/ward")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert "signed out after 15 minutes without activity" in page_text(page.get(r.headers["Location"]))
    db.session.expire_all()
    assert db.session.scalars(select(UserSession.end_reason)).all() == ["idle"]
    _last_seen(0)  # an ended session stays ended, however recent its row
    assert page.get("/").status_code == 302


def test_a_session_used_within_the_limit_stands_and_is_kept_alive(app, users):
    page = signed_in(app, "nurse1")
    _last_seen(14)
    assert page.get("/").status_code == 200
    db.session.expire_all()
    seen = db.session.scalar(select(UserSession.last_seen_at))
    assert dt.datetime.now(dt.timezone.utc) - seen.replace(tzinfo=dt.timezone.utc) < dt.timedelta(minutes=1)


def test_the_idle_limit_is_a_setting(app, users):
    app.config["LIMS_SESSION_IDLE_MINUTES"] = 5
    page = signed_in(app, "nurse1")
    assert 'data-idle-sign-out="300"' in page.get("/").get_data(as_text=True)
    _last_seen(6)
    assert page.get("/").status_code == 302


def test_an_api_token_is_not_a_page_session(app, users, api):
    token = api.token("nurse1")
    _last_seen(60)
    assert api.client.get("/api/v1/studies", headers={"Authorization": f"Bearer {token}"}).status_code == 200


# --- DELETE /auth/token ----------------------------------------------------------------------------------------

def test_a_revoked_token_is_refused_from_then_on(api):
    token, other = api.token("pharm1"), api.token("pharm2")
    headers = {"Authorization": f"Bearer {token}"}
    r = api.client.delete("/api/v1/auth/token", headers=headers)
    assert r.status_code == 204 and r.get_data() == b""
    r = api.client.get("/api/v1/studies", headers=headers)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "invalid_token"
    assert api.client.delete("/api/v1/auth/token", headers=headers).status_code == 401
    assert api.client.get("/api/v1/studies", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_revoking_needs_a_token(api):
    r = api.client.delete("/api/v1/auth/token")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "not_authenticated"
    r = api.client.delete("/api/v1/auth/token", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "invalid_token"


def test_a_token_revoked_on_one_app_instance_is_refused_by_another(app, api):
    token = api.token("nurse1")
    api.client.delete("/api/v1/auth/token", headers={"Authorization": f"Bearer {token}"})
    other = make_app(app.database.url)
    with other.app_context():
        r = other.test_client().get("/api/v1/studies", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
        db.session.remove()
        db.engine.dispose()


# --- deactivation and reactivation ---------------------------------------------------------------------------

def test_deactivation_ends_the_accounts_sessions_and_tokens_and_is_audited(app, users, api):
    nurse = signed_in(app, "nurse1")
    token = api.token("nurse1")
    nurse1_id = _user("nurse1").id
    r = signed_in(app, "admin").post(f"/users/{nurse1_id}/deactivate", {"reason": "left the unit on 1 December"})
    assert r.status_code == 302
    assert nurse.get("/").status_code == 302
    r = api.client.get("/api/v1/studies", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    db.session.expire_all()
    assert db.session.scalars(select(ApiToken.revoked).where(ApiToken.user_id == nurse1_id)).all() == [True]
    assert db.session.scalars(select(UserSession.end_reason).where(UserSession.user_id == nurse1_id)).all() \
        == ["deactivated"]
    [row] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.deactivated")).all()
    assert (row.actor, row.entity_id, row.reason) == ("admin", str(nurse1_id), "left the unit on 1 December")
    assert json.loads(row.after) == {"active": False, "sessions_ended": 1, "tokens_revoked": 1}


def test_a_deactivated_user_cannot_sign_in(app, users):
    admin = signed_in(app, "admin")
    admin.post(f"/users/{_user('nurse1').id}/deactivate", {"reason": "left the unit"})
    r = app.test_client().post("/api/v1/auth/token", json={"username": "nurse1", "password": PASSWORD})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "account_inactive"
    page = PageClient(app)
    page._token_from("/login")
    assert page.post("/login", {"username": "nurse1", "password": PASSWORD}).status_code == 401


def test_a_deactivated_nurse_cannot_sign_as_witness(app, users, api):
    from tests.support import enrol, make_study, received_bag, released_lot
    lot = released_lot(api)
    subject = enrol(api, make_study(api)["id"])
    bag = received_bag(api, subject["id"], lot["id"])
    signed_in(app, "admin").post(f"/users/{_user('nurse2').id}/deactivate", {"reason": "on leave"})
    r = bedside(api, bag["scan"], subject["wristband"], witness="nurse2")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "account_inactive"


def test_deactivation_needs_a_reason_and_writes_nothing_without_one(app, users):
    before = _audit_count()
    r = signed_in(app, "admin").post(f"/users/{_user('nurse1').id}/deactivate", {})
    assert r.status_code == 422 and "Reason" in page_text(r)
    assert _user("nurse1").active and _audit_count() == before + 0


def test_an_administrator_cannot_deactivate_their_own_account(app, users):
    r = signed_in(app, "admin").post(f"/users/{_user('admin').id}/deactivate", {"reason": "testing"})
    assert r.status_code == 409 and "cannot deactivate your own account" in page_text(r)
    assert _user("admin").active


def test_only_an_administrator_deactivates(app, users):
    assert signed_in(app, "qa").post(f"/users/{_user('nurse1').id}/deactivate",
                                     {"reason": "x"}).status_code == 403
    assert _user("nurse1").active


def test_a_reactivated_user_signs_in_again_and_it_is_audited(app, users):
    admin = signed_in(app, "admin")
    nurse1_id = _user("nurse1").id
    admin.post(f"/users/{nurse1_id}/deactivate", {"reason": "on leave"})
    assert "nurse1 Nurse1 Person nurse deactivated" in page_text(admin.get("/users"))
    r = admin.post(f"/users/{nurse1_id}/reactivate", {"reason": "back from leave"})
    assert r.status_code == 302
    assert app.test_client().post("/api/v1/auth/token",
                                  json={"username": "nurse1", "password": PASSWORD}).status_code == 200
    [row] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.reactivated")).all()
    assert (row.actor, row.reason) == ("admin", "back from leave")
    r = admin.post(f"/users/{nurse1_id}/reactivate", {"reason": "again"})
    assert r.status_code == 409


# --- where sign-in leads -------------------------------------------------------------------------------------

def _sign_in_with_next(app, next_value):
    page = PageClient(app)
    page._token_from("/login")
    from urllib.parse import quote
    return page.post("/login?next=" + quote(next_value, safe=""), {"username": "tech", "password": PASSWORD})


@pytest.mark.parametrize("target", ["//evil.example", "/\t/evil.example", "/%09/evil.example", "/\n/evil.example",
                                    "/\\evil.example", "/%5C%5Cevil.example", "https://evil.example/",
                                    "javascript:alert(1)", "/%2F/evil.example", "/%252F%252Fevil.example",
                                    "evil.example", "/\x00/x", " //evil.example"])
def test_sign_in_never_follows_next_off_the_site(app, users, target):
    r = _sign_in_with_next(app, target)
    assert r.status_code == 302 and r.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/lots", "/lots/1?tab=qc", "/studies/1/cohorts/Tier 1/review"])
def test_sign_in_follows_next_to_a_path_on_the_site(app, users, target):
    from urllib.parse import quote
    r = _sign_in_with_next(app, target)
    assert r.status_code == 302 and r.headers["Location"] in (target, quote(target, safe="/?=&"))
