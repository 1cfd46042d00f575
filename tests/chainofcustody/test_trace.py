"""Traceability both ways (SPEC §12), and a recall after an infusion names whom it reached."""
import datetime as dt

from tests.chainofcustody.helpers import hold_lot, infuse, now
from tests.support import bedside, received_bag


def _infused(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    assert bedside(api, bag["scan"], subject["wristband"]).status_code == 200
    start = now()
    assert infuse(api, bag["code"], start, start + dt.timedelta(seconds=1)).status_code == 201
    return bag


def _parse(at):
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00"))


def test_recall_after_infusion_lists_exactly_the_infused_subject(api, lot, subject, other_subject):
    infused_bag = _infused(api, lot, subject)
    waiting_bag = received_bag(api, other_subject["id"], lot["id"])
    assert hold_lot(api, lot["id"], action="recall", reason="donor found ineligible on look-back")["status"] \
        == "recalled"

    r = api.get(f"/lots/{lot['id']}/trace", as_="qa")
    assert r.status_code == 200
    body = r.get_json()
    assert body["lot"]["status"] == "recalled" and body["lot"]["din"] == lot["din"]
    assert body["infused_subjects"] == [{"id": subject["id"], "code": "S-001", "bag": infused_bag["code"]}]
    assert {(s["code"], s["bag_status"]) for s in body["subjects"]} == {("S-001", "infused"), ("S-002", "received")}
    assert {b["code"]: b["blocked"] for b in body["bags"]} == {infused_bag["code"]: True, waiting_bag["code"]: True}


def test_recalled_lot_blocks_the_received_bag_at_the_bedside(api, lot, subject, other_subject):
    _infused(api, lot, subject)
    waiting_bag = received_bag(api, other_subject["id"], lot["id"])
    hold_lot(api, lot["id"], action="recall", reason="donor found ineligible on look-back")
    r = bedside(api, waiting_bag["scan"], other_subject["wristband"])
    assert r.status_code == 409
    assert {f["name"] for f in r.get_json()["failures"]} == {"lot_released"}
    assert "recalled" in r.get_json()["failures"][0]["message"]
    r = api.get(f"/bags/{waiting_bag['code']}", as_="nurse1")
    assert r.get_json()["status"] == "received"


def test_lot_trace_lists_containers_with_the_bag_they_fed(api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    r = api.get(f"/lots/{lot['id']}/trace", as_="tech")
    assert r.status_code == 200
    containers = r.get_json()["containers"]
    assert len(containers) == 10
    fed = [c for c in containers if c["bag"] == bag["code"]]
    assert len(fed) == 3 and all(c["status"] == "thawed" for c in fed)
    assert all(c["status"] == "in_storage" and c["bag"] is None for c in containers if c not in fed)
    assert r.get_json()["infused_subjects"] == []


def test_subject_trace_reads_back_bag_lot_donor_and_custody_in_order(api, lot, subject):
    bag = _infused(api, lot, subject)
    r = api.get(f"/subjects/{subject['id']}/trace", as_="inv")
    assert r.status_code == 200
    body = r.get_json()
    assert body["subject"]["code"] == "S-001" and body["subject"]["wristband"] == "MRN-0001"
    [entry] = body["bags"]
    assert entry["bag"]["code"] == bag["code"] and entry["bag"]["status"] == "infused"
    assert entry["lot"]["id"] == lot["id"] and entry["lot"]["din"] == lot["din"]
    assert entry["lot"]["check_character"] == lot["check_character"]
    assert entry["donor"] == {"id": lot["donor"]["id"], "code": lot["donor"]["code"], "eligibility": "eligible"}
    assert len(entry["containers"]) == 3 and all(c.startswith(lot["din"]) for c in entry["containers"])
    custody = entry["custody"]
    assert [e["event"] for e in custody] == ["prepared", "verified", "dispensed", "received", "bedside_verified",
                                             "infusing", "infused"]
    times = [_parse(e["at"]) for e in custody]
    assert times == sorted(times)
    assert entry["infusion"]["nurse"] == "nurse1"
    assert entry["infusion"]["volume_infused"] == {"value": 10.1, "unit": "mL"}
    assert _parse(entry["infusion"]["started_at"]) == times[5]
    assert _parse(entry["infusion"]["completed_at"]) == times[6]


def test_trace_of_an_unknown_lot_or_subject_is_404(api, lot):
    assert api.get("/lots/999/trace", as_="qa").status_code == 404
    assert api.get("/subjects/999/trace", as_="qa").status_code == 404
