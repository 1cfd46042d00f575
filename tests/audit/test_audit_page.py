"""The audit trail page: QA and administrators read the newest rows and verify the chain on demand."""
from sqlalchemy import text

from lims.extensions import db
from tests.support import make_donor, page_text, signed_in


def test_qa_sees_the_newest_audit_rows_first(app, api):
    make_donor(api, code="D-0042")
    page = page_text(signed_in(app, "qa").get("/audit"))
    newest = page.index("Donor registered")
    assert "Tech Person tech Donor registered donor.created donor D-0042" in page
    assert newest < page.index("User account created")


def test_verifying_on_the_page_reports_an_intact_chain_with_its_row_count(app, api):
    make_donor(api, code="D-0042")
    count = db.session.execute(text("SELECT count(*) FROM audit_log")).scalar()
    page = page_text(signed_in(app, "admin").get("/audit?verify=1"))
    assert f"Intact: {count:,} row(s) recomputed" in page


def test_a_technician_cannot_open_the_audit_page(app, users):
    assert signed_in(app, "tech").get("/audit").status_code == 403


def test_the_admin_home_page_lists_the_latest_audit_rows(app, api):
    make_donor(api, code="D-0042")
    page = page_text(signed_in(app, "admin").get("/"))
    assert "Audit trail" in page and "Your roles have no worklist" not in page
