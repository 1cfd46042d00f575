"""SPEC §6 (issue 14): a weight far from the latest is the lb/kg slip and needs confirming with a reason; a weight
entered in error is struck through with a reason, never deleted, and no dose is planned from it."""
import pytest
from sqlalchemy import func, select

from lims.audit.models import AuditEntry
from lims.extensions import db
from lims.studies.models import SubjectWeight
from lims.timeutil import site_today
from tests.support import enrol, make_study, planned_dose, released_lot, signed_in, text_of
from tests.support import page_text as text


@pytest.fixture
def subject(api):
    # 160 lb = 72.5748 kg, weighed yesterday
    return enrol(api, make_study(api)["id"], code="S-001", weight="160 lb")


def weigh(api, subject, weight, **extra):
    return api.post(f"/subjects/{subject['id']}/weights",
                    {"weight": weight, "weighed_on": site_today().isoformat(), **extra}, as_="inv")


def strike(api, subject, weight_id, reason="entered in error: 165 lb typed as kg", as_="inv"):
    return api.post(f"/subjects/{subject['id']}/weights/{weight_id}/strike", {"reason": reason}, as_=as_)


def weight_count():
    return db.session.scalar(select(func.count()).select_from(SubjectWeight))


def audit_actions():
    return db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()


def weights_of(api, subject):
    return api.get(f"/subjects/{subject['id']}", as_="inv").get_json()["weights"]


# --- the change check ------------------------------------------------------------------------------------------

def test_a_weight_more_than_10_percent_from_the_latest_is_refused_naming_both_and_writes_nothing(api, subject):
    before = audit_actions()
    r = weigh(api, subject, "165 kg")
    assert r.status_code == 409
    body = r.get_json()
    assert body["error"]["code"] == "weight_change_unconfirmed"
    assert body["error"]["message"].startswith("72.6 kg → 165 kg:")
    assert "72.6 kg (160 lb)" in body["error"]["message"] and "+127 %" in body["error"]["message"]
    assert body["previous_weight"]["unit"] == "kg"
    assert body["previous_weight"]["value"] == pytest.approx(72.5747792)
    assert body["new_weight"] == {"value": 165.0, "unit": "kg"}
    assert weight_count() == 1 and audit_actions() == before


def test_a_drop_of_more_than_10_percent_is_refused_too(api, subject):
    r = weigh(api, subject, "64 kg")  # 72.6 kg → 64 kg is −11.8 %
    assert r.status_code == 409 and r.get_json()["change_percent"] == pytest.approx(-11.8, abs=0.05)


def test_a_change_within_10_percent_needs_no_confirmation(api, subject):
    r = weigh(api, subject, "79.5 kg")  # +9.5 %
    assert r.status_code == 201, r.get_json()
    assert weight_count() == 2


def test_a_confirmed_change_with_a_reason_is_recorded_with_the_reason_in_its_audit_row(api, subject):
    r = weigh(api, subject, "165 kg", confirm_change=True, reason="re-weighed on the ward scale: 165 kg is right")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["weight"] == {"value": 165.0, "unit": "kg"}
    row = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "subject.weighed")
                             .order_by(AuditEntry.seq.desc())).first()
    assert row.reason == "re-weighed on the ward scale: 165 kg is right"


def test_confirming_a_change_without_a_reason_is_422_and_writes_nothing(api, subject):
    r = weigh(api, subject, "165 kg", confirm_change=True)
    assert r.status_code == 422
    assert "reason" in r.get_json()["error"]["fields"]
    assert weight_count() == 1


def test_the_change_limit_is_a_setting(app, api, subject):
    app.config["LIMS_WEIGHT_CHANGE_CONFIRM_PERCENT"] = 50
    assert weigh(api, subject, "100 kg").status_code == 201  # +37.8 %
    assert weigh(api, subject, "160 kg").status_code == 409  # +60 %


# --- strike-through --------------------------------------------------------------------------------------------

def test_a_struck_weight_stays_in_the_record_struck_through_with_its_reason(api, subject):
    wrong = weigh(api, subject, "75 kg").get_json()
    r = strike(api, subject, wrong["id"], reason="another subject's weight")
    assert r.status_code == 200, r.get_json()
    listed = {w["id"]: w for w in weights_of(api, subject)}
    assert len(listed) == 2 and weight_count() == 2
    assert listed[wrong["id"]]["struck"] is True
    assert listed[wrong["id"]]["strike"]["reason"] == "another subject's weight"
    assert listed[wrong["id"]]["strike"]["struck_by"] == "Inv Person"
    assert listed[subject["weights"][0]["id"]]["struck"] is False
    row = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "subject.weight_struck")).one()
    assert (row.entity, row.entity_id, row.reason) == ("subject_weights", str(wrong["id"]), "another subject's weight")


def test_a_struck_weight_is_not_the_dosing_weight(api, subject):
    wrong = weigh(api, subject, "70 kg").get_json()
    assert strike(api, subject, wrong["id"]).status_code == 200
    dose = planned_dose(api, subject["id"], released_lot(api)["id"])
    assert dose["dosing_weight"]["value"] == pytest.approx(72.5747792)  # 160 lb, not the struck 70 kg


def test_the_change_check_compares_with_the_latest_weight_not_struck(api, subject):
    wrong = weigh(api, subject, "165 kg", confirm_change=True, reason="confirmed in haste").get_json()
    assert strike(api, subject, wrong["id"], reason="it was 165 lb").status_code == 200
    assert weigh(api, subject, "75 kg").status_code == 201  # +3.3 % from 72.6 kg; 165 kg no longer counts


def test_striking_without_a_reason_is_422(api, subject):
    r = api.post(f"/subjects/{subject['id']}/weights/{subject['weights'][0]['id']}/strike", {}, as_="inv")
    assert r.status_code == 422 and "reason" in r.get_json()["error"]["fields"]
    assert weights_of(api, subject)[0]["struck"] is False


def test_a_weight_is_struck_only_once(api, subject):
    wrong = weigh(api, subject, "75 kg").get_json()
    assert strike(api, subject, wrong["id"]).status_code == 200
    r = strike(api, subject, wrong["id"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "weight_already_struck"


def test_only_an_investigator_strikes_a_weight(api, subject):
    r = strike(api, subject, subject["weights"][0]["id"], as_="nurse1")
    assert r.status_code == 403
    assert weights_of(api, subject)[0]["struck"] is False


def test_another_subjects_weight_is_404(api, subject):
    other = enrol(api, subject["study_id"], code="S-002")
    r = strike(api, subject, other["weights"][0]["id"])
    assert r.status_code == 404


def test_a_weight_a_current_dose_was_planned_from_cannot_be_struck(api, subject):
    dose = planned_dose(api, subject["id"], released_lot(api)["id"])
    r = strike(api, subject, subject["weights"][0]["id"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "weight_in_use"
    assert r.get_json()["dose_id"] == dose["id"]


# --- the subject page ------------------------------------------------------------------------------------------

def test_the_page_asks_is_this_right_with_both_weights_in_kg_and_lb_and_records_once_confirmed(app, api, subject):
    inv = signed_in(app, "inv")
    form = {"weight": "165 kg", "weighed_on": site_today().isoformat()}
    r = inv.post(f"/subjects/{subject['id']}/weights", form)
    assert r.status_code == 409
    page = text(r)
    assert "72.6 kg → 165 kg: is this right?" in page
    assert "72.6 kg (160 lb)" in page and "165 kg (363.8 lb)" in page
    assert 'name="confirm_change"' in r.get_data(as_text=True) and weight_count() == 1
    r = inv.post(f"/subjects/{subject['id']}/weights", {**form, "confirm_change": "true", "reason": "re-weighed"})
    assert r.status_code == 302
    assert weight_count() == 2


def test_the_page_refuses_a_confirmation_without_a_reason(app, api, subject):
    inv = signed_in(app, "inv")
    r = inv.post(f"/subjects/{subject['id']}/weights",
                 {"weight": "165 kg", "weighed_on": site_today().isoformat(), "confirm_change": "true"})
    assert r.status_code == 422 and weight_count() == 1


def test_the_page_shows_a_struck_weight_struck_through_with_its_reason(app, api, subject):
    inv = signed_in(app, "inv")
    wrong = weigh(api, subject, "75 kg").get_json()
    r = inv.post(f"/subjects/{subject['id']}/weights/{wrong['id']}/strike", {"reason": "scale not zeroed"})
    assert r.status_code == 302
    markup = inv.get(f"/subjects/{subject['id']}").get_data(as_text=True)
    assert "<del>75 kg</del>" in markup
    assert "Struck through by Inv Person" in text_of(markup) and "scale not zeroed" in markup

