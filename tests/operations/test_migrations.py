"""The migration chain, walked generically (whatever revisions it holds): from an empty database it builds exactly
what the models describe, and each revision downgrades and upgrades again with a site's data in the database,
losing no row and leaving the audit chain intact."""
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from lims.audit.services import verify_chain
from lims.extensions import db
from lims.health import MIGRATIONS
from tests.conftest import _pg_admin, _pg_url, make_app

SCRIPTS = ScriptDirectory(str(MIGRATIONS))
CHAIN = [s.revision for s in reversed(list(SCRIPTS.walk_revisions()))]  # base first
[HEAD] = SCRIPTS.get_heads()


def test_the_chain_is_one_line_from_one_base_to_one_head():
    assert len(SCRIPTS.get_bases()) == 1 and len(SCRIPTS.get_heads()) == 1
    for older, newer in zip(CHAIN, CHAIN[1:], strict=False):
        assert SCRIPTS.get_revision(newer).down_revision == older


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_app(request, tmp_path):
    """An app on a database no migration has touched."""
    if request.param == "sqlite":
        url, name = f"sqlite:///{tmp_path / 'empty.db'}", None
    else:
        request.getfixturevalue("pg_template")  # skips, or fails under LIMS_REQUIRE_PG, without PostgreSQL
        name = f"lims_m_{uuid.uuid4().hex[:12]}"
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = _pg_url(name)
    app = make_app(url)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if name:
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Each read on a connection of its own, closed at once: on SQLite every transaction holds the write lock.
def _revision():
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_upgrade_from_empty_builds_what_the_models_describe(empty_app):
    assert inspect(db.engine).get_table_names() == []
    upgrade()
    assert _revision() == HEAD
    db.session.remove()
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                       db.metadata)
    assert differences == []


def _row_counts():
    with db.engine.connect() as connection:
        tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
        return {t: connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}


def test_each_revision_downgrades_and_upgrades_again_with_data_in_it(empty_app):
    upgrade()
    db.session.remove()
    loaded = empty_app.test_cli_runner().invoke(args=["demo", "load"])
    assert loaded.exit_code == 0, loaded.output
    db.session.remove()  # the command ran in this app context: its session ends here
    at_head = _row_counts()
    assert at_head["audit_log"] > 0 and at_head["lots"] > 0  # a site's data: lots, users, signatures, audit rows

    # Head first: each step down one revision, then back up to head. Not below the second revision: it seeds the
    # release specification every lot references, so a database with lots never stood before it (and its downgrade
    # rightly refuses to orphan them).
    for revision in reversed(CHAIN[2:]):
        previous = SCRIPTS.get_revision(revision).down_revision
        downgrade(revision=previous)
        db.session.remove()
        assert _revision() == previous
        kept = _row_counts()
        upgrade()
        db.session.remove()
        assert _revision() == HEAD
        after = _row_counts()
        # Every row the older schema held is still there after the upgrade from it.
        assert {t: after[t] for t in kept} == kept, f"upgrade {previous} → {HEAD} lost rows"
        assert {t: after[t] for t in at_head if t in kept} == {t: at_head[t] for t in at_head if t in kept}

    result = verify_chain()
    db.session.remove()
    assert (result["ok"], result["checked"]) == (True, at_head["audit_log"])
