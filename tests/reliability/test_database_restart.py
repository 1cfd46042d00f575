"""SPEC §16: PostgreSQL restarted during a run of requests → the app reconnects and no accepted write is lost.

The database is a private cluster of this test's own (tests/reliability/private_postgres.py), crashed with
`pg_ctl stop -m immediate` and started again while a client keeps registering donors through a real HTTP server.
"""
import os
import threading
import time

import psycopg
import pytest

from lims.audit.services import verify_chain
from lims.extensions import db
from tests.concurrency import run_at_once
from tests.conftest import _migrate, make_app
from tests.reliability.private_postgres import PrivatePostgres, unavailable_reason
from tests.reliability.servers import http, werkzeug_server
from tests.support import ApiClient, Users

LIMIT_S = 45  # the whole run of requests, whatever happens


@pytest.fixture
def private_postgres():
    reason = unavailable_reason()
    if reason:
        if os.environ.get("LIMS_REQUIRE_PG") == "1":
            pytest.fail(f"LIMS_REQUIRE_PG=1 but a private PostgreSQL cannot be made: {reason}")
        pytest.skip(reason)
    cluster = PrivatePostgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


class DonorWriter(threading.Thread):
    """Registers donor after donor, recording when each request was sent and what came back."""

    def __init__(self, url, token):
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.results = []  # (sent_at, code, status, body)
        self.halt = threading.Event()

    def run(self):
        deadline = time.monotonic() + LIMIT_S
        n = 0
        while not self.halt.is_set() and time.monotonic() < deadline:
            n += 1
            code = f"D-R-{n:04d}"
            sent_at = time.monotonic()
            status, body = http("POST", self.url + "/api/v1/donors", {"code": code, "eligibility": "eligible"},
                                self.token)
            self.results.append((sent_at, code, status, body))
            time.sleep(0.02)

    def wait_for(self, condition, what):
        deadline = time.monotonic() + LIMIT_S
        while not condition(self.results):
            assert self.is_alive() and time.monotonic() < deadline, f"gave up waiting for {what}: {self.results[-5:]}"
            time.sleep(0.02)


def created(results):
    return [r for r in results if r[2] == 201]


def test_a_restarted_database_is_reconnected_and_no_accepted_write_is_lost(private_postgres):
    url = private_postgres.create_database("lims")
    _migrate(url)
    app = make_app(url)
    with app.app_context():
        token = ApiClient(app, Users.create()).token("tech")
        db.session.remove()

    with werkzeug_server(app) as base:
        writer = DonorWriter(base, token)
        writer.start()
        try:
            writer.wait_for(lambda rs: len(created(rs)) >= 10, "ten registrations before the crash")

            private_postgres.stop()
            crashed_at = time.monotonic()
            status, body = http("POST", base + "/api/v1/donors", {"code": "D-OUTAGE", "eligibility": "eligible"},
                                token)
            assert status == 503 and body["error"]["code"] == "database_unavailable", (status, body)
            writer.wait_for(lambda rs: sum(1 for r in rs if r[0] > crashed_at and r[2] == 503) >= 3,
                            "requests refused during the outage")

            private_postgres.start()
            restarted_at = time.monotonic()
            writer.wait_for(lambda rs: sum(1 for r in rs if r[0] > restarted_at and r[2] == 201) >= 10,
                            "ten registrations after the restart")
        finally:
            writer.halt.set()
            writer.join(LIMIT_S)

    results = writer.results
    assert {status for _, _, status, _ in results} <= {201, 503}, [r for r in results if r[2] not in (201, 503)]
    for _, _, status, body in results:
        if status == 503:  # a clear answer, never a 500: the client knows nothing was saved and may retry
            assert body["error"]["code"] == "database_unavailable", body
    after_restart = [r for r in results if r[0] > restarted_at]
    assert all(status == 201 for _, _, status, _ in after_restart), after_restart  # reconnected at once

    with psycopg.connect(url) as conn:
        stored = {code: id_ for id_, code in conn.execute("SELECT id, code FROM donors")}
    accepted = {code: body["id"] for _, code, status, body in created(results)}
    missing = {code: id_ for code, id_ in accepted.items() if stored.get(code) != id_}
    assert not missing, f"accepted (201) but lost in the crash: {missing}"
    assert "D-OUTAGE" not in stored
    with app.app_context():
        chain = verify_chain()
        assert chain["ok"], chain
        db.session.remove()
        db.engine.dispose()


def test_a_restart_between_requests_goes_unnoticed_by_the_next_request(private_postgres):
    url = private_postgres.create_database("lims")
    _migrate(url)
    app = make_app(url)
    with app.app_context():
        token = ApiClient(app, Users.create()).token("tech")
        db.session.remove()

    with werkzeug_server(app) as base:
        def register(code):
            return lambda: http("POST", base + "/api/v1/donors", {"code": code, "eligibility": "eligible"}, token)

        warm = run_at_once(register("D-1"), register("D-2"), register("D-3"))
        assert [status for status, _ in warm] == [201] * 3  # the pool now holds connections to the doomed server

        private_postgres.stop()
        private_postgres.start()
        # Every pooled connection is dead; the pool notices at checkout, so no request sees it.
        after = [register(f"D-{n}")() for n in range(4, 8)]
    assert [status for status, _ in after] == [201] * 4, after
    with app.app_context():
        db.engine.dispose()
