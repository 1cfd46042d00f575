"""The dose page offers a print or reprint form only for a bag whose label can print (SPEC §9): for a bag the label
API would refuse (discarded, infused, out of the pharmacy, expired, of a held lot) it shows instead one line saying
why, read from the labels service's one rule (labels.services.refusal)."""
import datetime as dt
import re

from sqlalchemy import select

from lims.doses.models import Bag
from lims.extensions import db
from tests.chainofcustody.helpers import dispense, expire_bag, hold_lot, infuse, now
from tests.labels.test_unprintable_bags import discarded_bag
from tests.support import bedside, page_text, received_bag, signed_in, text_of, verified_bag


def dose_page(app, code):
    db.session.expire_all()
    dose_id = db.session.scalar(select(Bag.dose_id).where(Bag.code == code))
    r = signed_in(app, "pharm1").get(f"/doses/{dose_id}")
    assert r.status_code == 200
    return r


def label_card(r):
    """The markup of the page's Label card."""
    found = re.search(r'<section class="card" id="label".*?</section>', r.get_data(as_text=True), re.S)
    assert found is not None
    return found.group(0)


def no_label_line(card):
    found = re.search(r'<p [^>]*id="no-label"[^>]*>(.*?)</p>', card, re.S)
    return None if found is None else text_of(found.group(1))


def assert_no_form_but(r, reason):
    card = label_card(r)
    assert "<form" not in card  # neither Print nor Reprint
    assert no_label_line(card) == reason
    assert "Reprint label" not in page_text(r)


def test_a_verified_in_date_bag_in_the_pharmacy_is_offered_the_reprint_form(app, api, subject, lot):
    bag = verified_bag(api, subject["id"], lot["id"])
    card = label_card(dose_page(app, bag["code"]))
    assert f'<form method="post" action="/bags/{bag["code"]}/label.pdf"' in card
    assert 'name="reprint_reason"' in card and "Reprint label" in card
    assert no_label_line(card) is None


def test_a_discarded_bag_shows_why_instead_of_the_reprint_form(app, api, subject, lot):
    bag = discarded_bag(api, subject, lot)
    assert_no_form_but(dose_page(app, bag["code"]), "Bag discarded: no label can be printed.")


def test_an_infused_bag_shows_why_instead_of_the_reprint_form(app, api, subject, lot):
    bag = received_bag(api, subject["id"], lot["id"])
    assert bedside(api, bag["scan"], subject["wristband"]).status_code == 200
    started = now()
    assert infuse(api, bag["code"], started, started + dt.timedelta(seconds=1)).status_code == 201
    assert_no_form_but(dose_page(app, bag["code"]),
                       "Bag infused: no label can be printed; its label is the record of the infusion.")


def test_a_dispensed_bag_shows_why_instead_of_the_reprint_form(app, api, subject, lot):
    bag = verified_bag(api, subject["id"], lot["id"])
    assert dispense(api, bag["scan"]).status_code == 201
    assert_no_form_but(dose_page(app, bag["code"]),
                       "Bag out of the pharmacy (dispensed): no label can be printed; return it to pharmacy first.")


def test_an_expired_bag_shows_why_in_site_time_instead_of_the_reprint_form(app, api, subject, lot):
    bag = verified_bag(api, subject["id"], lot["id"])
    expire_bag(bag["code"])
    card_text = no_label_line(label_card(dose_page(app, bag["code"])))
    assert card_text.startswith("Bag expired at ") and card_text.endswith(": no label can be printed; discard it.")
    assert " EST" in card_text or " EDT" in card_text
    assert_no_form_but(dose_page(app, bag["code"]), card_text)


def test_a_bag_of_a_held_lot_shows_why_in_words_instead_of_the_reprint_form(app, api, subject, lot):
    bag = verified_bag(api, subject["id"], lot["id"])
    hold_lot(api, lot["id"])
    assert_no_form_but(dose_page(app, bag["code"]),
                       "Lot on hold: no label can be printed until QA releases the lot.")
    r = api.get(f"/bags/{bag['code']}/label.pdf?reprint_reason=smudged", as_="pharm1")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "lot_blocked"
    assert "is on hold: its bags are blocked" in r.get_json()["error"]["message"]
    assert "on_hold" not in r.get_json()["error"]["message"]


def test_a_recalled_lots_refusals_say_recalled_in_words(api, subject, lot):
    bag = verified_bag(api, subject["id"], lot["id"])
    hold_lot(api, lot["id"], action="recall", reason="donor look-back")
    r = dispense(api, bag["scan"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "lot_blocked"
    assert "is recalled: its bags are blocked" in r.get_json()["error"]["message"]
