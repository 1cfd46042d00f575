"""Times a person reads are in the site's zone, to the minute (SPEC §11): the refusals of an expired bag (dispense,
receive, infusion) name the post-thaw expiry as the site's clock shows it, through the API and on the ward page,
never as UTC ISO with microseconds (a nurse reading "12:07" at 07:07 EST would think five hours were left)."""
import datetime as dt
from zoneinfo import ZoneInfo

from lims.doses.models import Bag
from lims.extensions import db
from tests.chainofcustody.helpers import dispense, expire_bag, infuse, now, receive
from tests.support import PageClient, bedside, page_text, received_bag, verified_bag

SITE = ZoneInfo("America/New_York")  # LIMS_TIMEZONE in the tests


def site(moment):
    return moment.astimezone(SITE).strftime("%Y-%m-%d %H:%M %Z")


def expiry_of(code):
    db.session.expire_all()
    return db.session.scalar(db.select(Bag.expires_at).where(Bag.code == code)).replace(tzinfo=dt.UTC)


def test_dispensing_an_expired_bag_names_its_expiry_in_site_time(api, subject, lot):
    bag = verified_bag(api, subject["id"], lot["id"])
    expire_bag(bag["code"])
    r = dispense(api, bag["scan"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "bag_expired"
    assert r.get_json()["error"]["message"] == (f"bag {bag['code']} passed its post-thaw expiry at "
                                                f"{site(expiry_of(bag['code']))}; it cannot be dispensed")


def test_receiving_an_expired_bag_names_its_expiry_in_site_time(api, subject, lot):
    bag = verified_bag(api, subject["id"], lot["id"])
    assert dispense(api, bag["scan"]).status_code == 201
    expire_bag(bag["code"])
    r = receive(api, bag["scan"])
    assert r.status_code == 409
    message = r.get_json()["error"]["message"]
    assert message == (f"bag {bag['code']} passed its post-thaw expiry at {site(expiry_of(bag['code']))}; "
                       "it cannot be received")
    assert "+00:00" not in message and message.count(":") == 1  # hours and minutes: no seconds, no fraction


def test_the_ward_page_shows_the_receive_refusal_in_site_time(app, api, subject, lot):
    bag = verified_bag(api, subject["id"], lot["id"])
    assert dispense(api, bag["scan"]).status_code == 201
    expire_bag(bag["code"])
    r = PageClient(app).sign_in("nurse1").post("/ward/receive", {"location": "Stroke unit", "bag": bag["scan"]})
    assert r.status_code == 409
    shown = page_text(r)
    assert f"bag {bag['code']} passed its post-thaw expiry at {site(expiry_of(bag['code']))}; it cannot be " \
           "received" in shown
    assert "+00:00" not in shown


def test_an_infusion_started_after_the_expiry_names_it_in_site_time(api, subject, lot):
    bag = received_bag(api, subject["id"], lot["id"])
    assert bedside(api, bag["scan"], subject["wristband"]).status_code == 200
    expire_bag(bag["code"])  # the expiry passed between the bedside check and the start
    started = now()
    r = infuse(api, bag["code"], started, started + dt.timedelta(seconds=1))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "bag_expired"
    assert r.get_json()["error"]["message"] == ("the infusion started after the bag's post-thaw expiry "
                                                f"({site(expiry_of(bag['code']))})")
