"""verify_chain() reads the chain batch by batch (the next batch read while one is hashed, on PostgreSQL) and writes
each row's canonical text from the stored fields: a long chain, a whole-second time and a break far down the chain."""
import datetime as dt

import pytest

from sqlalchemy import func, select, text

from lims.audit import services as audit
from lims.audit.models import AuditEntry
from lims.extensions import db
from tests.support import make_donor


def _donors(api, n):
    for i in range(n):
        make_donor(api, code=f"D-{i:04d}")
    rows = db.session.scalar(select(func.count()).select_from(AuditEntry))
    db.session.commit()  # no transaction left open: on SQLite it would hold the write lock
    return rows


def test_a_chain_of_many_batches_verifies_whole(api):
    rows = _donors(api, 12)
    assert rows > 21  # the users and the donors: more than three batches of 7
    assert audit.verify_chain(batch=7) == {"ok": True, "checked": rows, "first_broken": None}


def test_a_break_in_a_later_batch_is_named(app, api):
    rows = _donors(api, 12)
    seq = rows - 2
    with db.engine.begin() as conn:  # past the append-only trigger, as only a database owner could
        if app.database.is_postgresql:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_refuse_update"))
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = :seq"), {"seq": seq})
    result = audit.verify_chain(batch=7)
    assert (result["ok"], result["checked"], result["first_broken"]) == (False, seq - 1, seq)
    assert result["reason"] == f"row {seq}: its content does not match its hash"


def test_a_row_written_at_a_whole_second_verifies(api, monkeypatch):
    # isoformat() leaves out the fraction of a whole second; the stored text keeps six zeros.
    whole_second = dt.datetime(2026, 11, 24, 9, 0, 0, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(audit, "utcnow", lambda: whole_second)
    make_donor(api, code="D-WHOLE")
    monkeypatch.undo()
    row = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "donor.created")).one()
    assert row.at == whole_second
    result = audit.verify_chain()
    assert result["ok"] is True and result["first_broken"] is None


HOSTILE = ['quote " and backslash \\ ', "new\nline\ttab\r\x08\x0c", "control \x01\x1f and DEL \x7f",
           "non-BMP 𝄞 and é, line separator \u2028", "", "{\"json\": [1, \"two\"]}"]


def test_hostile_text_verifies_on_the_fast_path(api, monkeypatch):
    # The database writes the canonical text (SQLite) or its time (PostgreSQL): it must be canonical_row()'s text to
    # the byte, or every such row would fall back to the ORM re-read. The fallback is made to fail here to prove it.
    for i, text_ in enumerate(HOSTILE):
        audit.record("test.hostile", entity="donors", entity_id=text_ or None, after={"note": text_, "i": i},
                     before={"note": text_[::-1]} if i % 2 else None, reason=text_ or None)
    db.session.commit()
    monkeypatch.setattr(audit, "_typed_row_matches", lambda *_: pytest.fail("the fast path missed a row's text"))
    result = audit.verify_chain(batch=4)
    assert result["ok"] is True and result["first_broken"] is None
    stored = db.session.scalars(select(AuditEntry.reason).where(AuditEntry.action == "test.hostile")
                                .order_by(AuditEntry.seq)).all()
    assert stored == [t or None for t in HOSTILE]


def test_a_null_forced_into_a_required_column_is_named_not_a_crash(app, api):
    if not app.database.is_postgresql:
        pytest.skip("SQLite cannot drop a NOT NULL constraint in place")
    rows = _donors(api, 3)
    with db.engine.begin() as conn:  # a database owner rewriting history, constraints and all
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(text("ALTER TABLE audit_log ALTER COLUMN actor DROP NOT NULL"))
        conn.execute(text("UPDATE audit_log SET actor = NULL WHERE seq = :seq"), {"seq": rows - 1})
    result = audit.verify_chain(batch=2)
    assert (result["ok"], result["first_broken"]) == (False, rows - 1)
