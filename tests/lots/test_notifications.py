"""SPEC §5: notifying a subject of a recall or look-back is recorded (who, when, how) on the recall page."""
import datetime as dt

from sqlalchemy import func, select, update

from lims.extensions import db
from lims.lots.models import LotDisposition, SubjectNotification
from tests.lots.helpers import error, infused_bag
from tests.support import enrol, expansion_study, page_text, released_lot, sig, signed_in


def _recalled_with_subjects(api):
    lot = released_lot(api)
    study = expansion_study(api)
    s1 = enrol(api, study["id"], code="S-001", wristband="MRN-0001", cohort="Expansion")
    s2 = enrol(api, study["id"], code="S-002", wristband="MRN-0002", cohort="Expansion")
    infused_bag(api, s1, lot["id"])
    r = api.post(f"/lots/{lot['id']}/recall", {"signature": sig(), "reason": "late HBV result"}, as_="qa")
    assert r.status_code == 200, r.get_json()
    return lot, s1, s2


def test_a_notification_is_recorded_per_subject_with_who_when_and_how(api):
    lot, s1, _s2 = _recalled_with_subjects(api)
    when = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)  # after the recall, a moment ago
    r = api.post(f"/lots/{lot['id']}/notifications",
                 {"subject_id": s1["id"], "method": "phone", "notified_at": when.isoformat(),
                  "note": "spoke with the subject's daughter"}, as_="qa")
    assert r.status_code == 201, r.get_json()
    listed = api.get(f"/lots/{lot['id']}/notifications", as_="inv").get_json()
    assert [(n["subject_id"], n["method"], n["recorded_by"], n["note"]) for n in listed] == [
        (s1["id"], "phone", "qa", "spoke with the subject's daughter")]
    assert dt.datetime.fromisoformat(listed[0]["notified_at"]) == when


def test_a_notification_is_refused_for_a_subject_the_lot_never_reached_or_a_released_lot(api):
    lot, _s1, s2 = _recalled_with_subjects(api)
    r = api.post(f"/lots/{lot['id']}/notifications", {"subject_id": s2["id"], "method": "letter"}, as_="qa")
    assert r.status_code == 409 and error(r)["code"] == "subject_not_reached"
    other = released_lot(api, product_exists=True)
    r = api.post(f"/lots/{other['id']}/notifications", {"subject_id": s2["id"], "method": "letter"}, as_="qa")
    assert r.status_code == 409 and error(r)["code"] == "lot_not_held"
    r = api.post(f"/lots/{lot['id']}/notifications", {"subject_id": s2["id"], "method": "pigeon"}, as_="qa")
    assert r.status_code == 422 and "method" in error(r)["fields"]
    assert api.post(f"/lots/{lot['id']}/notifications", {"subject_id": s2["id"], "method": "letter"},
                    as_="nurse1").status_code == 403
    assert api.get(f"/lots/{lot['id']}/notifications", as_="qa").get_json() == []


def test_qa_records_a_notification_on_the_recall_page(app, api):
    lot, s1, _s2 = _recalled_with_subjects(api)
    qa = signed_in(app, "qa")
    assert "0 of 1 subject(s) notified" in page_text(qa.get("/recalls"))
    r = qa.post(f"/recalls/{lot['id']}/notifications", {"subject_id": str(s1["id"]), "method": "in_person",
                                                         "note": "at the 30-day visit"})
    assert r.status_code == 302, r.get_data(as_text=True)
    page = page_text(qa.get("/recalls"))
    assert "1 of 1 subject(s) notified" in page
    assert "in person" in page and "by Qa Person: “at the 30-day visit”" in page
    future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    refused = qa.post(f"/recalls/{lot['id']}/notifications", {"subject_id": str(s1["id"]), "method": "phone",
                                                               "notified_at": future})
    assert refused.status_code == 422 and "cannot be in the future" in page_text(refused)


def notification_count():
    return db.session.scalar(select(func.count()).select_from(SubjectNotification))


def test_a_notification_dated_before_the_recall_is_422_and_writes_nothing(api):
    lot, s1, _s2 = _recalled_with_subjects(api)
    before = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).isoformat()
    r = api.post(f"/lots/{lot['id']}/notifications", {"subject_id": s1["id"], "method": "phone",
                                                      "notified_at": before}, as_="qa")
    assert r.status_code == 422 and "notified_at" in error(r)["fields"]
    message = error(r)["message"]
    assert "was put on hold or recalled" in message and "a subject is notified after the hold or recall" in message
    assert notification_count() == 0


def test_a_recall_of_a_held_lot_counts_from_the_hold(api):
    lot = released_lot(api)
    subject = enrol(api, expansion_study(api)["id"], code="S-001", wristband="MRN-0001", cohort="Expansion")
    infused_bag(api, subject, lot["id"])
    assert api.post(f"/lots/{lot['id']}/hold", {"signature": sig(), "reason": "late HBV result"},
                    as_="qa").status_code == 200
    three_hours_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3)
    db.session.execute(update(LotDisposition).where(LotDisposition.lot_id == lot["id"],
                                                    LotDisposition.to_status == "on_hold").values(at=three_hours_ago))
    db.session.commit()
    assert api.post(f"/lots/{lot['id']}/recall", {"signature": sig(), "reason": "confirmed"},
                    as_="qa").status_code == 200
    told = (three_hours_ago + dt.timedelta(hours=1)).isoformat()
    r = api.post(f"/lots/{lot['id']}/notifications", {"subject_id": subject["id"], "method": "phone",
                                                      "notified_at": told}, as_="qa")
    assert r.status_code == 201, r.get_json()
    early = (three_hours_ago - dt.timedelta(hours=1)).isoformat()
    r = api.post(f"/lots/{lot['id']}/notifications", {"subject_id": subject["id"], "method": "phone",
                                                      "notified_at": early}, as_="qa")
    assert r.status_code == 422 and "was put on hold or recalled" in error(r)["message"] and notification_count() == 1


def test_the_recall_page_refuses_a_notification_before_the_recall_in_words(app, api):
    lot, s1, _s2 = _recalled_with_subjects(api)
    qa = signed_in(app, "qa")
    r = qa.post(f"/recalls/{lot['id']}/notifications", {"subject_id": str(s1["id"]), "method": "phone",
                                                         "notified_at": "2026-01-01T10:00"})
    assert r.status_code == 422 and "a subject is notified after the hold or recall" in page_text(r)
    assert notification_count() == 0
