"""SPEC §10: a hold or recall reaches whoever holds a bag of that lot: their home and ward pages show it first, in
words, with what to do; the held bag shows no countdown as if usable; the pharmacist discards it with a reason."""
from tests.chainofcustody.helpers import hold_lot
from tests.pages.test_page_cost import cost
from tests.support import enrol, page_text, received_bag, signed_in, verified_bag

STOP = "STOP: bags of a lot on hold or recalled"


def _printed(api, lot):
    from lims.lots.isbt import printed
    return printed(lot["din"], lot["check_character"])


def test_a_hold_shows_first_on_the_nurses_home_page(app, api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    home = page_text(signed_in(app, "nurse1").get("/"))
    assert STOP not in home and "left" in home  # before the hold: the countdown
    hold_lot(api, lot["id"])
    home = page_text(signed_in(app, "nurse1").get("/"))
    words = (f"Lot {_printed(api, lot)} is on hold: do not infuse; return bag {bag['code']} (subject S-001, Ward 4) "
             "to pharmacy.")
    assert words in home
    assert home.index(STOP) < home.index("Bags on the ward, soonest expiry first")
    on_ward = home[home.index("Bags on the ward"):]
    assert "HELD: do not use" in on_ward and " left " not in on_ward


def test_a_recall_shows_first_on_the_ward_page(app, api, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    hold_lot(api, lot["id"], action="recall", reason="donor look-back")
    ward = page_text(signed_in(app, "nurse1").get("/ward"))
    assert f"is recalled: do not infuse; return bag {bag['code']}" in ward
    assert ward.index(STOP) < ward.index("Receive a bag")


def test_a_hold_shows_on_the_pharmacists_home_for_a_bag_not_yet_dispensed(app, api, lot, subject):
    bag = verified_bag(api, subject["id"], lot["id"])
    hold_lot(api, lot["id"])
    home = page_text(signed_in(app, "pharm1").get("/"))
    assert f"is on hold: do not dispense bag {bag['code']} (subject S-001" in home
    assert "discard it with a reason" in home


def test_the_pharmacist_discards_a_held_bag_with_a_reason_from_its_page(app, api, lot, subject):
    bag = verified_bag(api, subject["id"], lot["id"])
    hold_lot(api, lot["id"])
    pharm = signed_in(app, "pharm1")
    assert "Discard this bag (pharmacist)" in page_text(pharm.get(f"/bags/{bag['code']}"))
    refused = pharm.post(f"/bags/{bag['code']}/discard", {"bag": bag["scan"], "location": "Research pharmacy"})
    assert refused.status_code == 422 and "discarding a bag needs a reason" in page_text(refused)
    r = pharm.post(f"/bags/{bag['code']}/discard", {"bag": bag["scan"], "location": "Research pharmacy",
                                                    "reason": "lot on hold: donor look-back"})
    assert r.status_code == 302
    custody = api.get(f"/bags/{bag['code']}/custody", as_="qa").get_json()
    assert (custody[-1]["event"], custody[-1]["reason"]) == ("discarded", "lot on hold: donor look-back")
    assert STOP not in page_text(pharm.get("/"))


def test_a_discard_without_a_reason_is_refused_by_the_api(api, lot, subject):
    bag = verified_bag(api, subject["id"], lot["id"])
    r = api.post("/custody/events", {"bag": bag["scan"], "event": "discarded", "location": "Pharmacy"},
                 as_="pharm1")
    assert r.status_code == 422 and list(r.get_json()["error"]["fields"]) == ["reason"]


def test_the_held_bags_cost_the_same_statements_however_many(app, api, lot, study):
    first = enrol(api, study["id"], code="S-010", cohort="Expansion")
    received_bag(api, first["id"], lot["id"])
    hold_lot(api, lot["id"])
    nurse = signed_in(app, "nurse1")
    before = (cost(nurse, "/"), cost(nurse, "/ward"))
    from tests.support import released_lot
    other = released_lot(api, product_exists=True, containers=12)
    second = enrol(api, study["id"], code="S-011", cohort="Expansion")
    received_bag(api, second["id"], other["id"])
    hold_lot(api, other["id"])
    assert page_text(nurse.get("/")).count("do not infuse") == 2
    assert (cost(nurse, "/"), cost(nurse, "/ward")) == before
