"""SPEC §16: a database error in the middle of an operation leaves no partial rows and an intact audit chain.

The fault is real at the driver: when the service reaches the named statement, the statement sent is swapped for
one the database refuses. On PostgreSQL the connection terminates itself (what a crashed or restarted server does
to a client); on SQLite the driver raises its OperationalError. Everything the operation had already flushed in its
transaction must vanish with it, and the client is told plainly that nothing was saved.
"""
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from lims.audit.services import verify_chain
from lims.extensions import db
from tests.support import (bedside, enrol, expansion_study, make_donor, make_product, planned_dose, received_bag,
                           released_lot, sig)

FAULT = {"postgresql": "SELECT pg_terminate_backend(pg_backend_pid())",  # the server drops this very connection
         "sqlite": "SELECT * FROM injected_fault_no_such_table"}  # sqlite3.OperationalError


@contextmanager
def failing_statement(prefix):
    """The first statement that starts with `prefix` fails in the database, once; reports whether it was reached."""
    engine = db.engine
    reached = []

    def swap(conn, cursor, statement, parameters, context, executemany):
        if not reached and statement.lstrip().upper().startswith(prefix.upper()):
            reached.append(statement)
            return FAULT[engine.dialect.name], ()
        return statement, parameters

    event.listen(engine, "before_cursor_execute", swap, retval=True)
    try:
        yield reached
    finally:
        event.remove(engine, "before_cursor_execute", swap)


def database_contents():
    """Every row of every table, in key order: the yardstick for "nothing changed"."""
    db.session.expire_all()
    contents = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        contents[table.name] = [tuple(row) for row in rows]
    db.session.rollback()
    return contents


def assert_refused_as_unavailable(r):
    assert r.status_code == 503, r.get_data(as_text=True)
    body = r.get_json()
    assert body["error"]["code"] == "database_unavailable" and "nothing was saved" in body["error"]["message"]
    assert r.headers["Retry-After"] == "2"
    assert "Traceback" not in r.get_data(as_text=True)


def test_a_database_failure_while_creating_the_bag_leaves_no_partial_preparation(api):
    lot = released_lot(api, containers=1, fill="50 mL")
    study = expansion_study(api)
    subject = enrol(api, study["id"], code="S-001", cohort="Expansion")
    dose = planned_dose(api, subject["id"], lot["id"])
    before, chain_before = database_contents(), verify_chain()

    # By the bag's INSERT the container is already allocated, thawed and its custody event flushed.
    with failing_statement("INSERT INTO bags") as reached:
        r = api.post(f"/doses/{dose['id']}/prepare", {"signature": sig()}, as_="pharm1")
    assert reached, "the preparation never reached the bag's INSERT: the fault tested nothing"
    assert_refused_as_unavailable(r)

    assert database_contents() == before
    assert verify_chain() == chain_before and chain_before["ok"]

    # Nothing was lost or left locked: the same preparation, tried again, goes through on a fresh connection.
    r = api.post(f"/doses/{dose['id']}/prepare", {"signature": sig()}, as_="pharm1")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "prepared" and r.get_json()["bag"]["code"]
    assert verify_chain()["ok"]


def test_a_database_failure_while_writing_the_audit_row_leaves_no_partial_lot(api):
    make_product(api)
    donor = make_donor(api)
    body = {"product_code": "S1234", "donor_id": donor["id"], "manufactured_on": "2026-10-01",
            "expires_on": "2028-10-01", "container_count": 5, "fill_volume": "5 mL", "dmso_fraction": "10 %"}
    before, chain_before = database_contents(), verify_chain()

    # The audit row is written last, at commit: the lot, its five containers and the DIN sequence are all flushed.
    with failing_statement("INSERT INTO audit_log") as reached:
        r = api.post("/lots", body, as_="tech")
    assert reached, "the registration never reached the audit INSERT: the fault tested nothing"
    assert_refused_as_unavailable(r)

    assert database_contents() == before
    assert verify_chain() == chain_before and chain_before["ok"]

    r = api.post("/lots", body, as_="tech")
    assert r.status_code == 201, r.get_json()
    assert len(r.get_json()["containers"]) == 5
    assert verify_chain()["checked"] == chain_before["checked"] + 1


@pytest.mark.parametrize("statement", ["INSERT INTO signatures", "UPDATE audit_head"])
def test_a_database_failure_in_a_passing_bedside_check_leaves_the_bag_received(api, statement):
    # The check, its custody event and the witness's signature are each written by their own INSERT as the check
    # goes (extensions.insert_record), not at commit: a failure at the signature, or at the very last statement
    # before the commit, must still take every one of them away.
    lot = released_lot(api)
    study = expansion_study(api)
    subject = enrol(api, study["id"], code="S-001", wristband="MRN-0001", cohort="Expansion")
    bag = received_bag(api, subject["id"], lot["id"])
    before, chain_before = database_contents(), verify_chain()

    with failing_statement(statement) as reached:
        r = bedside(api, bag["scan"], subject["wristband"])
    assert reached, f"the bedside check never reached {statement}: the fault tested nothing"
    assert_refused_as_unavailable(r)

    assert database_contents() == before
    assert verify_chain() == chain_before and chain_before["ok"]

    r = bedside(api, bag["scan"], subject["wristband"])
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["ok"] is True and verify_chain()["checked"] == chain_before["checked"] + 3
