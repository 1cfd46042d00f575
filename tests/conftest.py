"""Every database test runs twice: on SQLite and on a real PostgreSQL (the `database` fixture's two params).

Each test gets a fresh database cloned from a migrated template (a file copy on SQLite, CREATE DATABASE ... TEMPLATE
on PostgreSQL), so tests see exactly what `flask db upgrade` builds and never each other's rows.
PostgreSQL comes from LIMS_TEST_PG_URL (an account allowed to create databases), which the README's test command
sets after starting the server; without it the PostgreSQL half is skipped, unless LIMS_REQUIRE_PG=1 (CI), where a
missing PostgreSQL is an error rather than a silent skip.
"""
import os
import shutil
import uuid

import psycopg
import pytest
from flask_migrate import upgrade

import config
from lims import create_app
from lims.extensions import db
from tests.support import ApiClient, Users

PG_URL = os.environ.get("LIMS_TEST_PG_URL")
REQUIRE_PG = os.environ.get("LIMS_REQUIRE_PG") == "1"
FAST_HASH = {"LIMS_ARGON2_MEMORY_KIB": 1024, "LIMS_ARGON2_TIME_COST": 1}  # memory-hard, but quick for tests


def make_app(url, **overrides):
    return create_app(config.TestConfig, DATABASE_URL=url, **FAST_HASH, **overrides)


def _migrate(url):
    app = make_app(url)
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _pg_admin():
    return psycopg.connect(PG_URL, autocommit=True)


def _pg_url(name):
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template():
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("LIMS_REQUIRE_PG=1 but LIMS_TEST_PG_URL is not set: PostgreSQL tests cannot run")
        pytest.skip("PostgreSQL not configured (set LIMS_TEST_PG_URL; the README's test command does)")
    name = f"lims_tpl_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    _migrate(_pg_url(name))
    yield name
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Database:
    def __init__(self, kind, url, cleanup):
        self.kind, self.url, self._cleanup = kind, url, cleanup

    @property
    def is_postgresql(self):
        return self.kind == "postgresql"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "lims.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield Database("sqlite", f"sqlite:///{path}", None)
        return
    template = request.getfixturevalue("pg_template")
    name = f"lims_t_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield Database("postgresql", _pg_url(name), name)
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgresql_database(request, tmp_path):
    """For the races and faults only PostgreSQL can show (SPEC §16)."""
    template = request.getfixturevalue("pg_template")
    name = f"lims_t_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield Database("postgresql", _pg_url(name), name)
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def app(database):
    app = make_app(database.url)
    app.database = database
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def users(app):
    """One user per role (and a second pharmacist, nurse and QA for the two-person rules)."""
    return Users.create()


@pytest.fixture
def api(app, users):
    return ApiClient(app, users)
