"""Times a person reads are in the site's zone, to the minute (SPEC §11): the prepare form's refusal of a thaw
whose post-thaw expiry has passed echoes the pharmacist's own entry in site time, and the dose page's dispense
refusal of an expired bag names the expiry in site time, never UTC ISO with microseconds."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from lims.doses.models import Bag
from lims.extensions import db
from tests.chainofcustody.helpers import expire_bag
from tests.support import PASSWORD, enrol, expansion_study, planned_dose, released_lot, signed_in, sig, verified_bag
from tests.support import page_text as text

SITE = ZoneInfo("America/New_York")  # LIMS_TIMEZONE in the tests


def site(moment):
    return moment.astimezone(SITE).strftime("%Y-%m-%d %H:%M %Z")


@pytest.fixture
def subject(api):
    return enrol(api, expansion_study(api)["id"], code="S-001", cohort="Expansion")


@pytest.fixture
def lot(api):
    return released_lot(api)


def test_the_tests_run_in_the_site_zone_new_york(app):
    assert app.config["LIMS_TIMEZONE"] == "America/New_York"


def test_prepare_refuses_an_expired_thaw_naming_it_and_its_expiry_in_site_time(api, subject, lot):
    dose = planned_dose(api, subject["id"], lot["id"])
    thawed = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    r = api.post(f"/doses/{dose['id']}/prepare", {"signature": sig(), "thawed_at": thawed.isoformat()}, as_="pharm1")
    assert r.status_code == 422
    message = r.get_json()["error"]["fields"]["thawed_at"][0]
    assert message == (f"thawed at {site(thawed)}: its post-thaw expiry ({site(thawed + dt.timedelta(hours=4))}) "
                       "has already passed")
    assert "+00:00" not in message


def test_the_prepare_form_echoes_the_pharmacists_local_thaw_time_as_typed(app, api, subject, lot):
    dose = planned_dose(api, subject["id"], lot["id"])
    typed = (dt.datetime.now(dt.UTC).astimezone(SITE) - dt.timedelta(hours=5)).replace(second=0, microsecond=0)
    r = signed_in(app, "pharm1").post(f"/doses/{dose['id']}/prepare",
                                      {"thawed_at": typed.strftime("%Y-%m-%dT%H:%M"), "signature.password": PASSWORD})
    assert r.status_code == 422
    assert f"thawed at {typed.strftime('%Y-%m-%d %H:%M %Z')}: its post-thaw expiry" in text(r)
    assert "+00:00" not in text(r)


def test_the_dispense_form_refuses_an_expired_bag_naming_its_expiry_in_site_time(app, api, subject, lot):
    bag = verified_bag(api, subject["id"], lot["id"])
    expire_bag(bag["code"])
    row = db.session.scalar(select(Bag).where(Bag.code == bag["code"]))
    expires_at = row.expires_at.replace(tzinfo=dt.UTC)
    r = signed_in(app, "pharm1").post(f"/doses/{row.dose_id}/dispense",
                                      {"bag": bag["scan"], "location": "Research pharmacy"})
    assert r.status_code == 409
    assert (f"bag {bag['code']} passed its post-thaw expiry at {site(expires_at)}; it cannot be dispensed"
            in text(r))
    assert "+00:00" not in text(r)
