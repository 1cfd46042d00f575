"""A bag's post-thaw expiry never outlives its lot (SPEC §5, §8): the bag expires at the earlier of thaw + the
product's post-thaw stability and the end of the lot's expiry day in the site's zone. Every check that reads the
bag's expiry (dispense, ward receipt, bedside, label, infusion) follows from that one stored time."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from lims import timeutil
from lims.doses import services as dose_services
from lims.extensions import db
from lims.lots.models import Lot
from tests.labels.conftest import pdf_text
from tests.support import enrol, expansion_study, label, planned_dose, released_lot, sig

SITE = ZoneInfo("America/New_York")  # LIMS_TIMEZONE in the tests


@pytest.fixture
def subject(api):
    return enrol(api, expansion_study(api)["id"], code="S-001", cohort="Expansion")


def site_clock(monkeypatch, moment):
    """The site's clock reads `moment` for the preparation (its `now` and the site's today)."""
    monkeypatch.setattr(timeutil, "utcnow", lambda: moment)
    monkeypatch.setattr(dose_services, "utcnow", lambda: moment)


def prepare(api, dose, thawed_at):
    return api.post(f"/doses/{dose['id']}/prepare", {"signature": sig(), "thawed_at": thawed_at.isoformat()},
                    as_="pharm1")


def late_tonight():
    """23:00 today in the site's zone (today as the real clock has it, so the bag is still in date afterwards)."""
    today = dt.datetime.now(dt.UTC).astimezone(SITE).date()
    return dt.datetime.combine(today, dt.time(23, 0), tzinfo=SITE).astimezone(dt.UTC), today


def test_a_bag_thawed_late_on_its_lots_expiry_day_expires_at_the_end_of_that_site_day(api, subject, monkeypatch):
    thawed, today = late_tonight()
    lot = released_lot(api, expires_on=today.isoformat())
    dose = planned_dose(api, subject["id"], lot["id"])
    site_clock(monkeypatch, thawed)
    r = prepare(api, dose, thawed)
    assert r.status_code == 200, r.get_json()
    end_of_day = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=SITE)
    expires = dt.datetime.fromisoformat(r.get_json()["bag"]["expires_at"])
    assert expires == end_of_day  # midnight after the lot's expiry day, site time: not thaw + 4 h (03:00)
    assert expires - thawed == dt.timedelta(hours=1)


def test_a_bag_from_a_lot_expiring_next_month_expires_four_hours_after_thaw(api, subject):
    next_month = dt.datetime.now(dt.UTC).astimezone(SITE).date() + dt.timedelta(days=31)
    lot = released_lot(api, expires_on=next_month.isoformat())
    dose = planned_dose(api, subject["id"], lot["id"])
    thawed = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=15)).replace(microsecond=0)
    r = prepare(api, dose, thawed)
    assert r.status_code == 200, r.get_json()
    assert dt.datetime.fromisoformat(r.get_json()["bag"]["expires_at"]) == thawed + dt.timedelta(hours=4)


def test_the_label_prints_the_capped_expiry(api, subject, monkeypatch):
    thawed, today = late_tonight()
    lot = released_lot(api, expires_on=today.isoformat())
    dose = planned_dose(api, subject["id"], lot["id"])
    site_clock(monkeypatch, thawed)
    bag = prepare(api, dose, thawed).get_json()["bag"]
    monkeypatch.undo()
    text = " ".join(pdf_text(label(api, bag["code"]).data).split())  # the PDF wraps lines; the words count
    midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=SITE).strftime("%Y-%m-%d %H:%M %Z")
    assert f"Expires (use by) {midnight}" in text and f"use by {midnight}." in text
    four_hours = (thawed + dt.timedelta(hours=4)).astimezone(SITE).strftime("%Y-%m-%d %H:%M %Z")
    assert four_hours not in text


def test_preparing_from_a_lot_past_its_expiry_is_refused_naming_the_expiry(api, subject):
    lot = released_lot(api)
    dose = planned_dose(api, subject["id"], lot["id"])
    expired_on = dt.datetime.now(dt.UTC).astimezone(SITE).date() - dt.timedelta(days=1)
    db.session.execute(update(Lot).where(Lot.id == lot["id"]).values(expires_on=expired_on))
    db.session.commit()
    r = prepare(api, dose, dt.datetime.now(dt.UTC) - dt.timedelta(hours=5))  # also a thaw whose 4 h passed
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "lot_expired"
    assert f"expired on {expired_on.isoformat()}" in r.get_json()["error"]["message"]
    assert api.get(f"/doses/{dose['id']}", as_="pharm1").get_json()["status"] == "planned"
