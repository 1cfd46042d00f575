"""The pharmacist's pages: the worklist, the plan page's arithmetic, and preparing, verifying, labelling and
dispensing through the page forms (issue 4)."""
import datetime as dt

import pytest
from sqlalchemy import select

from lims.doses.models import Bag, Dose
from lims.extensions import db
from lims.lots.models import Container
from tests.support import (
    PASSWORD,
    enrol,
    expansion_study,
    labelled_dose,
    make_lot,
    planned_dose,
    prepared_dose,
    received_bag,
    record_qc,
    released_lot,
    signed_in,
    text_of,
    verified_bag,
)
from tests.support import page_text as text


@pytest.fixture
def study(api):
    return expansion_study(api)


@pytest.fixture
def subject(api, study):
    return enrol(api, study["id"], code="S-001", cohort="Expansion", weight="160 lb")


@pytest.fixture
def lot(api):
    return released_lot(api)


@pytest.fixture
def pharm1(app, users):
    return signed_in(app, "pharm1")


@pytest.fixture
def pharm2(app, users):
    return signed_in(app, "pharm2")


def site_now_local():
    from lims.timeutil import site_zone
    return dt.datetime.now(dt.UTC).astimezone(site_zone())


def dose_row(dose_id):
    db.session.expire_all()
    return db.session.get(Dose, dose_id)


# --- the worklist ----------------------------------------------------------------------------------------------

def test_worklist_offers_an_enrolled_subject_to_plan_from_released_lots_only(api, pharm1, subject, lot):
    make_lot(api)  # in quarantine: not offered
    page = pharm1.get("/doses")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "S-001" in body and 'action="/doses/new"' in body
    assert f'<option value="{lot["id"]}"' in body
    assert body.count("<option value=") == 1
    assert "No planned dose waits to be prepared." in text(page)
    assert "No labelled bag waits in the pharmacy to be dispensed." in text(page)


def test_worklist_with_nothing_to_do_says_so_at_every_step(pharm1):
    page = text(pharm1.get("/doses"))
    for sentence in ("No enrolled subject waits for a dose plan.", "No planned dose waits to be prepared.",
                     "No labelled bag waits for verification.", "No prepared bag waits for its label.",
                     "No labelled bag waits in the pharmacy to be dispensed."):
        assert sentence in page


def test_doses_pages_need_the_pharmacist_role(app, users, api, subject, lot):
    dose = planned_dose(api, subject["id"], lot["id"])
    nurse = signed_in(app, "nurse1")
    assert nurse.get("/doses").status_code == 403
    assert nurse.get(f"/doses/{dose['id']}").status_code == 403
    assert nurse.post("/doses/new", {"subject_id": subject["id"], "lot_id": lot["id"]}).status_code == 403


# --- planning --------------------------------------------------------------------------------------------------

def test_plan_through_the_page_shows_the_worked_example_step_by_step(pharm1, subject, lot):
    r = pharm1.post("/doses/new", {"subject_id": subject["id"], "lot_id": lot["id"]})
    assert r.status_code == 302
    dose = db.session.scalar(select(Dose).where(Dose.subject_id == subject["id"]))
    assert r.headers["Location"] == f"/doses/{dose.id}"
    page = text(pharm1.get(f"/doses/{dose.id}"))
    assert "160 lb weighed on" in page and "= 72.5748 kg" in page
    assert "1.5 × 10⁶ cell/kg × 72.5748 kg" in page and "1.0886 × 10⁸ cell" in page
    assert "1.2 × 10⁷ cell/mL × 90 %" in page and "1.08 × 10⁷ cell/mL" in page
    assert "= 10.0798 mL" in page and "rounded half-up to 0.1 mL" in page and "10.1 mL" in page
    assert "1.0908 × 10⁸ cell" in page
    assert "+0.20 % within ±10 %: met" in page
    assert "⌈10.1 mL ÷ 5.0 mL⌉ 3" in page
    assert "10.1 mL × 10 % × 1.1 g/mL ÷ 72.5748 kg 0.0153 g/kg at most 1 g/kg: met" in page
    assert "0.2 EU/mL × 10.1 mL ÷ 72.5748 kg 0.0278 EU/kg at most 5 EU/kg: met" in page
    assert "not met" not in page


def test_plan_refusal_is_shown_in_the_subjects_row_and_plans_nothing(api, pharm1, subject, lot):
    quarantined = make_lot(api)  # its QC complete, but never released
    record_qc(api, quarantined["id"])
    r = pharm1.post("/doses/new", {"subject_id": subject["id"], "lot_id": quarantined["id"]})
    assert r.status_code == 409
    row = r.get_data(as_text=True).split(f'name="subject_id" value="{subject["id"]}"')[1]
    assert "is quarantine, not released" in row
    assert db.session.scalar(select(Dose.id)) is None


def test_plan_without_a_lot_chosen_is_422_naming_the_field(pharm1, subject, lot):
    r = pharm1.post("/doses/new", {"subject_id": subject["id"]})
    assert r.status_code == 422
    assert "lot_id" in text(r) and "choose one from the list" in text(r)


def test_replanning_from_the_plan_page_supersedes_the_earlier_plan(api, pharm1, subject, lot):
    first = planned_dose(api, subject["id"], lot["id"])
    r = pharm1.post("/doses/new", {"subject_id": subject["id"], "lot_id": lot["id"], "replan_of": first["id"]})
    assert r.status_code == 302 and r.headers["Location"] != f"/doses/{first['id']}"
    old = pharm1.get(f"/doses/{first['id']}").get_data(as_text=True)
    assert "This plan was superseded" in text_of(old) and "Open the current dose" in text_of(old)
    assert f'action="/doses/{first["id"]}/prepare"' not in old and 'name="replan_of"' not in old
    assert dose_row(first["id"]).status == "superseded"


def test_plan_page_warns_when_preparing_now_would_be_refused(api, pharm1, subject, lot):
    dose = planned_dose(api, subject["id"], lot["id"])
    assert "Preparing now would be refused" not in text(pharm1.get(f"/doses/{dose['id']}"))
    today = site_now_local().date().isoformat()
    r = api.post(f"/subjects/{subject['id']}/weights", {"weight": "90 kg", "weighed_on": today,
                                                        "confirm_change": True, "reason": "re-weighed"}, as_="inv")
    assert r.status_code == 201
    page = text(pharm1.get(f"/doses/{dose['id']}"))
    assert "Preparing now would be refused: the plan is out of date (weight or QC results changed)" in page


# --- preparation and verification ------------------------------------------------------------------------------

def test_prepare_through_the_dialog_creates_the_bag_and_shows_the_discarded_remainder(api, pharm1, subject, lot):
    dose = planned_dose(api, subject["id"], lot["id"])
    thawed = (site_now_local() - dt.timedelta(minutes=20)).replace(second=0, microsecond=0)
    r = pharm1.post(f"/doses/{dose['id']}/prepare", {"thawed_at": thawed.strftime("%Y-%m-%dT%H:%M"),
                                                      "signature.password": PASSWORD})
    assert r.status_code == 302
    bag = db.session.scalar(select(Bag).where(Bag.dose_id == dose["id"]))
    assert bag.thawed_at.replace(tzinfo=dt.UTC) == thawed.astimezone(dt.UTC)
    page = text(pharm1.get(f"/doses/{dose['id']}"))
    assert f"Bag {bag.code} prepared" in page
    assert "Total 10.1 mL 4.9 mL discarded" in page
    assert page.count("5.0 mL 0.0 mL") == 2 and "0.1 mL 4.9 mL" in page
    assert "prepared by Pharm1 Person" in page
    assert "You prepared this dose; another pharmacist verifies it." in page


def test_prepare_with_a_wrong_password_shows_401_and_allocates_nothing(api, pharm1, subject, lot):
    dose = planned_dose(api, subject["id"], lot["id"])
    r = pharm1.post(f"/doses/{dose['id']}/prepare", {"signature.password": "not-mine"})
    assert r.status_code == 401 and "wrong password" in text(r)
    assert dose_row(dose["id"]).status == "planned"
    assert set(db.session.scalars(select(Container.status))) == {"in_storage"}


def test_prepare_with_a_future_thaw_time_shows_422(api, pharm1, subject, lot):
    dose = planned_dose(api, subject["id"], lot["id"])
    later = site_now_local() + dt.timedelta(hours=2)
    r = pharm1.post(f"/doses/{dose['id']}/prepare", {"thawed_at": later.strftime("%Y-%m-%dT%H:%M"),
                                                      "signature.password": PASSWORD})
    assert r.status_code == 422 and "a thaw time cannot be in the future" in text(r)
    assert dose_row(dose["id"]).status == "planned"


def verify_form(dose, bag=None, volume="10.1 mL", typed=False):
    scan = bag or dose["bag"]["scan"]
    return {("bag_typed" if typed else "bag"): scan, "measured_volume": volume, "signature.password": PASSWORD}


def test_verify_through_the_dialog_by_a_second_pharmacist(api, pharm2, subject, lot):
    dose = labelled_dose(api, subject["id"], lot["id"])
    r = pharm2.post(f"/doses/{dose['id']}/verify", verify_form(dose))
    assert r.status_code == 302
    assert dose_row(dose["id"]).status == "verified"
    page = text(pharm2.get(f"/doses/{dose['id']}"))
    assert "prepared by Pharm1 Person" in page and "verified by Pharm2 Person" in page
    assert "Dispense" in page


def test_the_verify_form_scans_the_label_and_asks_the_measured_volume(api, pharm2, subject, lot):
    dose = labelled_dose(api, subject["id"], lot["id"])
    page = pharm2.get(f"/doses/{dose['id']}").get_data(as_text=True)
    form = page[page.index('id="verify-dialog"'):page.index("</dialog>", page.index('id="verify-dialog"'))]
    assert 'name="bag" data-scan' in form and 'name="bag_typed"' in form and "Type instead" in form
    assert 'name="measured_volume"' in form


def test_the_planned_volume_is_not_shown_to_the_verifier_before_the_check(api, pharm1, pharm2, subject, lot):
    dose = labelled_dose(api, subject["id"], lot["id"])
    before = text(pharm2.get(f"/doses/{dose['id']}"))
    assert "10.1 mL" not in before and "The plan's figures are shown once the bag is verified" in before
    assert "10.1 mL" in text(pharm1.get(f"/doses/{dose['id']}"))  # the preparer knows what she drew
    assert pharm2.post(f"/doses/{dose['id']}/verify", verify_form(dose)).status_code == 302
    assert "10.1 mL" in text(pharm2.get(f"/doses/{dose['id']}"))


def test_a_measured_volume_off_the_plan_is_refused_on_the_page_and_recorded(api, pharm2, subject, lot):
    from lims.doses.models import DoseVerification
    dose = labelled_dose(api, subject["id"], lot["id"])
    r = pharm2.post(f"/doses/{dose['id']}/verify", verify_form(dose, volume="9.8 mL"))
    assert r.status_code == 409 and "(9.8 mL) is more than 0.1 mL from the plan (10.1 mL)" in text(r)
    assert dose_row(dose["id"]).status == "prepared"
    db.session.expire_all()
    assert [(v.ok, v.measured_volume_ml, v.bag_entry) for v in db.session.scalars(select(DoseVerification))] == \
        [(False, 9.8, "scanned")]


def test_a_typed_label_is_recorded_as_typed(api, pharm2, subject, lot):
    from lims.doses.models import DoseVerification
    dose = labelled_dose(api, subject["id"], lot["id"])
    r = pharm2.post(f"/doses/{dose['id']}/verify", verify_form(dose, bag=dose["bag"]["code"], typed=True))
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(DoseVerification.bag_entry)) == "typed"


def test_a_verify_form_without_a_scan_is_422(api, pharm2, subject, lot):
    dose = labelled_dose(api, subject["id"], lot["id"])
    r = pharm2.post(f"/doses/{dose['id']}/verify", {"measured_volume": "10.1 mL", "signature.password": PASSWORD})
    assert r.status_code == 422 and dose_row(dose["id"]).status == "prepared"


def test_the_verifier_is_asked_to_wait_for_the_label(api, pharm2, subject, lot):
    dose = prepared_dose(api, subject["id"], lot["id"])
    page = pharm2.get(f"/doses/{dose['id']}").get_data(as_text=True)
    assert "The label is not printed yet." in text_of(page) and 'id="verify-dialog"' not in page


def test_the_pharmacist_who_prepared_cannot_verify_403_on_the_page(api, pharm1, subject, lot):
    dose = labelled_dose(api, subject["id"], lot["id"])
    r = pharm1.post(f"/doses/{dose['id']}/verify", verify_form(dose))
    assert r.status_code == 403
    assert "segregation of duties" in text(r)
    assert dose_row(dose["id"]).status == "prepared"


def test_the_preparer_is_not_offered_verify_but_the_second_pharmacist_is(api, pharm1, pharm2, subject, lot):
    dose = labelled_dose(api, subject["id"], lot["id"])
    own = pharm1.get(f"/doses/{dose['id']}").get_data(as_text=True)
    assert "You prepared this dose; another pharmacist verifies it." in text_of(own)
    assert 'data-open-dialog="verify-dialog"' not in own and f'action="/doses/{dose["id"]}/verify"' not in own
    other = pharm2.get(f"/doses/{dose['id']}").get_data(as_text=True)
    assert 'data-open-dialog="verify-dialog"' in other and f'action="/doses/{dose["id"]}/verify"' in other
    assert "You prepared this dose" not in other and "Prepared by Pharm1 Person." in text_of(other)


def test_dose_page_and_worklist_show_the_lot_number_as_printed(api, pharm1, subject, lot):
    dose = planned_dose(api, subject["id"], lot["id"])
    din, check = lot["din"], lot["check_character"]
    boxed = f'<span class="din">{din[:5]} {din[5:7]} {din[7:]}</span> <span class="check"'
    page = pharm1.get(f"/doses/{dose['id']}").get_data(as_text=True)
    assert boxed in page and f'title="ISBT 128 check character">{check}</span>' in page
    assert f">{din[:5]} {din[5:7]} {din[7:]} {check} — " in page  # the lot choice to plan again (a plain <option>)
    assert boxed in pharm1.get("/doses").get_data(as_text=True)  # the dose waiting to be prepared


# --- label and dispensing --------------------------------------------------------------------------------------

def _dose_id(code):
    return db.session.scalar(select(Bag.dose_id).where(Bag.code == code))


def test_a_prepared_dose_offers_its_label_as_a_post_form(api, pharm1, subject, lot):
    bag = prepared_dose(api, subject["id"], lot["id"])["bag"]
    dose_id = _dose_id(bag["code"])
    page = pharm1.get(f"/doses/{dose_id}").get_data(as_text=True)
    form = page[page.index(f'<form method="post" action="/bags/{bag["code"]}/label.pdf" data-print-label>'):]
    assert 'name="csrf_token"' in form[:form.index("</form>")] and "Print label" in form[:form.index("</form>")]
    assert 'data-label-prints="0"' in page and f'data-dose-page="/doses/{dose_id}"' in page
    assert '<script src="/static/doses.js" defer></script>' in page
    assert pharm1.get("/static/doses.js").status_code == 200


def test_after_the_first_print_the_reprint_form_asks_for_a_reason(api, pharm1, subject, lot):
    bag = prepared_dose(api, subject["id"], lot["id"])["bag"]
    assert pharm1.post(f"/bags/{bag['code']}/label.pdf").status_code == 200
    page = pharm1.get(f"/doses/{_dose_id(bag['code'])}").get_data(as_text=True)
    assert 'data-label-prints="1"' in page
    assert f'<form method="post" action="/bags/{bag["code"]}/label.pdf" data-print-label>' in page
    assert 'name="reprint_reason"' in page and "voids the label printed before it" in text_of(page)


def test_a_reprint_without_a_reason_is_refused_beside_the_form(api, pharm1, subject, lot):
    bag = prepared_dose(api, subject["id"], lot["id"])["bag"]
    assert pharm1.post(f"/bags/{bag['code']}/label.pdf").status_code == 200
    r = pharm1.post(f"/bags/{bag['code']}/label.pdf", {"reprint_reason": ""})
    assert r.status_code == 422 and r.mimetype == "text/html"
    assert "a reprint needs a reason" in text(r) and 'id="label"' in r.get_data(as_text=True)


def test_the_dose_page_names_the_valid_label_and_each_one_a_reprint_voided(api, pharm1, subject, lot):
    bag = prepared_dose(api, subject["id"], lot["id"])["bag"]
    assert pharm1.post(f"/bags/{bag['code']}/label.pdf").status_code == 200
    assert pharm1.post(f"/bags/{bag['code']}/label.pdf", {"reprint_reason": "label smudged"}).status_code == 200
    page = text(pharm1.get(f"/doses/{_dose_id(bag['code'])}"))
    assert f"Labels printed for bag {bag['code']}" in page
    assert "1 (original)" in page and "Void: replaced by print 2" in page
    assert "2 (reprint)" in page and "label smudged" in page and "Valid: the label on the bag" in page
    assert page.count("Valid: the label on the bag") == 1


def dispense_form(bag, location="Research pharmacy", **extra):
    return {"bag": bag["scan"], "location": location, **extra}


def test_dispense_scans_the_bag_and_asks_where_it_goes_suggesting_earlier_wards(api, pharm1, study, subject, lot):
    earlier = enrol(api, study["id"], code="S-000", cohort="Expansion")
    received_bag(api, earlier["id"], lot["id"], ward="Stroke unit 4B")
    bag = verified_bag(api, subject["id"], lot["id"])
    body = pharm1.get(f"/doses/{_dose_id(bag['code'])}").get_data(as_text=True)
    assert 'name="bag" data-scan' in body and 'name="bag_typed"' in body
    assert '<label for="f-location">Dispensed to (ward or destination)</label>' in body
    assert '<input id="f-location" name="location" type="text" value=""' in body  # no default place
    assert 'list="destinations"' in body and "where S-001 is infused" in text_of(body)
    datalist = body[body.index('<datalist id="destinations">'):body.index("</datalist>")]
    assert '<option value="Stroke unit 4B">' in datalist


def test_dispense_records_the_scan_and_the_destination_in_the_custody_record(api, pharm1, subject, lot):
    from lims.chainofcustody.models import CustodyEvent
    bag = verified_bag(api, subject["id"], lot["id"])
    dose_id = _dose_id(bag["code"])
    r = pharm1.post(f"/doses/{dose_id}/dispense", dispense_form(bag, "Stroke unit 4B"))
    assert r.status_code == 302
    event = db.session.scalar(select(CustodyEvent).where(CustodyEvent.event == "dispensed"))
    assert (event.location, event.scanned, event.scan_entry) == ("Stroke unit 4B", bag["scan"], "scanned")
    assert "Bag " + bag["code"] + " dispensed to Stroke unit 4B." in text(pharm1.get(f"/doses/{dose_id}"))


def test_dispense_of_another_bag_is_409_and_moves_nothing(api, pharm1, study, subject, lot):
    bag = verified_bag(api, subject["id"], lot["id"])
    other = prepared_dose(api, enrol(api, study["id"], code="S-009", cohort="Expansion")["id"], lot["id"])["bag"]
    r = pharm1.post(f"/doses/{_dose_id(bag['code'])}/dispense", dispense_form(other))
    assert r.status_code == 409 and f"names bag {other['code']}, not bag {bag['code']}" in text(r)
    db.session.expire_all()
    assert db.session.scalar(select(Bag.status).where(Bag.code == bag["code"])) == "verified"


def test_dispense_without_a_scan_is_422_and_moves_nothing(api, pharm1, subject, lot):
    bag = verified_bag(api, subject["id"], lot["id"])
    r = pharm1.post(f"/doses/{_dose_id(bag['code'])}/dispense", {"location": "Research pharmacy"})
    assert r.status_code == 422
    db.session.expire_all()
    assert db.session.scalar(select(Bag.status).where(Bag.code == bag["code"])) == "verified"


def test_dispense_without_a_destination_is_422_and_moves_nothing(api, pharm1, subject, lot):
    bag = verified_bag(api, subject["id"], lot["id"])
    r = pharm1.post(f"/doses/{_dose_id(bag['code'])}/dispense", dispense_form(bag, ""))
    assert r.status_code == 422 and "Location" in text(r)
    db.session.expire_all()
    assert db.session.scalar(select(Bag.status).where(Bag.code == bag["code"])) == "verified"


def test_dispense_a_typed_code_moves_the_bag_and_says_it_was_typed(api, pharm1, subject, lot):
    from lims.chainofcustody.models import CustodyEvent
    bag = verified_bag(api, subject["id"], lot["id"])
    r = pharm1.post(f"/doses/{_dose_id(bag['code'])}/dispense", {"bag_typed": bag["code"],
                                                                 "location": "Research pharmacy"})
    assert r.status_code == 302
    db.session.expire_all()
    moved = db.session.scalar(select(Bag).where(Bag.code == bag["code"]))
    assert (moved.status, moved.location) == ("dispensed", "Research pharmacy")
    event = db.session.scalar(select(CustodyEvent).where(CustodyEvent.event == "dispensed"))
    assert event.scan_entry == "typed"


def test_dispense_of_a_planned_dose_is_409(api, pharm1, subject, lot):
    dose = planned_dose(api, subject["id"], lot["id"])
    r = pharm1.post(f"/doses/{dose['id']}/dispense", {"location": "Research pharmacy"})
    assert r.status_code == 409 and "has no bag to dispense yet" in text(r)


# --- the pharmacist's home -------------------------------------------------------------------------------------

def test_dashboard_counts_and_lists_each_step(api, pharm1, study, lot):
    to_plan = enrol(api, study["id"], code="S-PLAN", cohort="Expansion")
    to_prepare = enrol(api, study["id"], code="S-PREP", cohort="Expansion")
    to_verify = enrol(api, study["id"], code="S-VER", cohort="Expansion")
    planned = planned_dose(api, to_prepare["id"], lot["id"])
    prepared = labelled_dose(api, to_verify["id"], lot["id"])
    page = text(pharm1.get("/"))
    assert "1 to plan · 1 to prepare · 0 to label · 1 to verify · 0 to dispense" in page
    assert "Plan a dose for S-PLAN" in page and to_plan["code"] == "S-PLAN"
    assert f"Prepare dose {planned['id']} for S-PREP" in page
    assert f"Verify dose {prepared['id']} for S-VER you prepared it: another pharmacist must verify" in page


def test_dashboard_with_no_dose_work_says_so(pharm1):
    assert ("No dose work waits: every enrolled subject has a plan and every bag has left the pharmacy."
            in text(pharm1.get("/")))
