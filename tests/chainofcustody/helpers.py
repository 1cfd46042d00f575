"""Small helpers shared by the chain-of-custody tests (SPEC §10-12)."""
import datetime as dt

from lims.doses.models import Bag
from lims.extensions import db
from tests.support import sig

BEDSIDE_CHECKS = {"right_subject", "bag_verified", "bag_received", "lot_released", "within_expiry", "not_infused",
                  "subject_not_yet_infused"}


def now():
    return dt.datetime.now(dt.timezone.utc)


def iso(t):
    return t.isoformat()


def bag_state(api, code):
    r = api.get(f"/bags/{code}", as_="nurse1")
    assert r.status_code == 200, r.get_json()
    return r.get_json()["status"]


def custody(api, code):
    r = api.get(f"/bags/{code}/custody", as_="nurse1")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def snapshot(api, code):
    """The bag's state and its custody trail, to prove that a refusal moved nothing."""
    return bag_state(api, code), custody(api, code)


def move(api, scan, event, as_, location="Ward 4"):
    return api.post("/custody/events", {"bag": scan, "event": event, "location": location}, as_=as_)


def dispense(api, scan, as_="pharm1"):
    return move(api, scan, "dispensed", as_, location="Research pharmacy")


def receive(api, scan, as_="nurse1"):
    return move(api, scan, "received", as_, location="Ward 4")


def infuse(api, code, started_at, completed_at, volume="10.1 mL", reactions=None, as_="nurse1", signature=None):
    return api.post(f"/bags/{code}/infusion",
                    {"started_at": iso(started_at), "completed_at": iso(completed_at), "volume_infused": volume,
                     "reactions": reactions or [], "signature": signature or sig()}, as_=as_)


def failure_names(response):
    return {f["name"] for f in response.get_json()["failures"]}


def expire_bag(code):
    """Puts the bag's post-thaw expiry in the past, straight in the database."""
    db.session.expire_all()
    bag = db.session.scalar(db.select(Bag).where(Bag.code == code))
    bag.expires_at = now() - dt.timedelta(minutes=1)
    db.session.commit()


def hold_lot(api, lot_id, action="hold", reason="sterility culture under investigation"):
    r = api.post(f"/lots/{lot_id}/{action}", {"signature": sig(), "reason": reason}, as_="qa")
    assert r.status_code == 200, r.get_json()
    return r.get_json()
