"""SPEC §6: the follow-up schedule, days after the infusion, with each visit due, overdue or done on the
investigator's home page, and recorded as done with its date."""
import datetime as dt

import pytest
from sqlalchemy import func, select, update

from lims.extensions import db
from lims.studies.models import FollowUpVisit
from lims.timeutil import site_today
from tests.studies.test_studies import infuse
from tests.support import enrol, expansion_study, make_study, released_lot, signed_in
from tests.support import page_text as text


@pytest.fixture
def infused(api):
    study = expansion_study(api)
    subject = enrol(api, study["id"], code="S-001", cohort="Expansion")
    infuse(api, subject, released_lot(api)["id"])
    return subject


def visits(api, subject):
    r = api.get(f"/subjects/{subject['id']}/follow-up-visits", as_="nurse1")
    assert r.status_code == 200
    return {v["day"]: v for v in r.get_json()}


def record(api, subject, day, done_on=None, as_="inv"):
    return api.post(f"/subjects/{subject['id']}/follow-up-visits",
                    {"day": day, "done_on": (done_on or site_today()).isoformat()}, as_=as_)


def move_into_the_past(subject, day, days_ago):
    """The visit as it stands `days_ago` days after its window closed: the clock moved on."""
    closes = site_today() - dt.timedelta(days=days_ago)
    db.session.execute(update(FollowUpVisit).where(FollowUpVisit.subject_id == subject["id"], FollowUpVisit.day == day)
                       .values(closes_on=closes, due_on=closes - dt.timedelta(days=1),
                               opens_on=closes - dt.timedelta(days=2)))
    db.session.commit()


def test_an_infusion_schedules_the_reference_visits_from_the_infusion_day(api, infused):
    got = visits(api, infused)
    today = site_today()
    assert list(got) == [1, 7, 30, 90, 180, 365]
    assert got[30]["due_on"] == (today + dt.timedelta(days=30)).isoformat()
    assert (got[30]["opens_on"], got[30]["closes_on"]) == ((today + dt.timedelta(days=27)).isoformat(),
                                                          (today + dt.timedelta(days=33)).isoformat())
    assert got[365]["closes_on"] == (today + dt.timedelta(days=395)).isoformat()  # ±30 days at most
    assert got[1]["status"] == "due" and got[7]["status"] == "upcoming"  # day 1's window opens on the infusion day


def test_a_study_schedules_its_own_follow_up_days(api):
    r = api.post("/studies", {"code": "SHORT", "title": "t", "escalation": "none", "follow_up_days": [14, 2],
                              "cohorts": [{"name": "Expansion", "dose": "1.5e6 cell/kg", "size": 5}]}, as_="admin")
    subject = enrol(api, r.get_json()["id"], cohort="Expansion")
    infuse(api, subject, released_lot(api)["id"])
    assert list(visits(api, subject)) == [2, 14]


def test_a_subject_not_infused_has_no_visits_and_none_can_be_recorded(api):
    subject = enrol(api, make_study(api)["id"])
    assert visits(api, subject) == {}
    r = record(api, subject, 1)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_infused"


def test_a_visit_is_recorded_done_with_its_date(api, infused):
    r = record(api, infused, 1)
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["status"], r.get_json()["done_on"]) == ("done", site_today().isoformat())
    assert visits(api, infused)[1]["status"] == "done"


def test_a_visit_is_recorded_once(api, infused):
    assert record(api, infused, 1).status_code == 201
    r = record(api, infused, 1)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "visit_already_recorded"


def test_a_day_not_in_the_schedule_is_422(api, infused):
    r = record(api, infused, 8)
    assert r.status_code == 422 and "day" in r.get_json()["error"]["fields"]


def test_a_visit_done_in_the_future_or_before_the_infusion_is_422(api, infused):
    r = record(api, infused, 1, done_on=site_today() + dt.timedelta(days=1))
    assert r.status_code == 422 and "done_on" in r.get_json()["error"]["fields"]
    r = record(api, infused, 1, done_on=site_today() - dt.timedelta(days=1))
    assert r.status_code == 422 and "done_on" in r.get_json()["error"]["fields"]
    assert visits(api, infused)[1]["done_on"] is None


def test_only_an_investigator_records_a_visit(api, infused):
    assert record(api, infused, 1, as_="nurse1").status_code == 403


def test_a_visit_past_its_window_is_overdue(api, infused):
    move_into_the_past(infused, 7, days_ago=1)
    assert visits(api, infused)[7]["status"] == "overdue"


def test_the_investigators_home_shows_overdue_then_due_and_done_visits_with_counts(app, api, infused):
    move_into_the_past(infused, 7, days_ago=2)
    move_into_the_past(infused, 30, days_ago=1)
    assert record(api, infused, 30).status_code == 201  # late, but done
    page = text(signed_in(app, "inv").get("/"))
    assert "Follow-up visits: 1 overdue, 1 due, 1 done in the last 7 days" in page
    overdue, due, done = (page.index("S-001 · day 7 visit overdue"), page.index("S-001 · day 1 visit due"),
                          page.index("S-001 · day 30 visit done"))
    assert overdue < due < done


def test_the_home_page_shows_at_most_20_waiting_visits_and_how_many_more(app, api, infused):
    past = site_today() - dt.timedelta(days=5)
    db.session.add_all(FollowUpVisit(subject_id=infused["id"], day=1000 + n, opens_on=past, due_on=past,
                                     closes_on=past) for n in range(25))
    db.session.commit()
    inv = signed_in(app, "inv")
    markup = inv.get("/").get_data(as_text=True)
    assert markup.count("visit overdue") == 20
    assert "and <strong>6</strong> more" in markup  # 25 overdue and day 1 due: 26 wait, 20 shown
    page = text(inv.get("/follow-up"))
    assert "25 overdue, 1 due" in page


def test_the_subject_page_records_a_visit_done(app, api, infused):
    inv = signed_in(app, "inv")
    assert "day 1 (due" in text(inv.get(f"/subjects/{infused['id']}"))
    r = inv.post(f"/subjects/{infused['id']}/follow-up-visits", {"day": "1", "done_on": site_today().isoformat()})
    assert r.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(FollowUpVisit)
                             .where(FollowUpVisit.done_on.is_not(None))) == 1


def test_the_subject_page_refuses_a_visit_in_the_future(app, api, infused):
    inv = signed_in(app, "inv")
    r = inv.post(f"/subjects/{infused['id']}/follow-up-visits",
                 {"day": "1", "done_on": (site_today() + dt.timedelta(days=2)).isoformat()})
    assert r.status_code == 422 and "after today" in text(r)


@pytest.mark.parametrize("day", [180, 365])
def test_a_visit_done_before_its_window_opens_is_422_naming_the_window(api, infused, day):
    window = visits(api, infused)[day]
    r = record(api, infused, day)  # today, the day of the infusion
    assert r.status_code == 422 and "done_on" in r.get_json()["error"]["fields"]
    assert (f"the day {day} visit's window is {window['opens_on']} to {window['closes_on']}: a visit on "
            f"{site_today().isoformat()} comes before it opens") in r.get_json()["error"]["message"]
    assert visits(api, infused)[day]["done_on"] is None


def test_a_visit_on_the_day_its_window_opens_is_recorded(api, infused):
    opens = site_today()  # the clock moved on to the day the day-7 window opens
    db.session.execute(update(FollowUpVisit).where(FollowUpVisit.subject_id == infused["id"], FollowUpVisit.day == 7)
                       .values(opens_on=opens, due_on=opens + dt.timedelta(days=1),
                               closes_on=opens + dt.timedelta(days=2)))
    db.session.commit()
    assert record(api, infused, 7, done_on=opens).status_code == 201


def test_a_visit_in_the_future_is_422_even_inside_its_window(api, infused):
    r = record(api, infused, 1, done_on=site_today() + dt.timedelta(days=1))
    assert r.status_code == 422 and "after today" in r.get_json()["error"]["message"]
