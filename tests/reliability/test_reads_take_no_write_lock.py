"""Issue 14: on SQLite a read no longer takes the write lock (a GET begins a deferred transaction, in WAL mode), so
one slow request cannot stall every other: a long write does not hold up a read, and a slow read does not hold up a
write. PostgreSQL's MVCC gives the same, and the tests hold there too."""
import sqlite3
import threading
import time

import pytest

from lims.extensions import db
from tests.conftest import make_app
from tests.support import PASSWORD, Users, make_donor


def _token(app, username):
    with app.app_context():
        r = app.test_client().post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        db.session.remove()
        return r.get_json()["token"]


@pytest.fixture
def two_apps(database):
    apps = [make_app(database.url), make_app(database.url)]
    with apps[0].app_context():
        Users.create()
        db.session.remove()
    yield apps
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_sqlite_runs_in_wal_mode(app, database):
    if database.is_postgresql:
        pytest.skip("WAL is SQLite's journal mode")
    assert db.session.connection().exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_read_is_answered_while_another_connection_holds_the_write_lock(api, database):
    donor = make_donor(api)
    token = api.token("tech")
    if database.is_postgresql:
        pytest.skip("the write lock at BEGIN is SQLite's; PostgreSQL locks rows")
    writer = sqlite3.connect(database.url[len("sqlite:///"):], isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE donors SET code = code WHERE id = ?", (donor["id"],))
        started = time.perf_counter()
        r = api.client.get("/api/v1/studies", headers={"Authorization": f"Bearer {token}"})
        waited = time.perf_counter() - started
    finally:
        writer.rollback()
        writer.close()
    assert r.status_code == 200, r.get_json()
    assert waited < 5, f"the read waited {waited:.1f} s for the write lock"


def test_a_slow_read_does_not_hold_up_a_write(two_apps, monkeypatch):
    reader_app, writer_app = two_apps
    tokens = [_token(reader_app, "tech"), _token(writer_app, "admin")]
    with writer_app.app_context():
        from lims.lots import services as lots
        lots.register_donor("D-SLOW", "eligible")
        db.session.remove()

    from lims.auth import services as auth
    reading, release = threading.Event(), threading.Event()
    original = auth.user_for_token

    def slow_user_for_token(token):
        user = original(token)  # the read's transaction has begun and read
        if token == tokens[0]:
            reading.set()
            release.wait(20)
        return user

    monkeypatch.setattr(auth, "user_for_token", slow_user_for_token)
    result = {}

    def read():
        with reader_app.app_context():
            r = reader_app.test_client().get("/api/v1/studies", headers={"Authorization": f"Bearer {tokens[0]}"})
            result["read"] = r.status_code
            db.session.remove()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    try:
        assert reading.wait(20), "the read never started"
        started = time.perf_counter()
        with writer_app.app_context():
            r = writer_app.test_client().post("/api/v1/products", json={
                "code": "S9999", "name": "itMSC", "post_thaw_stability": "4 h"},
                headers={"Authorization": f"Bearer {tokens[1]}"})
            db.session.remove()
        waited = time.perf_counter() - started
    finally:
        release.set()
        thread.join(20)
    assert r.status_code == 201, r.get_json()
    assert waited < 5, f"the write waited {waited:.1f} s behind a read"
    assert result["read"] == 200


def test_a_label_stations_get_that_counts_a_print_is_marked_as_a_write(app):
    for endpoint in ("labels.bag_label", "labels.bag_label_zpl"):
        assert app.view_functions[endpoint].writes_on_read, endpoint


def test_a_pages_label_print_is_a_post_and_never_a_get(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint == "labels_pages.print_bag_label"]
    assert rules and all("GET" not in rule.methods and "POST" in rule.methods for rule in rules)
