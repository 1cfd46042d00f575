"""The custody pages (issue 6): the ward, the bedside check and infusion, a bag's timeline, traces, near misses and
recalls, on both databases.

State is built through the API builders; the pages are driven as a browser would (PageClient posts forms with the
CSRF token) and the outcome is read back through the API.
"""
import datetime as dt
import html
import re

import pytest

from lims.chainofcustody.models import BedsideCheck
from lims.doses.models import Bag
from lims.extensions import db
from lims.timeutil import aware, site_zone
from tests.chainofcustody.helpers import bag_state, custody, dispense, expire_bag, now
from tests.support import PASSWORD, PageClient, enrol, received_bag, verified_bag

CHECK_LABELS = ("Right subject: the wristband matches the bag", "Dose verified by a second pharmacist",
                "Bag received on the ward", "Lot released (not on hold, not recalled)", "Within post-thaw expiry",
                "Bag never infused before")


@pytest.fixture
def pages(app, users):
    return lambda username: PageClient(app).sign_in(username)


def _text(response):
    return response.get_data(as_text=True)


def _without_csrf(response):
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', _text(response))


def _said(response):
    """The page as read: entities decoded ("witness&#39;s" is "witness's"), white space as one space."""
    return " ".join(html.unescape(_text(response)).split())


def _input(page, field_id):
    return re.search(rf'<input id="{field_id}"[^>]*>', page).group(0)


def _printed(lot):
    """A lot number as every page prints it (ui.din): "W1234 26 000001" with the check character boxed."""
    din = lot["din"]
    return (f'<span class="din">{din[:5]} {din[5:7]} {din[7:]}</span> '
            f'<span class="check" title="ISBT 128 check character">{lot["check_character"]}</span>')


def _near_miss_count():
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(BedsideCheck).where(BedsideCheck.ok.is_(False)))


def _dispensed(api, subject, lot):
    bag = verified_bag(api, subject["id"], lot["id"])
    assert dispense(api, bag["scan"]).status_code == 201
    return bag


def _set_expiry(code, expires_at):
    db.session.expire_all()
    db.session.scalar(db.select(Bag).where(Bag.code == code)).expires_at = expires_at
    db.session.commit()


def _bedside_form(bag, wristband, witness="nurse2", password=PASSWORD):
    return {"wristband": wristband, "bag": bag["scan"], "witness.username": witness, "witness.password": password}


def _site_time(moment):
    """A datetime-local value, to the second as the infusion form sends it."""
    return moment.astimezone(site_zone()).strftime("%Y-%m-%dT%H:%M:%S")


def _passed(api, pages, subject, lot):
    bag = received_bag(api, subject["id"], lot["id"])
    nurse = pages("nurse1")
    r = nurse.post("/bedside", _bedside_form(bag, subject["wristband"]))
    assert r.status_code == 303, _text(r)
    return nurse, bag, r.headers["Location"]


def _infuse(nurse, bag, reactions=""):
    # A second on: the form carries whole seconds, and the check happened within this one.
    start = _site_time(now() + dt.timedelta(seconds=1))
    r = nurse.post(f"/bags/{bag['code']}/infusion", {"started_at": start, "completed_at": start,
                                                      "volume_infused": "10.1 mL", "reactions": reactions,
                                                      "signature.password": PASSWORD})
    assert r.status_code == 302, _text(r)
    return r


def _infused(api, pages, subject, lot, reactions=""):
    nurse, bag, _ = _passed(api, pages, subject, lot)
    return nurse, bag, _infuse(nurse, bag, reactions)


# --- the ward ------------------------------------------------------------------------------------------------------

def test_nurse_receives_a_dispensed_bag_through_the_ward_page(api, pages, lot, subject):
    bag = _dispensed(api, subject, lot)
    nurse = pages("nurse1")
    waiting = _text(nurse.get("/ward"))
    assert "Dispensed, awaiting receipt" in waiting and bag["code"] in waiting

    r = nurse.post("/ward/receive", {"location": "Ward 4", "bag": bag["scan"]})
    assert r.status_code == 302 and r.headers["Location"] == "/ward?ward=Ward+4"
    page = _text(nurse.get(r.headers["Location"]))
    assert f"Bag {bag['code']} received on Ward 4 for subject S-001." in page
    assert "No bag is on its way from the pharmacy." in page
    received = api.get(f"/bags/{bag['code']}", as_="nurse1").get_json()
    assert (received["status"], received["location"], received["holder"]) == ("received", "Ward 4", "nurse1")
    assert custody(api, bag["code"])[-1]["scanned"] == bag["scan"]


def test_ward_refuses_a_garbage_scan_and_moves_nothing(api, pages, lot, subject):
    bag = _dispensed(api, subject, lot)
    r = pages("nurse1").post("/ward/receive", {"location": "Ward 4", "bag": "MSC1:garbage"})
    assert r.status_code == 422
    page = _text(r)
    assert re.search(r'<div class="alert" role="alert"[^>]*>\s*<strong>bag: not a bag label: scan the QR code on the '
                     r'bag \(scanned: MSC1:garbage\)</strong>', page)
    # The refused scan is named in the message, not put back in the field, where the next scan would append to it.
    assert 'value=""' in _input(page, "receive-bag") and "autofocus" in _input(page, "receive-bag")
    assert 'value="Ward 4"' in _input(page, "receive-location")
    assert bag_state(api, bag["code"]) == "dispensed"


def test_ward_receive_starts_at_the_ward_where_this_nurse_last_received_a_bag(api, pages, lot, subject):
    received_bag(api, subject["id"], lot["id"], ward="Stroke unit 4B")  # received by nurse1
    page = _text(pages("nurse1").get("/ward"))
    assert 'value="Stroke unit 4B"' in _input(page, "receive-location")
    assert "autofocus" in _input(page, "receive-bag") and "autofocus" not in _input(page, "receive-location")
    # A nurse who never received a bag starts at the empty Ward field; Enter there moves on to the scan (bedside.js).
    page = _text(pages("nurse2").get("/ward"))
    assert 'value=""' in _input(page, "receive-location") and "autofocus" in _input(page, "receive-location")
    assert "autofocus" not in _input(page, "receive-bag")


def test_ward_lists_its_bags_soonest_expiry_first_with_the_time_left(api, pages, lot, study, subject,
                                                                     other_subject):
    third = enrol(api, study["id"], code="S-003", wristband="MRN-0003", cohort="Expansion")
    later = received_bag(api, subject["id"], lot["id"])
    sooner = received_bag(api, other_subject["id"], lot["id"])
    expired = received_bag(api, third["id"], lot["id"])
    moment = now()
    _set_expiry(later["code"], moment + dt.timedelta(hours=2, minutes=14, seconds=40))
    _set_expiry(sooner["code"], moment + dt.timedelta(minutes=40, seconds=40))
    expire_bag(expired["code"])

    page = _text(pages("nurse1").get("/ward?ward=Ward+4"))
    rows = re.findall(r'<tr>\s*<td><a href="/bags/([^"]+)">.*?<td><time class="time-left (\w+)" datetime="([^"]+)" '
                      r'data-expires-at="\3">([^<]+)</time></td>', page, re.DOTALL)
    assert [(code, level, text) for code, level, _at, text in rows] == [
        (expired["code"], "expired", "EXPIRED"), (sooner["code"], "soon", "40 min left"),
        (later["code"], "ok", "2 h 14 min left")]
    # custody.js counts down from the expiry, to the second, in UTC
    assert rows[2][2] == (moment + dt.timedelta(hours=2, minutes=14, seconds=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert '<script src="/static/custody.js" defer></script>' in page


def test_ward_page_and_its_scans_are_for_nurses(pages, lot):
    assert pages("pharm1").get("/ward").status_code == 403
    assert pages("qa").get("/bedside").status_code == 403


# --- the bedside -----------------------------------------------------------------------------------------------

def test_bedside_check_passes_through_the_page_naming_every_check(api, pages, lot, subject):
    nurse, bag, result = _passed(api, pages, subject, lot)
    r = nurse.get(result)
    assert r.status_code == 200
    page = _text(r)
    assert '<h1 id="verdict" tabindex="-1" autofocus>PASS</h1>' in page  # the verdict takes the focus, read first
    assert re.findall(r'<li class="passed" data-check="(\w+)">', page) == [
        "right_subject", "bag_verified", "bag_received", "lot_released", "within_expiry", "not_infused",
        "subject_not_yet_infused"]
    assert all(text in page for text in CHECK_LABELS)
    assert f'action="/bags/{bag["code"]}/infusion"' in page  # the infusion record follows on the same flow
    assert bag_state(api, bag["code"]) == "bedside_verified"


def test_bedside_stop_on_a_wrong_wristband_shows_every_failed_check_and_is_a_near_miss(
        api, pages, lot, subject, other_subject):
    bag = received_bag(api, subject["id"], lot["id"])
    expire_bag(bag["code"])
    nurse = pages("nurse1")
    r = nurse.post("/bedside", _bedside_form(bag, other_subject["wristband"]))
    assert r.status_code == 303 and re.fullmatch(r"/bedside/checks/\d+", r.headers["Location"])
    page = _text(nurse.get(r.headers["Location"]))
    assert '<h1 id="verdict">STOP</h1>' in page
    assert re.findall(r'<li class="failed" data-check="(\w+)">', page) == ["right_subject", "within_expiry"]
    assert "this bag is for subject S-001, not S-002" in page and "post-thaw expiry passed at" in page
    assert bag_state(api, bag["code"]) == "received"

    near = _text(pages("qa").get("/near-misses"))
    assert bag["code"] in near and "MRN-0002" in near and "Nurse1 Person" in near and "Nurse2 Person" in near
    assert re.findall(r'<li data-check="(\w+)">', near) == ["right_subject", "within_expiry"]


def test_reloading_a_stop_page_reads_the_near_miss_again_and_records_nothing(api, pages, lot, subject,
                                                                              other_subject):
    bag = received_bag(api, subject["id"], lot["id"])
    nurse = pages("nurse1")
    stop = nurse.post("/bedside", _bedside_form(bag, other_subject["wristband"])).headers["Location"]
    assert _near_miss_count() == 1
    first, again = nurse.get(stop), nurse.get(stop)
    assert first.status_code == again.status_code == 200
    # The page's CSRF token carries its second of issue: two reads a second apart differ only there.
    assert _without_csrf(first) == _without_csrf(again) and '<h1 id="verdict">STOP</h1>' in _text(again)
    assert _near_miss_count() == 1
    assert len(re.findall(r'<li data-check="right_subject">', _text(pages("qa").get("/near-misses")))) == 1


def test_witness_who_is_the_scanning_nurse_is_refused_on_the_page(api, pages, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    r = pages("nurse1").post("/bedside", _bedside_form(bag, subject["wristband"], witness="nurse1"))
    assert r.status_code == 403
    page = _said(r)
    # Identity first: the scans matched before the witness was asked, so they stay on the witness step.
    assert "the witness must be a second nurse, not the one scanning" in page
    assert "Scans match: subject S-001" in page and f'name="bag" value="{bag["scan"]}"' in page
    # The refusal is about the witness: the focus goes to the witness's name, not to the password.
    assert 'data-focus="witness-username"' in page and 'value="nurse1"' in _input(page, "witness-username")
    assert PASSWORD not in page  # the password is never sent back
    assert bag_state(api, bag["code"]) == "received"
    assert "No bedside near miss has been recorded." in _text(pages("qa").get("/near-misses"))


def test_a_wrong_witness_password_is_called_the_witness_password_and_records_no_check(api, pages, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    r = pages("nurse1").post("/bedside", _bedside_form(bag, subject["wristband"], password="not-it"))
    assert r.status_code == 401
    page = _said(r)
    assert "The witness's password is wrong (nurse2): the witness types their own password." in page
    assert 'data-focus="witness-password"' in page and 'value="nurse2"' in _input(page, "witness-username")
    assert bag_state(api, bag["code"]) == "received" and _near_miss_count() == 0


def test_a_pass_page_becomes_history_once_the_bag_is_infused(api, pages, lot, subject):
    nurse, bag, check_page = _passed(api, pages, subject, lot)
    _infuse(nurse, bag)
    r = nurse.get(check_page)
    assert r.status_code == 200
    page = _said(r)
    assert '<h1 id="verdict">PASS</h1>' not in page and "verdict" not in page and "Record the infusion" not in page
    assert re.search(r"This check passed at <time[^>]*>\d{4}-\d\d-\d\d \d\d:\d\d \w+</time> \(witnessed by "
                     r"Nurse2 Person\); the bag is now <span class=\"badge infused\">infused</span> "
                     r"\(infusion recorded at \d{4}-\d\d-\d\d \d\d:\d\d \w+ by Nurse1 Person\)\.", page)
    assert f'href="/bags/{bag["code"]}"' in page


def test_infusion_recorded_through_the_page_moves_the_bag_to_infused(api, pages, lot, subject):
    nurse, bag, r = _infused(api, pages, subject, lot, reactions="mild chills\n\n headache \n")
    assert r.headers["Location"] == f"/bags/{bag['code']}"
    page = _text(nurse.get(r.headers["Location"]))
    assert f"Infusion recorded: bag {bag['code']}, subject S-001, 10.1 mL, signed by Nurse1 Person." in page
    assert "<li>mild chills</li><li>headache</li>" in page
    assert bag_state(api, bag["code"]) == "infused"
    assert [e["event"] for e in custody(api, bag["code"])][-2:] == ["infusing", "infused"]


def test_infusion_form_starts_at_the_bedside_check_and_leaves_the_end_to_the_nurse(api, pages, lot, subject):
    nurse, bag, result = _passed(api, pages, subject, lot)
    page = _text(nurse.get(result))
    check = db.session.get(BedsideCheck, int(result.rsplit("/", 1)[1]))
    at = aware(check.at)
    start = at.replace(microsecond=0) + dt.timedelta(seconds=1 if at.microsecond else 0)  # never before the check
    assert f'value="{_site_time(start)}"' in _input(page, "f-started_at")
    completed = _input(page, "f-completed_at")
    assert 'value=""' in completed and "required" in completed
    assert "when the bag ran through" in page

    r = nurse.post(f"/bags/{bag['code']}/infusion", {"started_at": _site_time(start), "completed_at": "",
                                                      "volume_infused": "10.1 mL", "signature.password": PASSWORD})
    assert r.status_code == 422 and "<strong>Completed at</strong>: Missing data for required field." in _text(r)
    assert bag_state(api, bag["code"]) == "bedside_verified"


def test_infusion_page_refuses_an_end_before_the_start_and_keeps_the_form(api, pages, lot, subject):
    nurse, bag, _ = _passed(api, pages, subject, lot)
    start = now()
    r = nurse.post(f"/bags/{bag['code']}/infusion", {
        "started_at": _site_time(start), "completed_at": _site_time(start - dt.timedelta(minutes=2)),
        "volume_infused": "10.1 mL", "reactions": "", "signature.password": PASSWORD})
    assert r.status_code == 422
    assert "the end cannot be before the start" in _text(r)
    assert f'value="{_site_time(start)}"' in _text(r)
    assert bag_state(api, bag["code"]) == "bedside_verified"


# --- a bag's custody and the traces ----------------------------------------------------------------------------

def test_custody_timeline_page_lists_events_in_order_with_one_mark_each(api, pages, lot, subject):
    _, bag, _ = _infused(api, pages, subject, lot)
    page = _text(pages("tech").get(f"/bags/{bag['code']}"))
    order = ["prepared", "verified", "dispensed", "received", "bedside_verified", "infusing", "infused"]
    assert re.findall(r'<tr data-event="(\w+)">', page) == order
    assert re.findall(r'<g class="mark" data-event="(\w+)">', page) == order
    assert 'role="img"' in page and f"<title id=\"custody-timeline-title\">Custody timeline of bag {bag['code']}" \
        in page
    assert _printed(lot) in page and "S-001" in page and bag["scan"] in page


def test_bag_page_lists_its_bedside_checks_stop_and_pass_beside_its_custody(api, pages, lot, subject,
                                                                           other_subject):
    bag = received_bag(api, subject["id"], lot["id"])
    nurse = pages("nurse1")
    stop_check = nurse.post("/bedside", _bedside_form(bag, other_subject["wristband"])).headers["Location"]
    assert nurse.post("/bedside", _bedside_form(bag, subject["wristband"])).status_code == 303
    table = re.search(r'<table class="bedside-checks">.*?</table>', _text(pages("qa").get(f"/bags/{bag['code']}")),
                      re.DOTALL).group(0)
    assert re.findall(r'<tr data-check-result="(\w+)">', table) == ["stop", "pass"]
    assert re.findall(r'<li data-check="(\w+)">', table) == ["right_subject"]  # the STOP says what failed
    assert "MRN-0002" in table and "MRN-0001" in table and "this bag is for subject S-001, not S-002" in table
    assert "/bedside/checks/" not in table  # the check pages are the nurses'; QA reads the row
    nurse_view = _text(nurse.get(f"/bags/{bag['code']}"))
    assert f'href="{stop_check}"' in nurse_view


def test_trace_pages_walk_lot_to_subjects_and_subject_to_donor(api, pages, lot, subject, other_subject):
    _, infused_bag, _ = _infused(api, pages, subject, lot)
    waiting = received_bag(api, other_subject["id"], lot["id"])
    qa = pages("qa")
    lot_page = _text(qa.get(f"/trace/lots/{lot['id']}"))
    assert infused_bag["code"] in lot_page and waiting["code"] in lot_page
    assert lot_page.count(f"{lot['din']}-S1234-C") == 10  # every container of the lot
    heading = f'<h1>Trace of lot {_printed(lot)} <span class="badge released">'
    assert heading in _said(qa.get(f"/trace/lots/{lot['id']}"))
    subject_page = _text(qa.get(f"/trace/subjects/{subject['id']}"))
    assert lot["donor"]["code"] in subject_page and infused_bag["code"] in subject_page
    assert _printed(lot) in subject_page
    assert len(re.findall(r'<g class="mark"', subject_page)) == 7
    assert qa.get("/trace/lots/999").status_code == 404


# --- QA: recalls -------------------------------------------------------------------------------------------------

def test_recall_page_lists_exactly_the_infused_subjects_after_a_recall_through_the_page(
        api, pages, lot, subject, other_subject):
    _, infused_bag, _ = _infused(api, pages, subject, lot)
    waiting = received_bag(api, other_subject["id"], lot["id"])
    qa = pages("qa")
    r = qa.post(f"/recalls/{lot['id']}", {"reason": "donor found ineligible on look-back",
                                          "signature.password": PASSWORD})
    assert r.status_code == 302, _text(r)
    page = _text(qa.get(r.headers["Location"]))
    assert f"Subjects to notify: S-001 (bag {infused_bag['code']})." in page
    article = re.search(rf'<article class="card" id="lot-{lot["id"]}".*?</article>', page, re.DOTALL).group(0)
    assert re.findall(r'<tr data-subject="([^"]+)">', article) == ["S-001"]
    assert re.findall(r'<li data-bag="([^"]+)">', article) == [waiting["code"]]
    assert "donor found ineligible on look-back" in article and _printed(lot) in article
    assert api.get(f"/lots/{lot['id']}", as_="qa").get_json()["status"] == "recalled"


def test_after_a_recall_the_lot_trace_calls_an_infused_bag_a_subject_to_notify_not_blocked(
        api, pages, lot, subject, other_subject):
    _, infused_bag, _ = _infused(api, pages, subject, lot)
    waiting = received_bag(api, other_subject["id"], lot["id"])
    qa = pages("qa")
    assert qa.post(f"/recalls/{lot['id']}", {"reason": "look-back", "signature.password": PASSWORD}).status_code \
        == 302
    page = _text(qa.get(f"/trace/lots/{lot['id']}"))
    rows = re.findall(r'<tr><td><a href="/bags/([^"]+)">.*?<td class="blocked" data-blocked="([^"]+)">', page,
                      re.DOTALL)
    assert rows == [(infused_bag["code"], "infused — subject to notify"), (waiting["code"], "yes")]


def test_recall_with_a_wrong_password_is_refused_and_the_lot_stays_released(api, pages, lot):
    r = pages("qa").post(f"/recalls/{lot['id']}", {"reason": "look-back", "signature.password": "wrong"})
    assert r.status_code == 401 and "wrong password" in _text(r)
    assert api.get(f"/lots/{lot['id']}", as_="qa").get_json()["status"] == "released"


def test_near_misses_and_recalls_are_for_qa(pages, lot):
    assert pages("nurse1").get("/near-misses").status_code == 403
    assert pages("nurse1").get("/recalls").status_code == 403


# --- dashboards ------------------------------------------------------------------------------------------------

def test_nurse_dashboard_shows_ward_bags_with_time_left_and_bags_on_their_way(api, pages, lot, subject,
                                                                              other_subject):
    nurse = pages("nurse1")
    home = _text(nurse.get("/"))
    assert "No bag is on the ward" in home and "No bag is on its way from the pharmacy." in home
    on_ward = received_bag(api, subject["id"], lot["id"])
    _set_expiry(on_ward["code"], now() + dt.timedelta(minutes=30, seconds=40))
    coming = _dispensed(api, other_subject, lot)  # thawed 15 minutes before its preparation: 3 h 45 min left
    home = _text(nurse.get("/"))
    countdown = r'<time class="time-left {}" datetime="[^"]+Z" data-expires-at="[^"]+Z">{}</time>'
    assert re.search(rf'{on_ward["code"]} — subject S-001</a> <span class="detail">'
                     + countdown.format("soon", "30 min left") + " · Ward 4 · received</span>", home)
    assert re.search(rf'{coming["code"]} — subject S-002</a> <span class="detail">'
                     + countdown.format("ok", r"3 h 4\d min left") + " · from Research pharmacy</span>", home)
    assert home.count('<script src="/static/custody.js" defer></script>') == 1  # it counts down in the page


def test_qa_dashboard_shows_near_misses_and_the_subjects_to_notify(api, pages, lot, subject, other_subject):
    qa = pages("qa")
    home = _text(qa.get("/"))
    assert "No bedside near miss has been recorded." in home and "No lot is on hold or recalled." in home
    _infused(api, pages, subject, lot)
    waiting = received_bag(api, other_subject["id"], lot["id"])
    pages("nurse1").post("/bedside", _bedside_form(waiting, subject["wristband"]))
    assert qa.post(f"/recalls/{lot['id']}", {"reason": "look-back", "signature.password": PASSWORD}).status_code \
        == 302
    home = _text(qa.get("/"))
    assert f"STOP: right subject failed — wristband MRN-0001 scanned for bag {waiting['code']}</a>" in home
    assert "1 infused subject(s) to notify: S-001" in home


# --- identity first (issue 17, SPEC §11) ------------------------------------------------------------------------

def _bedside_scans(nurse, bag, wristband, **extra):
    return nurse.post("/bedside", {"wristband": wristband, "bag": bag["scan"], **extra})


def test_a_wrong_wristband_stops_at_the_scans_and_is_a_near_miss_with_no_witness(app, api, lot, subject, other_subject):
    from lims.chainofcustody.models import BedsideCheck
    from lims.extensions import db
    bag = received_bag(api, subject["id"], lot["id"])
    nurse = PageClient(app).sign_in("nurse1")
    r = _bedside_scans(nurse, bag, other_subject["wristband"])
    assert r.status_code == 303 and "/bedside/checks/" in r.headers["Location"]
    db.session.expire_all()
    [check] = db.session.scalars(db.select(BedsideCheck)).all()
    assert (check.ok, check.witness_id, check.wristband_entry) == (False, None, "scanned")
    stop = nurse.get(r.headers["Location"]).get_data(as_text=True)
    assert "STOP" in stop and "before a witness was asked" in stop and 'name="witness.password"' not in stop


def test_matching_scans_ask_the_witness_and_record_nothing_yet(app, api, lot, subject):
    from lims.chainofcustody.models import BedsideCheck
    from lims.extensions import db
    bag = received_bag(api, subject["id"], lot["id"])
    nurse = PageClient(app).sign_in("nurse1")
    r = _bedside_scans(nurse, bag, subject["wristband"])
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Scans match: subject S-001" in page and 'name="witness.password"' in page
    assert db.session.scalar(db.select(db.func.count()).select_from(BedsideCheck)) == 0


def test_the_witnessed_check_passes_and_pass_names_volume_cells_and_time_left(app, api, lot, subject):
    from lims.chainofcustody.models import BedsideCheck
    from lims.extensions import db
    bag = received_bag(api, subject["id"], lot["id"])
    nurse = PageClient(app).sign_in("nurse1")
    r = nurse.post("/bedside", {"wristband_typed": subject["wristband"], "bag": bag["scan"],
                                "witness.username": "nurse2", "witness.password": PASSWORD})
    assert r.status_code == 303
    db.session.expire_all()
    check = db.session.scalar(db.select(BedsideCheck))
    assert (check.ok, check.wristband_entry, check.bag_entry) == (True, "typed", "scanned")
    page = nurse.get(r.headers["Location"]).get_data(as_text=True)
    assert "10.1 mL" in page and "109 million cells" in page and " left" in page and "PASS" in page
