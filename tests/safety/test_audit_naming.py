"""SPEC §17 for adverse events: the audit trail names each as the product does (its term, under the subject's code),
its whole history is every version of it, and the trail's filter offers them."""
import pytest

from tests.safety.test_adverse_events import event_body, infuse, record
from tests.support import enrol, make_study, page_text, released_lot, signed_in


@pytest.fixture
def subject(api):
    study = make_study(api, code="AE-A", cohorts=[{"name": "Tier 1", "dose": "0.5e6 cell/kg", "size": 1}])
    subject = enrol(api, study["id"], code="S-001")
    infuse(api, subject, released_lot(api)["id"])
    return subject


def rows(api, **args):
    r = api.get("/audit", as_="qa", query_string=args)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["rows"]


def supersede(api, event_id, **kw):
    r = api.post(f"/adverse-events/{event_id}/supersede", event_body(**kw), as_="inv")
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_an_event_is_named_by_its_term_under_its_subject(api, subject):
    event = record(api, subject["id"], term="Anaphylaxis").get_json()
    found = rows(api, entity="adverse_event", entity_id=event["id"])
    assert [(r["action"], r["record"], r["record_href"]) for r in found] == [
        ("adverse_event.recorded", "adverse event Anaphylaxis of subject S-001", f"/subjects/{subject['id']}")]


def test_an_events_history_is_every_version_of_it_from_any_of_them(api, subject):
    first = record(api, subject["id"], term="Headache").get_json()
    second = supersede(api, first["id"], term="Migraine", reason="misread")
    third = supersede(api, second["id"], term="Migraine with aura", reason="day 7 visit")
    expected = [("adverse_event.superseded", str(second["id"]), "adverse event Migraine of subject S-001"),
                ("adverse_event.recorded", str(third["id"]), "adverse event Migraine with aura of subject S-001"),
                ("adverse_event.superseded", str(first["id"]), "adverse event Headache of subject S-001"),
                ("adverse_event.recorded", str(second["id"]), "adverse event Migraine of subject S-001"),
                ("adverse_event.recorded", str(first["id"]), "adverse event Headache of subject S-001")]
    for one in (first, second, third):
        assert [(r["action"], r["entity_id"], r["record"])
                for r in rows(api, entity="adverse_event", entity_id=one["id"])] == expected


def test_an_unknown_event_has_no_history(api, subject):
    r = api.get("/audit", as_="qa", query_string={"entity": "adverse_event", "entity_id": 999})
    assert r.status_code == 404


def test_a_subjects_history_holds_its_events_by_name(api, subject):
    record(api, subject["id"], term="Fever")
    records = {r["record"] for r in rows(api, entity="subjects", entity_id=subject["id"])}
    assert "adverse event Fever of subject S-001" in records and "subject S-001" in records


def test_the_trail_page_offers_adverse_events_and_filters_on_them(app, api, subject):
    record(api, subject["id"], term="Anaphylaxis", serious=True, relatedness="possible")
    qa = signed_in(app, "qa")
    assert '<option value="adverse_event.*" >Adverse events</option>' in qa.get("/audit").get_data(as_text=True)
    page = page_text(qa.get("/audit", query_string={"action": "adverse_event.*"})).split("Rows, newest first")[1]
    assert "Adverse event recorded adverse_event.recorded adverse event Anaphylaxis of subject S-001" in page
    assert "Lot released" not in page and "Infusion recorded" not in page
