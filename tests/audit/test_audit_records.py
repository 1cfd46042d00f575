"""The audit trail as records for inspection (SPEC §17): rows named as the product names records, filters, cursor
pages, and the CSV and PDF copies with their statement of verification."""
import json

import pytest
from sqlalchemy import text

from lims.audit.models import AuditEntry
from lims.extensions import db
from tests.pdf_text import pdf_text
from tests.support import csv_copy, page_text, released_lot, signed_in


def _rows(api, as_="qa", **args):
    """Every row of the API for these filters, following next_cursor to the end."""
    rows, cursor = [], None
    while True:
        query = dict(args, limit=7, **({"cursor": cursor} if cursor else {}))
        r = api.get("/audit", as_=as_, query_string=query)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        rows.extend(body["rows"])
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


def _tamper(app, seq):
    with db.engine.begin() as conn:  # past the append-only trigger, as only a database owner could
        if app.database.is_postgresql:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_refuse_update"))
        conn.execute(text("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = :seq"), {"seq": seq})


@pytest.fixture
def lot(api):
    return released_lot(api, containers=4)


def test_a_lot_history_names_the_lot_its_qc_results_the_qa_signer_and_the_status_change(api, lot):
    rows = _rows(api, entity="lots", entity_id=lot["id"])
    printed = f"{lot['din'][:5]} {lot['din'][5:7]} {lot['din'][7:]} {lot['check_character']}"
    released = next(r for r in rows if r["action"] == "lot.released")
    assert released["record"] == f"lot {printed}"
    assert released["actor_name"] == "Qa Person" and released["action_text"] == "Lot released"
    assert {"field": "status", "old": "quarantine", "new": "released"} in released["changes"]
    assert f"QC viability of lot {printed}" in {r["record"] for r in rows}
    assert f"signature on lot {printed}" in {r["record"] for r in rows}
    assert {r["action"] for r in rows} >= {"lot.registered", "qc.recorded", "signature.released", "lot.released"}


def test_cursor_pages_give_every_row_once_newest_first(api, lot):
    rows = _rows(api)
    seqs = [r["seq"] for r in rows]
    total = db.session.execute(text("SELECT count(*) FROM audit_log")).scalar()
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == len(set(seqs)) == total


def test_filters_by_user_and_action_group(api, lot):
    rows = _rows(api, actor="tech", action="qc.*")
    assert len(rows) == 14 and {r["action"] for r in rows} == {"qc.recorded"}
    assert {r["actor_name"] for r in rows} == {"Tech Person"}


def test_a_failed_sign_in_is_a_security_row_qa_can_filter(api, lot):
    r = api.client.post("/api/v1/auth/token", json={"username": "nurse1", "password": "wrong-password-1"})
    assert r.status_code == 401
    rows = _rows(api, action="security.*")
    assert [(r["action"], r["actor"], r["action_text"]) for r in rows] == [
        ("security.sign_in_failed", "nurse1", "Security event: sign-in refused")]


def test_a_period_filter_keeps_rows_inside_it(api, lot):
    rows = _rows(api)
    middle = rows[len(rows) // 2]["at"]
    later = _rows(api, since=middle)
    assert later and all(r["at"] >= middle for r in later)
    assert _rows(api, until="2000-01-01") == []


def test_a_record_is_found_by_its_printed_lot_number(api, lot):
    printed = f"{lot['din'][:5]} {lot['din'][5:7]} {lot['din'][7:]} {lot['check_character']}"
    assert _rows(api, record=printed) == _rows(api, entity="lots", entity_id=lot["id"])


@pytest.mark.parametrize("args", [{"since": "yesterday"}, {"entity_id": "1"}, {"cursor": "abc"},
                                  {"until": "2026-11-24T09:00"}, {"action": "DROP TABLE"}, {"limit": "0"},
                                  {"entity": "lots", "entity_id": "x1"}, {"colour": "red"}])
def test_a_malformed_filter_is_422_naming_it(api, lot, args):
    r = api.get("/audit", as_="qa", query_string=args)
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["error"]["fields"]


def test_only_qa_and_admin_read_the_trail_and_its_copies(api, lot):
    for path in ("/audit", "/audit/export.csv", "/audit/export.pdf"):
        assert api.get(path, as_="tech").status_code == 403
    assert api.get("/audit", as_="admin").status_code == 200


def test_a_csv_copy_is_the_api_rows_and_says_the_chain_verified(api, lot):
    filters = {"entity": "lots", "entity_id": lot["id"]}
    expected = list(reversed(_rows(api, **filters)))  # the copy reads oldest first, as a record is read
    meta, data = csv_copy(api.get("/audit/export.csv", as_="admin", query_string=filters))
    assert [(int(d["seq"]), d["at_utc"], d["actor"], d["actor_name"], d["action"], d["action_text"], d["entity"],
             d["entity_id"], d["record"], d["reason"], d["prev_hash"], d["hash"]) for d in data] == [
        (r["seq"], r["at"].replace("+00:00", "Z"), r["actor"], r["actor_name"], r["action"], r["action_text"],
         r["entity"], r["entity_id"], r["record"], r["reason"] or "", r["prev_hash"], r["hash"]) for r in expected]
    assert [json.loads(d["after"]) if d["after"] else None for d in data] == [r["after"] for r in expected]
    assert int(meta["rows"]) == len(data) == len(expected)
    assert meta["chain"].startswith(f"verified: each of the {len(data)} rows matches its hash")
    assert meta["made by"] == "Admin Person (admin)" and "whole history" in meta["filters"]


def test_a_tampered_row_makes_the_copy_say_the_chain_is_broken(app, api, lot):
    rows = _rows(api, entity="lots", entity_id=lot["id"])
    victim = rows[len(rows) // 2]["seq"]
    _tamper(app, victim)
    meta, data = csv_copy(api.get("/audit/export.csv", as_="qa", query_string={"entity": "lots",
                                                                            "entity_id": lot["id"]}))
    assert meta["chain"].startswith(f"BROKEN: row {victim}: its content does not match its hash")
    assert int(meta["rows"]) == len(data) == len(rows)


def test_a_row_rewritten_with_a_fresh_hash_still_breaks_the_copy(app, api, lot):
    from lims.audit.services import canonical_row, chain_hash
    seq = _rows(api, action="lot.released")[0]["seq"]
    stored = db.session.execute(text("SELECT seq, at, actor, action, entity, entity_id, before, after, prev_hash "
                                     "FROM audit_log WHERE seq = :seq"), {"seq": seq}).one()
    at = db.session.get(AuditEntry, seq).at
    forged = chain_hash(stored.prev_hash, canonical_row(seq, at, stored.actor, stored.action, stored.entity,
                                                        stored.entity_id, stored.before, stored.after, "forged"))
    db.session.rollback()
    _tamper(app, seq)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET reason = 'forged', hash = :h WHERE seq = :seq"),
                     {"h": forged, "seq": seq})
    meta, _data = csv_copy(api.get("/audit/export.csv", as_="qa", query_string={"action": "lot.released"}))
    assert meta["chain"] == (f"BROKEN: row {seq}: the row after it does not carry its hash on "
                             f"(it was rewritten) (1 rows in this copy)")


def test_the_pdf_copy_names_the_records_and_states_the_verification(api, lot):
    r = api.get("/audit/export.pdf", as_="qa", query_string={"entity": "lots", "entity_id": lot["id"]})
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    page = pdf_text(r.data)
    printed = f"{lot['din'][:5]} {lot['din'][5:7]} {lot['din'][7:]} {lot['check_character']}"
    assert f"lot {printed}" in page and "Lot released" in page and "Qa Person" in page
    assert "Chain verified: each of the" in page and "Made by Qa Person (qa)" in page
    assert "status: quarantine → released" in page


def test_the_page_shows_a_lot_history_with_its_name_and_copies(app, api, lot):
    page = page_text(signed_in(app, "qa").get(f"/audit?entity=lots&entity_id={lot['id']}"))
    printed = f"{lot['din'][:5]} {lot['din'][5:7]} {lot['din'][7:]} {lot['check_character']}"
    assert f"history of lot {printed}" in page
    assert "Lot released" in page and "status: quarantine → released" in page and "Qa Person" in page


def test_the_page_refuses_an_unknown_record_beside_its_filters(app, api, lot):
    r = signed_in(app, "qa").get("/audit?record=NO-SUCH-BAG")
    assert r.status_code == 404 and "no lot, bag, container or subject is named" in page_text(r)


def test_the_page_copy_links_export_the_same_filters(app, api, lot):
    client = signed_in(app, "qa")
    meta, data = csv_copy(client.get("/audit/export.csv?actor=qa&action=lot.*"))
    assert [d["action"] for d in data] == ["lot.released"] and meta["filters"] == "user qa; action lot.*"


def test_a_pdf_copy_longer_than_its_limit_says_how_many_rows_it_leaves_to_thecsv_copy(api, lot, monkeypatch):
    from lims.audit import export
    monkeypatch.setattr(export, "PDF_ROW_LIMIT", 5)
    total = db.session.execute(text("SELECT count(*) FROM audit_log")).scalar()
    page = pdf_text(api.get("/audit/export.pdf", as_="qa").data)
    assert f"the first 5 of {total} rows matching the filters" in page
    assert "the CSV export with the same filters holds every row" in page
    assert "Chain verified: each of the 5 rows" in page and "#6 " not in page
