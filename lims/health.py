"""Probes for a load balancer or an orchestrator: public, cheap, and they show no data.

/healthz (liveness): the process answers; it touches nothing, so a database outage never gets a healthy worker
restarted. /readyz (readiness): this instance can serve, i.e. its database answers and carries the schema this code
expects (Alembic's head); else 503, and the balancer sends the ward's requests to an instance that can.
"""
import contextlib
import functools
import logging
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import Blueprint, jsonify

from lims.auth.access import public
from lims.extensions import db
from lims.observability import note_refusal

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@functools.cache
def expected_revisions():
    """The heads of the migration scripts shipped with this code (read from disk once per process)."""
    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


def database_revisions(connection):
    """The revisions the database is stamped with (none before `db upgrade`)."""
    cursor = connection.cursor()
    try:
        cursor.execute("SELECT version_num FROM alembic_version")
        return frozenset(row[0] for row in cursor.fetchall())
    except Exception:  # no alembic_version table: the schema was never created here
        return frozenset()
    finally:
        with contextlib.suppress(Exception):  # a connection the database dropped mid-probe: the pool discards it
            connection.rollback()


def _probe_answer(status, **checks):
    response = jsonify({"status": "ok" if status == 200 else "unavailable", **checks})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/healthz")
@public
def healthz():
    return _probe_answer(200)


@bp.route("/readyz")
@public
def readyz():
    # A raw pool connection, not the session: on SQLite the session begins IMMEDIATE (the write lock), and a probe
    # must never queue behind, or hold up, a ward's write. The pool's pre-ping replaces a connection the database
    # dropped, so the first probe after a restart already answers 200.
    try:
        connection = db.engine.raw_connection()
    except Exception as e:  # whatever stops us reaching the database means: not ready
        log.warning("readiness: database not reachable: %s", e)
        note_refusal(503, "not_ready", "the database is not reachable")
        return _probe_answer(503, database="unreachable")
    try:
        found = database_revisions(connection)
    finally:
        connection.close()
    expected = expected_revisions()
    if found != expected:
        log.warning("readiness: database at %s, code expects %s", sorted(found), sorted(expected))
        note_refusal(503, "not_ready", "the database's schema is not at this code's migration head")
        return _probe_answer(503, database="reachable", migrations="not at head",
                             database_revision=sorted(found), expected_revision=sorted(expected))
    return _probe_answer(200, database="reachable", migrations="at head")
