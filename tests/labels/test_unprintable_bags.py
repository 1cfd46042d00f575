"""A label prints only for a bag in the pharmacy that can still be given (SPEC §9, §10): a discarded, infused, out of
pharmacy or expired bag is refused (409 naming its state), and the refusal writes nothing: no print, no count, no
audit row, and the label on the bag stays the valid one. A bag returned to the pharmacy, in date, may be reprinted
before it is issued again."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from lims.audit.models import AuditEntry
from lims.doses.models import Bag
from lims.extensions import db
from lims.labels.models import LabelPrint
from tests.chainofcustody.helpers import dispense, expire_bag, infuse, move, now, receive
from tests.labels.conftest import pdf_text
from tests.support import bedside, enrol, label, page_text, received_bag, signed_in, verified_bag


def counts(code):
    """(label prints of the bag, LabelPrint rows, label audit rows): what a refused print must leave unchanged."""
    db.session.expire_all()
    prints = db.session.scalar(select(Bag.label_prints).where(Bag.code == code))
    rows = db.session.scalar(select(func.count()).select_from(LabelPrint))
    audited = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("label.%")))
    return prints, rows, audited


def discarded_bag(api, subject, lot):
    bag = verified_bag(api, subject["id"], lot["id"])
    r = api.post("/custody/events", {"bag": bag["scan"], "event": "discarded", "location": "Research pharmacy",
                                     "reason": "bag dropped, seal broken"}, as_="pharm1")
    assert r.status_code == 201, r.get_json()
    return bag


def infused_bag(api, subject, lot):
    bag = received_bag(api, subject["id"], lot["id"])
    assert bedside(api, bag["scan"], subject["wristband"]).status_code == 200
    started = now()
    r = infuse(api, bag["code"], started, started + dt.timedelta(seconds=1))
    assert r.status_code == 201, r.get_json()
    return bag


def refused(api, code, error_code):
    r = label(api, code, reason="need a new label")
    assert r.status_code == 409, r.get_json(silent=True)
    assert r.mimetype == "application/json"
    assert r.get_json()["error"]["code"] == error_code
    return r.get_json()


def test_a_discarded_bag_prints_no_label_and_nothing_is_recorded(api, subject, lot):
    bag = discarded_bag(api, subject, lot)
    before = counts(bag["code"])
    body = refused(api, bag["code"], "bag_discarded")
    assert body["error"]["message"] == f"bag {bag['code']} was discarded: a discarded bag prints no label"
    assert body["status"] == "discarded"
    assert counts(bag["code"]) == before == (1, 1, 1)


def test_a_discarded_bag_prints_no_zpl_label_either(api, subject, lot):
    bag = discarded_bag(api, subject, lot)
    r = api.get(f"/bags/{bag['code']}/label.zpl?reprint_reason=again", as_="pharm1")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "bag_discarded"
    assert counts(bag["code"]) == (1, 1, 1)


def test_an_infused_bag_prints_no_label(api, subject, lot):
    bag = infused_bag(api, subject, lot)
    body = refused(api, bag["code"], "bag_infused")
    assert "was infused" in body["error"]["message"] and body["status"] == "infused"
    assert counts(bag["code"]) == (1, 1, 1)


@pytest.mark.parametrize("moves", [("dispensed",), ("dispensed", "received")])
def test_a_bag_out_of_the_pharmacy_prints_no_label_until_it_is_returned(api, subject, lot, moves):
    bag = verified_bag(api, subject["id"], lot["id"])
    assert dispense(api, bag["scan"]).status_code == 201
    if "received" in moves:
        assert receive(api, bag["scan"]).status_code == 201
    body = refused(api, bag["code"], "bag_out_of_pharmacy")
    assert "return the bag to pharmacy first" in body["error"]["message"] and body["status"] == moves[-1]
    assert counts(bag["code"]) == (1, 1, 1)


def test_a_bag_returned_to_the_pharmacy_in_date_is_reprinted_before_it_is_issued_again(api, subject, lot):
    bag = received_bag(api, subject["id"], lot["id"])
    assert move(api, bag["scan"], "returned", "nurse1", location="Research pharmacy").status_code == 201
    r = label(api, bag["code"], reason="label wet on the ward")
    assert r.status_code == 200, r.get_json(silent=True)
    assert "REPRINT" in pdf_text(r.data)
    assert counts(bag["code"]) == (2, 2, 3)  # printed, reprinted, and the first print voided


def test_a_bag_past_its_post_thaw_expiry_prints_no_label_and_says_when_in_site_time(app, api, subject, lot):
    bag = verified_bag(api, subject["id"], lot["id"])
    expire_bag(bag["code"])
    expires_at = db.session.scalar(select(Bag.expires_at).where(Bag.code == bag["code"]))
    body = refused(api, bag["code"], "bag_expired")
    site = ZoneInfo(app.config["LIMS_TIMEZONE"])  # America/New_York in the tests
    shown = expires_at.replace(tzinfo=dt.timezone.utc).astimezone(site).strftime("%Y-%m-%d %H:%M %Z")
    assert body["error"]["message"] == (f"bag {bag['code']} passed its post-thaw expiry at {shown}: an expired bag "
                                        "prints no label; discard it")
    assert "+00:00" not in body["error"]["message"]
    assert counts(bag["code"]) == (1, 1, 1)


def test_a_batch_with_one_discarded_bag_prints_nothing_at_all(api, subject, lot):
    good = verified_bag(api, subject["id"], lot["id"])
    other = enrol(api, subject["study_id"], code="S-002", cohort="Expansion")
    gone = discarded_bag(api, other, lot)
    before = counts(good["code"]), counts(gone["code"])
    r = api.post("/labels/batch.pdf", {"bags": [good["code"], gone["code"]], "reprint_reason": "batch reprint"},
                 as_="pharm1")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "bag_discarded"
    assert (counts(good["code"]), counts(gone["code"])) == before
    assert before[0] == (1, 2, 2)  # each bag's original print, nothing from the refused batch


def test_the_dose_page_print_form_shows_the_refusal_and_keeps_the_label_valid(app, api, subject, lot):
    bag = discarded_bag(api, subject, lot)
    r = signed_in(app, "pharm1").post(f"/bags/{bag['code']}/label.pdf", {"reprint_reason": "need a new label"})
    assert r.status_code == 409 and r.mimetype == "text/html"
    text = page_text(r)
    assert f"bag {bag['code']} was discarded: a discarded bag prints no label" in text
    assert "Valid: the label on the bag" in text and "(reprint)" not in text
    assert counts(bag["code"]) == (1, 1, 1)
