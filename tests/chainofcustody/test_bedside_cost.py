"""What one bedside check costs the database, counted, not timed (issue 8): the statements a scan sends and the rows
it leaves. A change that puts a lookup back on the bedside path shows here before it shows in bench/bedside.py."""
from contextlib import contextmanager

from sqlalchemy import event, func, select

from lims.audit.models import AuditEntry
from lims.auth.models import Signature
from lims.chainofcustody.models import BedsideCheck, CustodyEvent
from lims.extensions import db
from tests.support import bedside, received_bag


@contextmanager
def statements():
    sent = []

    def record(_conn, _cursor, statement, *_args):
        if statement != "BEGIN IMMEDIATE":  # SQLite's transaction start (lims/__init__.py), not a statement of ours
            sent.append(" ".join(statement.split())[:60])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _count(model, *criteria):
    return db.session.scalar(select(func.count()).select_from(model).where(*criteria))


def test_a_passing_bedside_check_sends_ten_statements(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    api.token("nurse1")
    with statements() as sent:
        assert bedside(api, bag["scan"], subject["wristband"]).status_code == 200
    # token, witness, the locked bag, its check, its move and event, the witness's signature; then the chain head
    # locked, the audit rows, the head moved.
    assert len(sent) == 10, sent
    assert sent[2].startswith("SELECT bags.id") and sent[-3].startswith("SELECT audit_head.seq")


def test_a_near_miss_sends_eight_statements(api, lot, subject, other_subject):
    bag = received_bag(api, subject["id"], lot["id"])
    api.token("nurse1")
    with statements() as sent:
        assert bedside(api, bag["scan"], other_subject["wristband"]).status_code == 409
    # the wristband is another subject's, so it is looked up to be named; nothing moves and nobody signs.
    assert len(sent) == 8, sent
    assert sent[3].startswith("SELECT subjects.id")


def test_a_passing_check_leaves_its_check_event_signature_and_three_audit_rows(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    audit_before = _count(AuditEntry)
    body = bedside(api, bag["scan"], subject["wristband"]).get_json()
    db.session.expire_all()
    check = db.session.get(BedsideCheck, body["check_id"])
    assert check.ok is True and check.subject_id == subject["id"] and check.failures is None
    assert check.nurse.username == "nurse1" and check.witness.username == "nurse2"
    [moved] = db.session.scalars(select(CustodyEvent).where(CustodyEvent.bag_id == check.bag_id,
                                                            CustodyEvent.to_status == "bedside_verified")).all()
    assert (moved.from_status, moved.location, moved.scanned) == ("received", "Ward 4", bag["scan"])
    [signed] = db.session.scalars(select(Signature).where(Signature.record_type == "bedside_checks",
                                                          Signature.record_id == str(check.id))).all()
    assert (signed.meaning, signed.printed_name) == ("witnessed", "Nurse2 Person")
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.seq > audit_before)
                                 .order_by(AuditEntry.seq)).all()
    assert actions == ["custody.bedside_verified", "bedside.verified", "signature.witnessed"]
