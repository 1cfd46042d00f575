"""The reports of SPEC §17 as pages and CSV: a study's infusion log, each lot's accountability, near misses by
month and check."""
import csv
import datetime as dt
import io

from tests.chainofcustody.helpers import infuse, move
from tests.support import (bedside, enrol, expansion_study, page_text, received_bag, released_lot, signed_in,
                           verified_bag)


def _csv_rows(response):
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _infused(api, study, lot, code, weight="160 lb"):
    subject = enrol(api, study["id"], code=code, cohort="Expansion", weight=weight)
    bag = received_bag(api, subject["id"], lot["id"])
    assert bedside(api, bag["scan"], f"MRN-{code}").status_code == 200
    now = dt.datetime.now(dt.timezone.utc)
    r = infuse(api, bag["code"], now - dt.timedelta(minutes=1), now, volume=f"{bag['volume']['value']} mL",
               reactions=["mild chills"])
    assert r.status_code == 201, r.get_json()
    return subject, bag


def test_a_lots_accountability_sums_to_its_containers(app, api):
    lot = released_lot(api, containers=12)
    study = expansion_study(api)
    _infused(api, study, lot, "S-001")                          # 3 containers, bag infused
    returned = enrol(api, study["id"], code="S-002", cohort="Expansion")
    bag = received_bag(api, returned["id"], lot["id"])
    assert move(api, bag["scan"], "returned", "nurse1", location="Research pharmacy").status_code == 201
    discarded = enrol(api, study["id"], code="S-003", cohort="Expansion")
    bag = verified_bag(api, discarded["id"], lot["id"])
    discard = {"bag": bag["scan"], "event": "discarded", "location": "Pharmacy", "reason": "bag dropped"}
    r = api.post("/custody/events", discard, as_="pharm1")
    if r.status_code == 422 and "reason" in r.get_json()["error"]["fields"]:  # before discards carry their reason
        r = api.post("/custody/events", {k: v for k, v in discard.items() if k != "reason"}, as_="pharm1")
    assert r.status_code == 201, r.get_json()
    rows = {r["lot"]: r for r in _csv_rows(signed_in(app, "qa").get("/reports/accountability.csv"))}
    row = rows[f"{lot['din'][:5]} {lot['din'][5:7]} {lot['din'][7:]} {lot['check_character']}"]
    counts = {k: int(row[k]) for k in ("registered", "in_storage", "retrieved", "thawed", "discarded",
                                       "thawed_infused", "thawed_in_circulation", "thawed_returned",
                                       "thawed_bag_discarded")}
    assert counts == {"registered": 12, "in_storage": 3, "retrieved": 0, "thawed": 9, "discarded": 0,
                      "thawed_infused": 3, "thawed_in_circulation": 0, "thawed_returned": 3,
                      "thawed_bag_discarded": 3}
    assert counts["in_storage"] + counts["retrieved"] + counts["thawed"] + counts["discarded"] == 12
    assert row["balanced"] == "yes"


def test_the_accountability_page_shows_each_lot_balanced(app, api):
    lot = released_lot(api, containers=5)
    page = page_text(signed_in(app, "tech").get("/reports/accountability"))
    assert f"{lot['din'][:5]} {lot['din'][5:7]} {lot['din'][7:]} {lot['check_character']}" in page
    assert "S1234 released 5 5 0 0 0 0 0 0 0 balanced" in page


def test_a_study_infusion_log_lists_each_infusion_with_bag_lot_volumes_and_signers(app, api):
    lot = released_lot(api, containers=12)
    study = expansion_study(api)
    subject, bag = _infused(api, study, lot, "S-001")
    rows = _csv_rows(signed_in(app, "inv").get(f"/reports/studies/{study['id']}/infusions.csv"))
    assert len(rows) == 1
    row = rows[0]
    assert (row["subject"], row["cohort"], row["bag"], row["nurse"], row["witness"], row["reactions"]) == (
        "S-001", "Expansion", bag["code"], "Nurse1 Person", "Nurse2 Person", "mild chills")
    assert row["lot"].startswith(f"{lot['din'][:5]} ") and row["volume_infused_ml"] == row["planned_volume_ml"]
    assert row["started_at_utc"].endswith("Z") and row["dosing_weight_kg"] == "72.5748"
    page = page_text(signed_in(app, "qa").get(f"/reports/studies/{study['id']}/infusions"))
    assert "1 infusion(s)" in page and bag["code"] in page and "1.5 million cells/kg" in page


def test_near_misses_are_counted_by_month_and_failed_check(app, api):
    lot = released_lot(api, containers=6)
    study = expansion_study(api)
    subject = enrol(api, study["id"], code="S-001", cohort="Expansion")
    enrol(api, study["id"], code="S-002", cohort="Expansion")
    bag = received_bag(api, subject["id"], lot["id"])
    for _ in range(2):
        assert bedside(api, bag["scan"], "MRN-S-002").status_code == 409
    rows = _csv_rows(signed_in(app, "qa").get("/reports/near-misses.csv"))
    from lims.timeutil import site_today
    assert rows == [{"month": site_today().strftime("%Y-%m"), "near_misses": "2", "right_subject": "2"}]
    page = page_text(signed_in(app, "admin").get("/reports/near-misses"))
    assert "2 near miss(es)" in page and "right subject" in page


def test_reports_are_refused_to_roles_they_are_not_for(app, api):
    study = expansion_study(api)
    assert signed_in(app, "nurse1").get("/reports").status_code == 403
    assert signed_in(app, "tech").get(f"/reports/studies/{study['id']}/infusions").status_code == 403
    assert signed_in(app, "inv").get("/reports/near-misses.csv").status_code == 403
    assert signed_in(app, "pharm1").get("/reports/accountability").status_code == 200
    assert signed_in(app, "inv").get("/reports/studies/987654/infusions").status_code == 404
