"""GET /healthz (liveness) and GET /readyz (database reachable, migrations at head): public, no data."""
import socket
import time

from sqlalchemy import text

from lims.extensions import db
from tests.conftest import make_app
from tests.reliability.servers import free_port

NOWHERE = f"postgresql://nobody@127.0.0.1:{free_port()}/lims"  # a port nothing listens on


def test_healthz_answers_while_the_database_is_unreachable():
    # Liveness: a worker is not restarted for an outage of the database, which restarting it would not cure.
    r = make_app(NOWHERE).test_client().get("/healthz")
    assert (r.status_code, r.get_json()) == (200, {"status": "ok"})


def test_readyz_is_503_while_the_database_is_unreachable():
    r = make_app(NOWHERE).test_client().get("/readyz")
    assert (r.status_code, r.get_json()) == (503, {"status": "unavailable", "database": "unreachable"})


def test_readyz_gives_up_on_a_database_host_that_never_answers():
    # A listener that completes the TCP handshake and then says nothing, as a host behind a dead link does: without
    # a connect timeout libpq would wait for ever and the balancer's probe with it.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgresql://nobody@127.0.0.1:{silent.getsockname()[1]}/lims"
        started = time.monotonic()
        r = make_app(url, LIMS_DB_CONNECT_TIMEOUT_SECONDS=1).test_client().get("/readyz")
        waited = time.monotonic() - started
    assert (r.status_code, r.get_json()["database"]) == (503, "unreachable")
    assert waited < 30, f"the probe waited {waited:.0f} s"  # libpq's own default is no limit at all


def test_readyz_is_200_on_a_migrated_database(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "database": "reachable", "migrations": "at head"}
    assert r.headers["Cache-Control"] == "no-store"


def test_readyz_is_503_when_the_database_is_behind_the_code(app, client):
    db.session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    db.session.commit()
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.get_json()
    assert (body["status"], body["migrations"], body["database_revision"]) == ("unavailable", "not at head", ["0001"])


def test_the_probes_need_no_sign_in_and_show_no_data(client, users):
    for path in ("/healthz", "/readyz"):
        r = client.get(path)
        assert r.status_code == 200
        assert set(r.get_json()) <= {"status", "database", "migrations"}
        assert "Set-Cookie" not in r.headers
