"""`flask --app wsgi db backup --out FILE` and `db restore --from FILE`, on SQLite and PostgreSQL: a backup taken
while the app serves writes restores into a fresh database whose audit chain verifies and whose lots read back."""
import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
from sqlalchemy import select

from lims.extensions import db
from lims.lots.models import Donor
from tests.conftest import _pg_admin, _pg_url, make_app
from tests.reliability.servers import PROJECT, http, werkzeug_server
from tests.support import released_lot

LIMIT_S = 60


def flask_cli(url, *args):
    env = {**os.environ, "DATABASE_URL": url, "LIMS_SECRET_KEY": "test-backup"}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture
def fresh_database(database, tmp_path):
    """A new, empty database of the same kind as `database`: where a backup is restored."""
    if not database.is_postgresql:
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"lims_r_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _pg_url(name)
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class DonorWriter(threading.Thread):
    """Registers donors one after another through the served app; each one writes an audit row too."""

    def __init__(self, url, token):
        super().__init__(daemon=True)
        self.url, self.token, self.created, self.refused = url, token, [], []
        self.halt = threading.Event()

    def run(self):
        deadline, n = time.monotonic() + LIMIT_S, 0
        while not self.halt.is_set() and time.monotonic() < deadline:
            n += 1
            status, body = http("POST", self.url + "/api/v1/donors", {"code": f"D-B-{n:05d}",
                                                                      "eligibility": "eligible"}, self.token)
            (self.created if status == 201 else self.refused).append((time.monotonic(), f"D-B-{n:05d}", body))

    def wait_for(self, count):
        deadline = time.monotonic() + LIMIT_S
        while len(self.created) < count:
            assert self.is_alive() and time.monotonic() < deadline, f"writer stalled: {self.refused[-3:]}"
            time.sleep(0.02)


def test_a_backup_taken_while_the_app_serves_restores_to_a_database_that_verifies(app, api, database,
                                                                                   fresh_database, tmp_path):
    lot = released_lot(api)
    tech, qa = api.token("tech"), api.token("qa")
    db.session.remove()
    backup = tmp_path / ("lims.backup" if database.is_postgresql else "lims.db.backup")

    with werkzeug_server(app) as base:
        writer = DonorWriter(base, tech)
        writer.start()
        writer.wait_for(5)
        started = time.monotonic()
        made = flask_cli(database.url, "db", "backup", "--out", str(backup))
        writer.wait_for(len(writer.created) + 5)  # the app went on serving writes after the backup
        writer.halt.set()
        writer.join(LIMIT_S)
    assert made.returncode == 0, made.stderr
    assert f"backup written: {backup}" in made.stdout
    assert not writer.refused, writer.refused[:3]

    restored = flask_cli(fresh_database, "db", "restore", "--from", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert "audit chain intact" in restored.stdout
    verified = flask_cli(fresh_database, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("audit chain intact: ")

    copy = make_app(fresh_database)
    with copy.app_context():
        # The restored database serves: the token issued before the backup is honoured, the lot reads back.
        read = copy.test_client().get(f"/api/v1/lots/{lot['id']}", headers={"Authorization": f"Bearer {qa}"})
        donors = set(db.session.scalars(select(Donor.code).where(Donor.code.like("D-B-%"))))
        db.session.remove()
        db.engine.dispose()
    assert read.status_code == 200
    assert {k: read.get_json()[k] for k in ("din", "status")} == {"din": lot["din"], "status": "released"}
    # A snapshot: every donor created before the backup began is in it, and nothing the writer never created.
    created = [code for _, code, _ in writer.created]
    assert {code for at, code, _ in writer.created if at < started} <= donors <= set(created)
    assert len(donors) < len(created)  # the writes after the backup are not in it


def test_restore_refuses_a_database_that_is_not_empty(database, tmp_path):
    backup = tmp_path / "lims.backup"
    assert flask_cli(database.url, "db", "backup", "--out", str(backup)).returncode == 0
    refused = flask_cli(database.url, "db", "restore", "--from", str(backup))
    assert refused.returncode != 0
    assert "the target database is not empty" in refused.stderr


def test_restore_refuses_a_backup_of_the_other_kind_of_database(database, tmp_path, fresh_database):
    wrong = tmp_path / "wrong.backup"
    wrong.write_bytes(b"PGDMP" if not database.is_postgresql else b"SQLite format 3\x00" + bytes(100))
    refused = flask_cli(fresh_database, "db", "restore", "--from", str(wrong))
    assert refused.returncode != 0
    assert "backup and DATABASE_URL names a" in refused.stderr
