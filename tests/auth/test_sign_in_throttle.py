"""Equal time and the sign-in throttle of SPEC §4: an unknown username is checked against a hash of the same
parameters, and one client address that fails too often is refused (429) without touching any account."""
import datetime as dt
import json

from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import func, select

from lims.audit.models import AuditEntry
from lims.auth import services
from lims.auth.models import SignInThrottle, User
from lims.extensions import db
from tests.conftest import make_app
from tests.support import PASSWORD, PageClient


def _sign_in(client, username, password, address="10.0.0.7"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def _failed_attempts(username):
    db.session.expire_all()
    return db.session.scalar(select(User.failed_attempts).where(User.username == username))


def _audit_count():
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def test_an_unknown_username_is_checked_against_a_hash_of_the_same_parameters(app, users, monkeypatch):
    checked = []
    real_verify = PasswordHasher.verify
    monkeypatch.setattr(PasswordHasher, "verify", lambda self, h, p: checked.append(h) or real_verify(self, h, p))
    assert _sign_in(app.test_client(), "nobody-here", "Wrong-password-1").status_code == 401
    assert _sign_in(app.test_client(), "tech", "Wrong-password-1").status_code == 401
    unknown, known = checked
    assert unknown != known
    assert extract_parameters(unknown) == extract_parameters(known)


def test_one_users_typos_on_a_shared_ward_pc_leave_the_other_users_signing_in(app, users):
    client = app.test_client()  # the defaults: 10 failures of one username per address, 100 of all usernames
    for attempt in range(10):
        assert _sign_in(client, "nurse1", f"Wrong-password-{attempt}").status_code == 401
    r = _sign_in(client, "nurse1", PASSWORD)
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "too_many_sign_ins"
    assert "other users can sign in here" in r.get_json()["error"]["message"]
    assert _sign_in(client, "NURSE2", PASSWORD).status_code == 200  # same PC, another user


def test_a_username_past_its_failures_from_one_address_gets_429_there_only(app, users):
    app.config["LIMS_SIGN_IN_THROTTLE_FAILURES"] = 3
    client = app.test_client()
    for username in ("nurse1", "NURSE1", "Nurse1"):  # one username, whatever its case
        assert _sign_in(client, username, "Wrong-password-1").status_code == 401
    before = _audit_count()
    r = _sign_in(client, "nurse1", PASSWORD)  # even the right password: refused before it is checked
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert _failed_attempts("nurse1") == 3 and _audit_count() == before
    assert _sign_in(client, "nurse2", PASSWORD).status_code == 200
    assert _sign_in(client, "nurse1", PASSWORD, address="10.0.0.8").status_code == 200  # another address


def test_an_address_past_its_failures_for_all_usernames_gets_429_without_touching_the_accounts(app, users):
    app.config["LIMS_SIGN_IN_THROTTLE_ADDRESS_FAILURES"] = 3
    client = app.test_client()
    for username in ("nurse1", "nurse2", "no-such-user"):
        assert _sign_in(client, username, "Wrong-password-1").status_code == 401
    before = _audit_count()
    r = _sign_in(client, "pharm1", PASSWORD)  # a username that never failed: the address is refused first
    assert r.status_code == 429
    assert r.get_json()["error"]["code"] == "too_many_sign_ins" and int(r.headers["Retry-After"]) > 0
    assert "from this computer" in r.get_json()["error"]["message"]
    assert _sign_in(client, "pharm2", "Wrong-password-1").status_code == 429
    assert (_failed_attempts("nurse1"), _failed_attempts("pharm2")) == (1, 0)
    assert _audit_count() == before
    assert _sign_in(client, "pharm1", PASSWORD, address="10.0.0.8").status_code == 200  # another address


def test_the_throttle_ends_with_its_window(app, users):
    app.config["LIMS_SIGN_IN_THROTTLE_FAILURES"] = 2
    client = app.test_client()
    for _ in range(2):
        _sign_in(client, "nurse1", "Wrong-password-1")
    assert _sign_in(client, "nurse1", PASSWORD).status_code == 429
    db.session.execute(db.update(SignInThrottle).values(
        window_started_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=16)))
    db.session.commit()
    assert _sign_in(client, "nurse1", PASSWORD).status_code == 200


def test_one_anonymous_client_cannot_lock_a_wards_accounts(app, users):
    app.config["LIMS_SIGN_IN_THROTTLE_ADDRESS_FAILURES"] = 10  # the default is 100: 5 per account lock 20 accounts
    client = app.test_client()
    for username in ("nurse1", "nurse2", "pharm1", "pharm2"):
        for attempt in range(5):
            _sign_in(client, username, f"Wrong-password-{attempt}")
    db.session.expire_all()
    locked = {u.username for u in db.session.scalars(select(User)) if services.is_locked(u)}
    assert locked == {"nurse1", "nurse2"}
    assert (_failed_attempts("pharm1"), _failed_attempts("pharm2")) == (0, 0)
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "security.sign_in_throttled")).all()
    assert [(r.actor, r.entity_id) for r in rows] == [("anonymous", "10.0.0.7")]
    assert "username" not in json.loads(rows[0].after)  # the address's event, for all usernames


def test_failures_are_counted_in_the_database_across_app_instances(app, users):
    app.config["LIMS_SIGN_IN_THROTTLE_FAILURES"] = 2
    other = make_app(app.database.url, LIMS_SIGN_IN_THROTTLE_FAILURES=2)
    _sign_in(app.test_client(), "nurse1", "Wrong-password-1")
    with other.app_context():
        _sign_in(other.test_client(), "nurse1", "Wrong-password-1")
        db.session.remove()
        db.engine.dispose()
    assert _sign_in(app.test_client(), "nurse1", PASSWORD).status_code == 429


def test_the_sign_in_page_says_the_address_is_throttled(app, users):
    app.config["LIMS_SIGN_IN_THROTTLE_FAILURES"] = 1
    page = PageClient(app)
    page._token_from("/login")
    assert page.post("/login", {"username": "tech", "password": "Wrong-password-1"}).status_code == 401
    r = page.post("/login", {"username": "tech", "password": PASSWORD})
    assert r.status_code == 429 and "too many failed sign-ins as tech from this computer" in r.get_data(as_text=True)
