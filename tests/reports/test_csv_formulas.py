"""CSV cells a spreadsheet cannot run (OWASP CSV injection, SPEC §17): text beginning with = + - @, a tab or a
carriage return (or a quote, so the rule reverses) is written after a single quote, in the sponsor's infusion log
and in the audit trail's copy, whose before/after and hash columns stay exactly as hashed and whose chain verifies."""
import csv
import datetime as dt
import io
import json

import pytest

from lims import spreadsheet
from lims.audit.services import canonical_row, chain_hash
from tests.chainofcustody.helpers import hold_lot, infuse
from tests.support import bedside, csv_copy, enrol, expansion_study, received_bag, released_lot, signed_in

HYPERLINK = '=HYPERLINK("http://evil.example","click")'


@pytest.mark.parametrize("text", ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\t=1+1", "\r=1+1", "'quoted"])
def test_text_a_spreadsheet_would_run_is_written_after_a_quote(text):
    assert spreadsheet.cell(text) == "'" + text
    assert spreadsheet.unescape(spreadsheet.cell(text)) == text


@pytest.mark.parametrize("value", ["mild chills", "S-001", "2026-12-03T12:07:51Z", "{\"a\": 1}", "", 12, -3, 1.5])
def test_plain_text_and_numbers_are_written_as_they_are(value):
    assert spreadsheet.cell(value) == value


def test_none_is_an_empty_cell_and_verbatim_columns_are_untouched():
    assert spreadsheet.row([None, "=x", "=y"], verbatim={2}) == ["", "'=x", "=y"]


def _infused_with(api, reactions):
    lot, study = released_lot(api), expansion_study(api)
    subject = enrol(api, study["id"], code="S-001", cohort="Expansion")
    bag = received_bag(api, subject["id"], lot["id"])
    assert bedside(api, bag["scan"], subject["wristband"]).status_code == 200
    now = dt.datetime.now(dt.timezone.utc)
    r = infuse(api, bag["code"], now - dt.timedelta(minutes=1), now, volume=f"{bag['volume']['value']} mL",
               reactions=reactions)
    assert r.status_code == 201, r.get_json()
    return study


@pytest.mark.parametrize("reactions, cell", [([HYPERLINK, "@SUM(1+1)"], f"'{HYPERLINK}; @SUM(1+1)"),
                                              (["=1+1"], "'=1+1"), (["mild chills"], "mild chills")])
def test_the_infusion_log_csv_neutralises_a_reaction_typed_as_a_formula(app, api, reactions, cell):
    study = _infused_with(api, reactions)
    r = signed_in(app, "inv").get(f"/reports/studies/{study['id']}/infusions.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert [row["reactions"] for row in rows] == [cell]
    assert rows[0]["subject"] == "S-001" and rows[0]["started_at_utc"].endswith("Z")


def _audit_copy(api, **filters):
    return csv_copy(api.get("/audit/export.csv", as_="qa", query_string=filters))


def test_the_audit_csv_neutralises_a_reason_and_its_chain_still_verifies(api):
    lot = released_lot(api)
    hold_lot(api, lot["id"], reason="=1+1")
    meta, data = _audit_copy(api, action="lot.on_hold")
    assert len(data) == 1
    row = data[0]
    assert row["reason"] == "'=1+1"
    assert meta["chain"] == "verified: each of the 1 rows matches its hash and links to the rows before and after it " \
                            "in the chain"
    api_row = api.get("/audit", as_="qa", query_string={"action": "lot.on_hold"}).get_json()["rows"][0]
    assert json.loads(row["before"]) == api_row["before"] and json.loads(row["after"]) == api_row["after"]
    assert row["before"].startswith("{") and row["after"].startswith("{")
    # A reader recomputes the hash from the cells, the added quote taken off as the copy's head says.
    text = canonical_row(int(row["seq"]), row["at_utc"], spreadsheet.unescape(row["actor"]), row["action"],
                         row["entity"], row["entity_id"], row["before"], row["after"],
                         spreadsheet.unescape(row["reason"]))
    assert chain_hash(row["prev_hash"], text) == row["hash"]
    assert "written after one added '" in meta["hashes"]
