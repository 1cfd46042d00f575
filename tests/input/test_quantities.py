"""SPEC §2: a quantity is exactly one plain decimal number and one unit of the field's kind, read by a grammar that
evaluates nothing. A decimal comma, arithmetic, a bare unit, an absurd magnitude: 422 naming the field, nothing
written, answered at once."""
import datetime as dt
import time

import pytest

from tests.input.helpers import refused, row_counts
from tests.support import (enrol, expansion_study, make_donor, make_product, make_study, received_bag, released_lot,
                           sig, today)


def _subject_body(study_id, **fields):
    body = {"study_id": study_id, "code": "S-001", "wristband": "MRN-0001", "cohort": "Tier 1", "weight": "72.5 kg",
            "weighed_on": (today() - dt.timedelta(days=1)).isoformat()}
    body.update(fields)
    return body


@pytest.fixture
def study(api):
    return make_study(api)


@pytest.fixture
def quarantined_lot(api):
    make_product(api)
    donor = make_donor(api)
    r = api.post("/lots", {"product_code": "S1234", "donor_id": donor["id"], "manufactured_on": "2026-10-01",
                           "expires_on": "2028-10-01", "container_count": 2, "fill_volume": "5 mL"}, as_="tech")
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_a_weight_with_a_decimal_comma_is_refused_with_use_a_decimal_point(api, study):
    before = row_counts()
    r = api.post("/subjects", _subject_body(study["id"], weight="29,5 kg"), as_="inv")
    assert "use a decimal point" in refused(r, 422, "weight")
    assert "29.5 kg" in refused(r, 422, "weight")
    assert row_counts() == before


def test_a_viability_with_a_decimal_comma_is_refused_not_read_as_88_percent(api, quarantined_lot):
    before = row_counts()
    r = api.post(f"/lots/{quarantined_lot['id']}/qc-results", {"test": "viability", "result": "8,8 %"}, as_="tech")
    assert "use a decimal point" in refused(r, 422, "result")
    assert row_counts() == before


@pytest.mark.parametrize("weight", ["7 kg * 10", "70 kg + 5 kg", "kg**2", "9**9**9 kg", "72 kg**2", "2**3 kg",
                                    "(70) kg", "70 kg - 1", "1e6**1e6 kg", "70 kg / 1"])
def test_a_weight_written_as_arithmetic_is_refused_at_once(api, study, weight):
    api.token("inv")
    before = row_counts()
    started = time.perf_counter()
    r = api.post("/subjects", _subject_body(study["id"], weight=weight), as_="inv")
    assert time.perf_counter() - started < 2.0  # no input keeps a worker computing (Pint took minutes on 9**9**9)
    refused(r, 422, "weight")
    assert row_counts() == before


@pytest.mark.parametrize("result", ["%", "percent", " % "])
def test_a_bare_percent_sign_is_not_one_percent(api, quarantined_lot, result):
    before = row_counts()
    r = api.post(f"/lots/{quarantined_lot['id']}/qc-results", {"test": "viability", "result": result}, as_="tech")
    assert "number is required" in refused(r, 422, "result")
    assert row_counts() == before


@pytest.mark.parametrize("result", ["92.5 pi", "92.5 ppm", "92.5 million", "0.925", "92.5 % kg"])
def test_a_percentage_is_only_ever_a_percent(api, quarantined_lot, result):
    r = api.post(f"/lots/{quarantined_lot['id']}/qc-results", {"test": "viability", "result": result}, as_="tech")
    refused(r, 422, "result")


def test_a_viability_typed_as_a_percent_is_stored_as_typed(api, quarantined_lot):
    r = api.post(f"/lots/{quarantined_lot['id']}/qc-results", {"test": "viability", "result": "88.8 %"}, as_="tech")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["result"] == {"value": 88.8, "unit": "%"}


@pytest.mark.parametrize("weight", ["160 lb", "72.5 kg", "72.5kg", {"value": 72.5, "unit": "kg"}, "7.25e1 kg",
                                    "72500 g", "+72.5 kg"])
def test_a_plain_number_and_one_unit_is_accepted(api, study, weight):
    r = api.post("/subjects", _subject_body(study["id"], weight=weight), as_="inv")
    assert r.status_code == 201, r.get_json()
    expected = 72.5747792 if weight == "160 lb" else 72.5
    assert r.get_json()["weights"][0]["weight"]["value"] == pytest.approx(expected, rel=1e-12)


def test_a_cohort_dose_in_millions_reads_as_pint_writes_it(api):
    cohorts = [{"name": "Tier 1", "dose": "1.5 million cell/kg", "size": 5}]
    study = make_study(api, code="MILLION-1", escalation="none", cohorts=cohorts)
    assert study["cohorts"][0]["dose"] == {"value": 1.5e6, "unit": "cell/kg"}


@pytest.mark.parametrize("weight, message", [
    ("٧٢ kg", "U+0667"),  # Arabic-Indic digits, which float() would read
    ("72_5 kg", "one number and one unit"),
    ("72.5 kg\n", "U+000A"),
    ("72.5\u202e kg", "U+202E"),
    ("72.5 KG", "unknown unit 'KG'"),
    ("72.5 m", "wrong dimension"),
    ("inf kg", "number is required"),
    ("nan kg", "number is required"),
    ("1e999 kg", "exponent"),
    ("7" * 65 + " kg", "too long"),
])
def test_what_is_not_one_number_and_one_unit_is_named(api, study, weight, message):
    r = api.post("/subjects", _subject_body(study["id"], weight=weight), as_="inv")
    assert message in refused(r, 422, "weight")


def test_a_post_thaw_stability_of_1e300_hours_is_refused(api):
    before = row_counts()
    for stability in ("1e300 h", {"value": 1e300, "unit": "h"}, "1e99 h", "0.001 h"):
        r = api.post("/products", {"code": "S1234", "name": "itMSC", "post_thaw_stability": stability}, as_="admin")
        refused(r, 422, "post_thaw_stability")
    assert row_counts() == before


def test_a_fill_volume_of_1e_minus_300_ml_is_refused(api, quarantined_lot):
    before = row_counts()
    r = api.post("/lots", {"product_code": "S1234", "donor_id": quarantined_lot["donor"]["id"],
                           "manufactured_on": "2026-10-01", "expires_on": "2028-10-01", "container_count": 2,
                           "fill_volume": {"value": 1e-300, "unit": "mL"}}, as_="tech")
    refused(r, 422, "fill_volume")
    assert row_counts() == before


@pytest.mark.parametrize("dose", ["1.5e-300 cell/kg", "1.5e20 cell/kg", {"value": 1e300, "unit": "cell/kg"}])
def test_an_absurd_cohort_dose_is_refused(api, dose):
    before = row_counts()
    r = api.post("/studies", {"code": "ABSURD", "title": "t", "escalation": "none",
                              "cohorts": [{"name": "Tier 1", "dose": dose, "size": 5}]}, as_="admin")
    assert r.status_code == 422, r.get_json()
    assert "dose" in r.get_json()["error"]["fields"]["cohorts"]["0"]
    assert row_counts() == before


@pytest.mark.parametrize("result, test", [("1e20 cell/mL", "cell_concentration"), ("1e90 EU/mL", "endotoxin"),
                                          ("140 %", "viability")])
def test_an_absurd_qc_result_is_refused(api, quarantined_lot, result, test):
    before = row_counts()
    r = api.post(f"/lots/{quarantined_lot['id']}/qc-results", {"test": test, "result": result}, as_="tech")
    assert "at most" in refused(r, 422, "result")
    assert row_counts() == before


@pytest.mark.parametrize("field, value", [("manufactured_on", "0001-01-01"), ("expires_on", "9999-12-31")])
def test_a_lot_date_in_year_1_or_9999_is_refused(api, quarantined_lot, field, value):
    before = row_counts()
    body = {"product_code": "S1234", "donor_id": quarantined_lot["donor"]["id"], "manufactured_on": "2026-10-01",
            "expires_on": "2028-10-01", "container_count": 2, "fill_volume": "5 mL", field: value}
    r = api.post("/lots", body, as_="tech")
    assert "between" in refused(r, 422, field)
    assert row_counts() == before


def test_a_weighing_in_year_1_is_refused(api, study):
    before = row_counts()
    r = api.post("/subjects", _subject_body(study["id"], weighed_on="0001-01-01"), as_="inv")
    refused(r, 422, "weighed_on")
    assert row_counts() == before


@pytest.fixture
def bag_on_the_ward(api):
    lot = released_lot(api)
    study = expansion_study(api)
    subject = enrol(api, study["id"], code="S-001", wristband="MRN-0001", cohort="Expansion")
    bag = received_bag(api, subject["id"], lot["id"])
    r = api.post("/bedside/verify", {"bag": bag["scan"], "wristband": "MRN-0001",
                                     "witness": {"username": "nurse2", "password": "Correct-horse-2026!"}},
                 as_="nurse1")
    assert r.status_code == 200, r.get_json()
    return bag


def _infusion(**fields):
    now = dt.datetime.now(dt.timezone.utc)
    body = {"started_at": (now - dt.timedelta(minutes=30)).isoformat(),
            "completed_at": (now - dt.timedelta(minutes=1)).isoformat(), "volume_infused": "10.1 mL",
            "reactions": [], "signature": sig()}
    body.update(fields)
    return body


@pytest.mark.parametrize("volume", ["1e-300 mL", {"value": 1e-300, "unit": "mL"}, "1e6 L", "10,1 mL"])
def test_an_absurd_volume_infused_is_refused(api, bag_on_the_ward, volume):
    before = row_counts()
    r = api.post(f"/bags/{bag_on_the_ward['code']}/infusion", _infusion(volume_infused=volume), as_="nurse1")
    refused(r, 422, "volume_infused")
    assert row_counts() == before


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00"])
def test_an_infusion_time_in_year_1_or_9999_is_refused_naming_it(api, bag_on_the_ward, moment):
    before = row_counts()
    r = api.post(f"/bags/{bag_on_the_ward['code']}/infusion", _infusion(started_at=moment), as_="nurse1")
    refused(r, 422, "started_at")
    assert row_counts() == before
