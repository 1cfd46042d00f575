"""SPEC §3 and §5: registering a lot assigns a checked DIN and creates its containers in quarantine."""
from stdnum.iso7064 import mod_37_2

from lims.audit.models import AuditEntry
from lims.lots.models import Container, DinSequence, Lot
from lims.timeutil import site_today
from tests.lots.helpers import count, error
from tests.support import make_donor, make_lot, make_product


def _lot_body(donor_id, **extra):
    body = {"product_code": "S1234", "donor_id": donor_id, "manufactured_on": "2026-10-01",
            "expires_on": "2028-10-01", "container_count": 4, "fill_volume": "5 mL", "dmso_fraction": "10 %"}
    body.update(extra)
    return body


def test_registered_lot_gets_13_char_din_with_its_check_character(api, app):
    make_product(api)
    lot = make_lot(api, containers=10)
    fin = app.config["LIMS_FACILITY_FIN"]
    din = lot["din"]
    assert len(din) == 13
    assert din.startswith(f"{fin}{site_today().year % 100:02d}")
    assert din[7:].isdigit()
    assert lot["check_character"] == mod_37_2.calc_check_digit(din)
    assert mod_37_2.is_valid(din + lot["check_character"])


def test_registered_lot_is_in_quarantine_and_not_blocked(api):
    make_product(api)
    lot = make_lot(api)
    assert lot["status"] == "quarantine"
    assert lot["blocked"] is False
    assert lot["dispositions"] == []


def test_registered_lot_has_n_containers_in_storage_with_unique_codes(api):
    make_product(api)
    lot = make_lot(api, containers=7, fill="4.5 mL")
    containers = lot["containers"]
    assert len(containers) == 7 == lot["container_count"]
    assert {c["status"] for c in containers} == {"in_storage"}
    codes = [c["code"] for c in containers]
    assert len(set(codes)) == 7
    assert all(code.startswith(f"{lot['din']}-S1234-") for code in codes)
    assert len({c["division"] for c in containers}) == 7
    assert all(c["fill_volume"] == {"value": 4.5, "unit": "mL"} for c in containers)


def test_a_lot_registered_without_a_dmso_fraction_has_the_default_10_percent(api):
    make_product(api)
    donor = make_donor(api, code="D-DMSO")
    body = _lot_body(donor["id"])
    del body["dmso_fraction"]
    r = api.post("/lots", body, as_="tech")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["dmso_fraction"] == {"value": 10.0, "unit": "%"}


def test_registered_lot_echoes_its_fields_in_canonical_units(api):
    make_product(api)
    donor = make_donor(api, code="D-ECHO")
    r = api.post("/lots", _lot_body(donor["id"], fill_volume="0.005 L", dmso_fraction="5 %"), as_="tech")
    assert r.status_code == 201, r.get_json()
    lot = r.get_json()
    assert lot["fill_volume"] == {"value": 5.0, "unit": "mL"}
    assert lot["dmso_fraction"] == {"value": 5.0, "unit": "%"}
    assert lot["donor"] == {"id": donor["id"], "code": "D-ECHO", "eligibility": "eligible"}
    assert lot["product_code"] == "S1234"
    assert lot["manufactured_on"] == "2026-10-01" and lot["expires_on"] == "2028-10-01"
    assert lot["spec"]["version"] >= 1


def test_dmso_fraction_defaults_to_10_percent(api):
    make_product(api)
    donor = make_donor(api)
    body = _lot_body(donor["id"])
    del body["dmso_fraction"]
    r = api.post("/lots", body, as_="tech")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["dmso_fraction"] == {"value": 10.0, "unit": "%"}


def test_consecutive_lots_get_consecutive_distinct_dins(api):
    make_product(api)
    first = make_lot(api, containers=1)
    second = make_lot(api, containers=2)
    assert first["din"] != second["din"]
    assert int(second["din"][7:]) == int(first["din"][7:]) + 1


def test_registered_lot_can_be_read_back(api):
    make_product(api)
    lot = make_lot(api)
    r = api.get(f"/lots/{lot['id']}", as_="nurse1")
    assert r.status_code == 200
    assert r.get_json()["din"] == lot["din"] and r.get_json()["status"] == "quarantine"


def test_unknown_lot_is_404(api):
    r = api.get("/lots/999999", as_="tech")
    assert r.status_code == 404 and error(r)["code"] == "lot_not_found"


def test_only_a_technician_registers_a_lot(api):
    make_product(api)
    donor = make_donor(api)
    r = api.post("/lots", _lot_body(donor["id"]), as_="qa")
    assert r.status_code == 403
    assert count(Lot) == 0


def test_expiry_before_manufacture_is_422_naming_expires_on(api):
    make_product(api)
    donor = make_donor(api)
    r = api.post("/lots", _lot_body(donor["id"], expires_on="2026-09-30"), as_="tech")
    assert r.status_code == 422
    assert "expires_on" in error(r)["fields"]


def test_zero_containers_is_422_naming_container_count(api):
    make_product(api)
    donor = make_donor(api)
    r = api.post("/lots", _lot_body(donor["id"], container_count=0), as_="tech")
    assert r.status_code == 422
    assert "container_count" in error(r)["fields"]


def test_fill_volume_of_wrong_dimension_is_422_naming_fill_volume(api):
    make_product(api)
    donor = make_donor(api)
    r = api.post("/lots", _lot_body(donor["id"], fill_volume="5 kg"), as_="tech")
    assert r.status_code == 422
    assert "fill_volume" in error(r)["fields"]


def test_unknown_product_is_404_and_unknown_donor_is_404(api):
    make_product(api)
    donor = make_donor(api)
    r = api.post("/lots", _lot_body(donor["id"], product_code="NOPE"), as_="tech")
    assert r.status_code == 404 and error(r)["code"] == "product_not_found"
    r = api.post("/lots", _lot_body(987654), as_="tech")
    assert r.status_code == 404 and error(r)["code"] == "donor_not_found"


def test_refused_registration_writes_no_row_and_no_audit_entry(api):
    make_product(api)
    donor = make_donor(api)
    before = {m: count(m) for m in (Lot, Container, AuditEntry, DinSequence)}
    for bad in ({"expires_on": "2026-01-01"}, {"container_count": 0}, {"fill_volume": "5 kg"},
                {"dmso_fraction": "140 %"}, {"manufactured_on": "2999-01-01", "expires_on": "3001-01-01"},
                {"colour": "blue"}):
        r = api.post("/lots", _lot_body(donor["id"], **bad), as_="tech")
        assert r.status_code == 422, (bad, r.get_json())
    assert {m: count(m) for m in (Lot, Container, AuditEntry, DinSequence)} == before


def test_occupied_storage_position_is_409_and_consumes_no_din(api):
    make_product(api)
    donor = make_donor(api)
    storage = {"freezer": "LN2-1", "rack": "R1", "box": "B1", "first_position": 1}
    r = api.post("/lots", _lot_body(donor["id"], container_count=3, storage=storage), as_="tech")
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    assert [c["location"] for c in first["containers"]] == [f"LN2-1 / R1 / B1 / {n}" for n in (1, 2, 3)]
    audit_rows, lots = count(AuditEntry), count(Lot)
    r = api.post("/lots", _lot_body(donor["id"], container_count=2, storage=dict(storage, first_position=3)),
                 as_="tech")
    assert r.status_code == 409 and error(r)["code"] == "position_occupied"
    assert count(AuditEntry) == audit_rows and count(Lot) == lots
    r = api.post("/lots", _lot_body(donor["id"], container_count=2, storage=dict(storage, first_position=4)),
                 as_="tech")
    assert r.status_code == 201, r.get_json()
    assert int(r.get_json()["din"][7:]) == int(first["din"][7:]) + 1


def test_registration_is_audited(api):
    make_product(api)
    lot = make_lot(api)
    from sqlalchemy import select
    from lims.extensions import db
    row = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "lot.registered",
                                                     AuditEntry.entity_id == str(lot["id"])))
    assert row is not None and row.actor == "tech"
    assert lot["din"] in row.after
