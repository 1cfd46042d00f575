"""SPEC §4: every change writes its audit row with the values before it as well as after. These are the changes of
a dose and of what it takes from a lot, and QA's review of late QC results: a row whose `before` is empty would
say the record was created, not changed."""
import pytest

from tests.support import enrol, expansion_study, label, planned_dose, prepared_dose, released_lot, sig, verify


def _row(api, action, entity, entity_id):
    query = {"action": action, "entity": entity, "entity_id": str(entity_id), "limit": 50}
    r = api.get("/audit", as_="qa", query_string=query)
    assert r.status_code == 200, r.get_json()
    rows = r.get_json()["rows"]
    assert len(rows) == 1, rows
    row = rows[0]
    return row["before"], row["after"], row["changes"]


@pytest.fixture
def lot(api):
    return released_lot(api, containers=6)


@pytest.fixture
def subject(api):
    study = expansion_study(api)
    return enrol(api, study["id"], cohort="Expansion")


def test_a_superseded_plan_records_its_status_before_and_after(api, lot, subject):
    first = planned_dose(api, subject["id"], lot["id"])
    planned_dose(api, subject["id"], lot["id"])  # re-planning replaces the earlier plan (SPEC §7.6)
    before, after, changes = _row(api, "dose.superseded", "doses", first["id"])
    assert (before["status"], after["status"]) == ("planned", "superseded")
    assert {"field": "status", "old": "planned", "new": "superseded"} in changes
    assert before["volume_ml"] == after["volume_ml"]  # only the status changed


def test_a_prepared_dose_records_the_plan_it_was_and_its_thaw(api, lot, subject):
    dose = prepared_dose(api, subject["id"], lot["id"])
    before, after, changes = _row(api, "dose.prepared", "doses", dose["id"])
    assert (before["status"], before["thawed_at"]) == ("planned", None)
    assert after["status"] == "prepared" and after["thawed_at"] is not None
    assert [c["field"] for c in changes] == ["status", "thawed_at"]


def test_a_thawed_container_records_that_it_was_in_storage(api, lot, subject):
    dose = prepared_dose(api, subject["id"], lot["id"])
    thawed = [c for c in api.get(f"/lots/{lot['id']}", as_="pharm1").get_json()["containers"]
              if c["status"] == "thawed"]
    assert len(thawed) == dose["containers_needed"] >= 1
    r = api.get("/audit", as_="qa", query_string={"action": "container.thawed", "limit": 50})
    rows = r.get_json()["rows"]
    assert len(rows) == len(thawed)
    for row in rows:
        before, after = row["before"], row["after"]
        assert (before["status"], after["status"]) == ("in_storage", "thawed")
        assert before["code"] == after["code"] and after["location"] is None  # out of its freezer slot


def test_a_verified_dose_records_that_it_was_prepared(api, lot, subject):
    dose = prepared_dose(api, subject["id"], lot["id"])
    assert label(api, dose["bag"]["code"]).status_code == 200
    assert verify(api, dose).status_code == 200
    before, after, changes = _row(api, "dose.verified", "doses", dose["id"])
    assert (before["status"], after["status"]) == ("prepared", "verified")
    assert changes == [{"field": "status", "old": "prepared", "new": "verified"}]


def test_qa_review_records_which_late_results_awaited_it(api, lot):
    r = api.post(f"/lots/{lot['id']}/qc-results",
                 {"test": "viability", "result": "88 %", "reason": "recount of the post-thaw vial"}, as_="tech")
    assert r.status_code == 201, r.get_json()
    late = r.get_json()["id"]
    r = api.post(f"/lots/{lot['id']}/qc-review", {"signature": sig(), "note": "within spec"}, as_="qa")
    assert r.status_code == 200, r.get_json()
    before, after, _changes = _row(api, "lot.reviewed", "lots", lot["id"])
    assert before == {"status": "released", "awaiting_review": [late]}
    assert after == {"status": "released", "awaiting_review": [], "reviewed_qc_results": [late]}
