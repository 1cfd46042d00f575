"""Done-when of issue 19: /readyz answers 503 while PostgreSQL is stopped and 200 once it is back.

On a private cluster of the test's own (tests/reliability/private_postgres.py): the machine's cluster on 5432 serves
every other test at the same moment and is never stopped.
"""
import os

import pytest

from lims.extensions import db
from tests.conftest import _migrate, make_app
from tests.reliability.private_postgres import PrivatePostgres, unavailable_reason


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


def test_readyz_is_503_while_postgresql_is_stopped_and_200_when_it_is_back(private_postgres):
    url = private_postgres.create_database("lims")
    _migrate(url)
    app = make_app(url)
    client = app.test_client()
    try:
        assert client.get("/readyz").status_code == 200  # the pool now holds a connection to the running server

        private_postgres.stop()  # immediate: the pooled connection is dead, as after a crash
        stopped = [client.get("/readyz") for _ in range(2)]
        assert [r.status_code for r in stopped] == [503, 503]
        assert stopped[0].get_json() == {"status": "unavailable", "database": "unreachable"}
        assert client.get("/healthz").status_code == 200  # alive all along: nothing to restart

        private_postgres.start()
        back = client.get("/readyz")  # the first probe after the restart: the pool replaced its dead connection
        assert (back.status_code, back.get_json()["migrations"]) == (200, "at head")
    finally:
        with app.app_context():
            db.engine.dispose()
