"""SPEC §7 and §8 through the HTTP API: planning, its refusals and preparation (verification: test_verification)."""
import datetime as dt

import pytest
from sqlalchemy import func, select, update

from lims.doses.models import Bag, Dose
from lims.extensions import db
from lims.lots.models import Lot
from lims.timeutil import site_today
from tests.support import (PASSING_QC, enrol, expansion_study, make_lot, make_product, planned_dose, record_qc,
                           released_lot, sig)


def qc_with(**changes):
    return [(test, changes.get(test, result)) for test, result in PASSING_QC]


def plan(api, subject_id, lot_id, as_="pharm1"):
    return api.post("/doses", {"subject_id": subject_id, "lot_id": lot_id}, as_=as_)


def prepare(api, dose_id, as_="pharm1", password=None, **body):
    return api.post(f"/doses/{dose_id}/prepare", {"signature": sig(password) if password else sig(), **body},
                    as_=as_)


def container_statuses(api, lot_id):
    return [c["status"] for c in api.get(f"/lots/{lot_id}", as_="pharm1").get_json()["containers"]]


def bag_count():
    return db.session.scalar(select(func.count()).select_from(Bag))


def assert_nothing_allocated(api, lot_id):
    assert set(container_statuses(api, lot_id)) == {"in_storage"}
    assert bag_count() == 0


@pytest.fixture
def study(api):
    return expansion_study(api)


@pytest.fixture
def subject(api, study):
    return enrol(api, study["id"], code="S-001", cohort="Expansion", weight="160 lb")


# --- the worked example ----------------------------------------------------------------------------------------

def test_worked_example_through_the_api(api, subject):
    lot = released_lot(api)
    r = plan(api, subject["id"], lot["id"])
    assert r.status_code == 201, r.get_json()
    d = r.get_json()
    assert d["status"] == "planned"
    assert d["dosing_weight"]["unit"] == "kg"
    assert d["dosing_weight"]["value"] == pytest.approx(72.5748, abs=5e-5)
    assert d["cohort_dose"] == {"value": 1.5e6, "unit": "cell/kg"}
    assert d["target_cells"]["value"] == pytest.approx(1.0886e8, rel=5e-5)
    assert d["target_cells"]["unit"] == "cell"
    assert d["viable_concentration"]["value"] == pytest.approx(1.08e7, rel=1e-12)
    assert d["viable_concentration"]["unit"] == "cell/mL"
    assert d["volume"] == {"value": 10.1, "unit": "mL"}
    assert d["delivered_cells"]["value"] == pytest.approx(1.0908e8, rel=1e-12)
    assert round(d["deviation_percent"], 2) == 0.20
    assert d["containers_needed"] == 3
    assert d["bag"] is None and d["containers"] == []


def test_planning_reserves_no_container(api, subject):
    lot = released_lot(api)
    assert plan(api, subject["id"], lot["id"]).status_code == 201
    assert_nothing_allocated(api, lot["id"])


# --- refusals --------------------------------------------------------------------------------------------------

def test_weight_older_than_14_days_is_refused(api, study):
    old = site_today() - dt.timedelta(days=16)
    s = enrol(api, study["id"], code="S-OLD", cohort="Expansion", weighed_on=old)
    lot = released_lot(api)
    r = plan(api, s["id"], lot["id"])
    assert r.status_code == 422
    assert r.get_json()["error"]["code"] == "weight_too_old"
    assert "older than 14 days" in r.get_json()["error"]["message"]
    assert "weight" in r.get_json()["error"]["fields"]
    assert_nothing_allocated(api, lot["id"])


def test_a_fresh_weight_makes_the_subject_plannable_again(api, study):
    s = enrol(api, study["id"], code="S-OLD", cohort="Expansion", weighed_on=site_today() - dt.timedelta(days=30))
    lot = released_lot(api)
    assert plan(api, s["id"], lot["id"]).status_code == 422
    r = api.post(f"/subjects/{s['id']}/weights", {"weight": "80 kg", "weighed_on": site_today().isoformat(),
                                                  "confirm_change": True, "reason": "re-weighed"}, as_="inv")
    assert r.status_code == 201
    r = plan(api, s["id"], lot["id"])
    assert r.status_code == 201 and r.get_json()["dosing_weight"] == {"value": 80.0, "unit": "kg"}


def test_lot_not_released_is_refused_naming_its_status(api, subject):
    make_product(api)
    lot = make_lot(api)
    record_qc(api, lot["id"])
    r = plan(api, subject["id"], lot["id"])
    assert r.status_code == 409
    body = r.get_json()
    assert body["error"]["code"] == "lot_not_released"
    assert body["status"] == "quarantine"
    assert "quarantine" in body["error"]["message"]
    assert_nothing_allocated(api, lot["id"])


def test_lot_on_hold_is_refused_naming_its_status(api, subject):
    lot = released_lot(api)
    r = api.post(f"/lots/{lot['id']}/hold", {"signature": sig(), "reason": "deviation investigation"}, as_="qa")
    assert r.status_code == 200, r.get_json()
    r = plan(api, subject["id"], lot["id"])
    assert r.status_code == 409
    assert r.get_json()["status"] == "on_hold" and "is on hold, not released" in r.get_json()["error"]["message"]


def test_expired_lot_is_refused(api, subject):
    lot = released_lot(api)
    db.session.execute(update(Lot).where(Lot.id == lot["id"])
                       .values(expires_on=site_today() - dt.timedelta(days=2)))
    db.session.commit()
    r = plan(api, subject["id"], lot["id"])
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "lot_expired"
    assert r.get_json()["status"] == "expired"
    assert "expired on" in r.get_json()["error"]["message"]
    assert_nothing_allocated(api, lot["id"])


def test_too_few_containers_is_refused(api, subject):
    lot = released_lot(api, containers=2)  # the worked example needs 3 of 5 mL
    r = plan(api, subject["id"], lot["id"])
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "too_few_containers"
    assert "has 2 container(s) in storage; the dose needs 3" in r.get_json()["error"]["message"]
    assert_nothing_allocated(api, lot["id"])


def test_deviation_over_ten_percent_is_refused(api):
    study = expansion_study(api, dose="0.5e6 cell/kg")
    s = enrol(api, study["id"], cohort="Expansion", weight="20 kg")
    # 1e7 cells at 1.35e8 viable cell/mL is 0.074 mL, rounded to 0.1 mL: +35 %.
    lot = released_lot(api, qc=qc_with(cell_concentration="1.5e8 cell/mL"))
    r = plan(api, s["id"], lot["id"])
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "dose_rule_broken"
    assert "deviation_percent" in err["fields"]
    assert "+35.00 % from target" in err["message"]
    assert_nothing_allocated(api, lot["id"])


def test_dmso_over_one_gram_per_kg_is_refused(api, subject):
    # 1.35e5 viable cell/mL: 806.4 mL for 72.6 kg, × 10 % DMSO × 1.10 g/mL = 1.22 g/kg.
    lot = released_lot(api, qc=qc_with(cell_concentration="1.5e5 cell/mL"), containers=20, fill="50 mL")
    r = plan(api, subject["id"], lot["id"])
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "dose_rule_broken" and "dmso_per_kg" in err["fields"]
    assert "DMSO 1.222 g/kg exceeds the limit of 1 g/kg" in err["message"]
    assert_nothing_allocated(api, lot["id"])


def test_endotoxin_over_five_eu_per_kg_is_refused(api, subject):
    # 11.1 mL/kg × 0.5 EU/mL = 5.56 EU/kg; DMSO at 1 % is 0.12 g/kg.
    lot = released_lot(api, qc=qc_with(cell_concentration="1.5e5 cell/mL", endotoxin="0.5 EU/mL"),
                       containers=20, fill="50 mL", dmso_fraction="1 %")
    r = plan(api, subject["id"], lot["id"])
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "dose_rule_broken" and "endotoxin_per_kg" in err["fields"]
    assert "endotoxin 5.556 EU/kg exceeds the limit of 5 EU/kg" in err["message"]
    assert_nothing_allocated(api, lot["id"])


def test_only_a_pharmacist_plans(api, subject):
    lot = released_lot(api)
    r = plan(api, subject["id"], lot["id"], as_="nurse1")
    assert r.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Dose)) == 0


# --- preparation -----------------------------------------------------------------------------------------------

def test_prepare_allocates_ceil_volume_over_fill_containers(api, subject):
    lot = released_lot(api, containers=5)
    dose = planned_dose(api, subject["id"], lot["id"])
    r = prepare(api, dose["id"])
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "prepared"
    assert container_statuses(api, lot["id"]) == ["thawed", "thawed", "thawed", "in_storage", "in_storage"]


def test_prepare_records_used_and_discarded_volume(api, subject):
    lot = released_lot(api, containers=5)
    dose = planned_dose(api, subject["id"], lot["id"])
    assert prepare(api, dose["id"]).status_code == 200
    d = api.get(f"/doses/{dose['id']}", as_="pharm2").get_json()
    used = [c["volume_used"]["value"] for c in d["containers"]]
    discarded = [c["volume_discarded"]["value"] for c in d["containers"]]
    assert used == pytest.approx([5.0, 5.0, 0.1])
    assert discarded == pytest.approx([0.0, 0.0, 4.9])
    assert sum(used) == pytest.approx(10.1)
    lot_codes = {c["code"] for c in api.get(f"/lots/{lot['id']}", as_="pharm1").get_json()["containers"]
                 if c["status"] == "thawed"}
    assert {c["code"] for c in d["containers"]} == lot_codes


def test_prepare_creates_the_bag_with_code_and_scan(api, subject):
    lot = released_lot(api)
    dose = planned_dose(api, subject["id"], lot["id"])
    bag = prepare(api, dose["id"]).get_json()["bag"]
    assert bag["code"] and bag["scan"]
    assert bag["status"] == "prepared"
    assert bag["volume"] == {"value": 10.1, "unit": "mL"}
    assert bag["subject_code"] == "S-001" and bag["wristband"] == subject["wristband"]
    assert bag["lot_id"] == lot["id"] and bag["din"] == lot["din"]
    assert bag["holder"] == "pharm1" and bag["location"] == "Pharmacy"
    thawed = dt.datetime.fromisoformat(bag["thawed_at"])
    assert dt.datetime.fromisoformat(bag["expires_at"]) - thawed == dt.timedelta(hours=4)
    assert api.get(f"/bags/{bag['code']}", as_="pharm1").get_json()["id"] == bag["id"]
    assert bag_count() == 1


def test_prepare_records_a_thaw_time_in_the_recent_past(api, subject):
    lot = released_lot(api)
    dose = planned_dose(api, subject["id"], lot["id"])
    thawed = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=30)).replace(microsecond=0)
    r = prepare(api, dose["id"], thawed_at=thawed.isoformat())
    assert r.status_code == 200, r.get_json()
    bag = r.get_json()["bag"]
    assert dt.datetime.fromisoformat(bag["thawed_at"]) == thawed
    assert dt.datetime.fromisoformat(bag["expires_at"]) == thawed + dt.timedelta(hours=4)


def test_thaw_time_in_the_future_is_refused(api, subject):
    lot = released_lot(api)
    dose = planned_dose(api, subject["id"], lot["id"])
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    r = prepare(api, dose["id"], thawed_at=future.isoformat())
    assert r.status_code == 422
    assert "thawed_at" in r.get_json()["error"]["fields"]
    assert "future" in r.get_json()["error"]["message"]
    assert_nothing_allocated(api, lot["id"])
    assert api.get(f"/doses/{dose['id']}", as_="pharm1").get_json()["status"] == "planned"


def test_thaw_time_whose_post_thaw_expiry_has_passed_is_refused(api, subject):
    lot = released_lot(api)
    dose = planned_dose(api, subject["id"], lot["id"])
    stale = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=5)
    r = prepare(api, dose["id"], thawed_at=stale.isoformat())
    assert r.status_code == 422 and "thawed_at" in r.get_json()["error"]["fields"]
    assert_nothing_allocated(api, lot["id"])


def test_replanning_supersedes_the_earlier_plan(api, subject):
    lot = released_lot(api)
    first = planned_dose(api, subject["id"], lot["id"])
    second = planned_dose(api, subject["id"], lot["id"])
    assert api.get(f"/doses/{first['id']}", as_="pharm1").get_json()["status"] == "superseded"
    r = prepare(api, first["id"])
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "dose_not_planned" and r.get_json()["status"] == "superseded"
    assert_nothing_allocated(api, lot["id"])
    assert prepare(api, second["id"]).status_code == 200


def test_wrong_signature_password_is_401_and_nothing_is_prepared(api, subject):
    lot = released_lot(api)
    dose = planned_dose(api, subject["id"], lot["id"])
    r = prepare(api, dose["id"], password="not-my-password-1")
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "invalid_credentials"
    assert api.get(f"/doses/{dose['id']}", as_="pharm1").get_json()["status"] == "planned"
    assert_nothing_allocated(api, lot["id"])


def test_a_prepared_subject_cannot_be_planned_again(api, subject):
    lot = released_lot(api)
    dose = planned_dose(api, subject["id"], lot["id"])
    assert prepare(api, dose["id"]).status_code == 200
    r = plan(api, subject["id"], lot["id"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_dosed"


def test_containers_taken_by_one_dose_are_not_offered_to_the_next(api, study):
    lot = released_lot(api, containers=4)  # one worked-example dose takes 3
    a = enrol(api, study["id"], code="S-A", cohort="Expansion")
    b = enrol(api, study["id"], code="S-B", cohort="Expansion")
    dose_a, dose_b = planned_dose(api, a["id"], lot["id"]), planned_dose(api, b["id"], lot["id"])
    assert prepare(api, dose_a["id"]).status_code == 200
    r = prepare(api, dose_b["id"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "too_few_containers"
    assert bag_count() == 1
    assert container_statuses(api, lot["id"]).count("in_storage") == 1


def test_unknown_dose_is_404(api):
    assert api.get("/doses/9999", as_="pharm1").status_code == 404


# --- the weight's age and the study's weight cap ----------------------------------------------------------------

def test_a_weight_exactly_14_days_old_is_used(api, study):
    s = enrol(api, study["id"], code="S-14", cohort="Expansion", weight="80 kg",
              weighed_on=site_today() - dt.timedelta(days=14))
    r = plan(api, s["id"], released_lot(api)["id"])
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["dosing_weight"] == {"value": 80.0, "unit": "kg"}


def test_a_weight_15_days_old_is_refused(api, study):
    s = enrol(api, study["id"], code="S-15", cohort="Expansion", weighed_on=site_today() - dt.timedelta(days=15))
    r = plan(api, s["id"], released_lot(api)["id"])
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "weight_too_old"


def test_the_latest_weight_is_the_dosing_weight(api, subject):
    r = api.post(f"/subjects/{subject['id']}/weights", {"weight": "70 kg", "weighed_on": site_today().isoformat()},
                 as_="inv")
    assert r.status_code == 201
    r = plan(api, subject["id"], released_lot(api)["id"])
    assert r.get_json()["dosing_weight"] == {"value": 70.0, "unit": "kg"}
    assert r.get_json()["target_cells"]["value"] == pytest.approx(1.05e8)


def test_the_study_weight_cap_limits_the_dosing_weight(api):
    r = api.post("/studies", {"code": "CAP-1", "title": "capped", "escalation": "none", "weight_cap": "100 kg",
                              "cohorts": [{"name": "Expansion", "dose": "1.5e6 cell/kg", "size": 5}]}, as_="admin")
    assert r.status_code == 201, r.get_json()
    s = enrol(api, r.get_json()["id"], cohort="Expansion", weight="150 kg")
    r = plan(api, s["id"], released_lot(api, containers=10)["id"])
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["dosing_weight"] == {"value": 100.0, "unit": "kg"}
    assert r.get_json()["target_cells"]["value"] == pytest.approx(1.5e8)


# --- what changed between plan and preparation ------------------------------------------------------------------

def test_a_plan_made_stale_by_a_new_weight_is_refused_at_preparation(api, subject):
    lot = released_lot(api)
    dose = planned_dose(api, subject["id"], lot["id"])
    r = api.post(f"/subjects/{subject['id']}/weights", {"weight": "90 kg", "weighed_on": site_today().isoformat(),
                                                  "confirm_change": True, "reason": "re-weighed"}, as_="inv")
    assert r.status_code == 201
    r = prepare(api, dose["id"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "plan_out_of_date"
    assert_nothing_allocated(api, lot["id"])


def test_a_lot_held_after_planning_is_refused_at_preparation(api, subject):
    lot = released_lot(api)
    dose = planned_dose(api, subject["id"], lot["id"])
    r = api.post(f"/lots/{lot['id']}/hold", {"signature": sig(), "reason": "sterility investigation"}, as_="qa")
    assert r.status_code == 200, r.get_json()
    r = prepare(api, dose["id"])
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "lot_not_released" and r.get_json()["status"] == "on_hold"
    assert_nothing_allocated(api, lot["id"])


def test_only_a_pharmacist_prepares(api, subject):
    lot = released_lot(api)
    dose = planned_dose(api, subject["id"], lot["id"])
    assert prepare(api, dose["id"], as_="nurse1").status_code == 403
    assert_nothing_allocated(api, lot["id"])
