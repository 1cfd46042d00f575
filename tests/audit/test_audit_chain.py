import pytest
from sqlalchemy import func, select, text

from lims.audit.models import AuditEntry
from lims.audit.services import verify_chain
from lims.extensions import db
from tests.support import make_donor, make_product


def _tamper(app, seq):
    """Edit one audit row by raw SQL, getting past the append-only trigger as only a database owner could."""
    with db.engine.begin() as conn:
        if app.database.is_postgresql:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_refuse_update"))
        conn.execute(text("UPDATE audit_log SET after = :after WHERE seq = :seq"),
                     {"after": '{"code":"D-9999","eligibility":"eligible"}', "seq": seq})


def test_every_write_leaves_a_verifying_chain(api):
    make_product(api)
    make_donor(api)
    result = verify_chain()
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert result == {"ok": True, "checked": len(actions), "first_broken": None}
    assert actions[-2:] == ["product.created", "donor.created"]


def test_audit_verify_api_reports_intact_chain(api):
    make_donor(api)
    r = api.get("/audit/verify", as_="qa")
    assert r.status_code == 200
    assert r.get_json()["ok"] is True and r.get_json()["checked"] >= 11


def test_audit_verify_needs_qa_or_admin(api):
    assert api.get("/audit/verify", as_="tech").status_code == 403


def test_edited_row_breaks_chain_and_cli_names_it(app, api):
    make_donor(api)
    seq = db.session.scalar(select(AuditEntry.seq).where(AuditEntry.action == "donor.created"))
    db.session.commit()
    _tamper(app, seq)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"row {seq}" in result.output
    assert verify_chain()["first_broken"] == seq


def test_postgresql_refuses_update_of_audit_row(app, api):
    if not app.database.is_postgresql:
        pytest.skip("the trigger under test is PostgreSQL's")
    make_donor(api)
    db.session.commit()
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1"))
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 1"))
    assert verify_chain()["ok"] is True


def test_sqlite_refuses_update_of_audit_row(app, api):
    if app.database.is_postgresql:
        pytest.skip("SQLite's own trigger")
    make_donor(api)
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1"))


def test_failed_validation_adds_no_row_and_no_audit(api):
    before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    r = api.post("/donors", {"code": "D-1", "eligibility": "maybe"}, as_="tech")
    assert r.status_code == 422 and "eligibility" in r.get_json()["error"]["fields"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before
