"""The PASS page the nurse keeps open at the bedside reads the bag's lot, expiry and subject again at every load
(SPEC §5, §10, §11): a hold, a passed expiry or another bag infused since the check turns it to STOP, in words, with
no infusion form. Reloading changes nothing."""
import datetime as dt
import html
import re

import pytest
from sqlalchemy import func, select

from lims.audit.models import AuditEntry
from lims.extensions import db
from tests.chainofcustody.helpers import expire_bag, hold_lot, infuse, now
from tests.chainofcustody.test_one_infusion_per_subject import two_bags_on_the_ward
from tests.support import PASSWORD, PageClient, received_bag


@pytest.fixture
def pages(app, users):
    return lambda username: PageClient(app).sign_in(username)


def _said(response):
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def _pass_page(pages, bag, wristband):
    nurse = pages("nurse1")
    r = nurse.post("/bedside", {"wristband": wristband, "bag": bag["scan"], "witness.username": "nurse2",
                                "witness.password": PASSWORD})
    assert r.status_code == 303, r.get_data(as_text=True)
    return nurse, r.headers["Location"]


def _audit_rows():
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def test_the_pass_page_reloaded_after_a_hold_shows_stop_and_no_infusion_form(api, pages, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    nurse, result = _pass_page(pages, bag, subject["wristband"])
    assert "Record the infusion" in _said(nurse.get(result))
    hold_lot(api, lot["id"])
    audit = _audit_rows()

    r = nurse.get(result)

    assert r.status_code == 200
    page, said = r.get_data(as_text=True), _said(r)
    assert '<h1 id="verdict">STOP</h1>' in page and ">PASS<" not in page
    assert "<title>STOP — do not infuse — itMSC LIMS</title>" in page
    assert re.findall(r'<li class="failed" data-check="(\w+)">', page) == ["lot_released"]
    assert f"is on hold: do not infuse; return bag {bag['code']} (subject S-001, Ward 4) to pharmacy." in said
    assert "Record the infusion" not in said and f'action="/bags/{bag["code"]}/infusion"' not in page
    assert "Lot released (not on hold, not recalled)" in said  # named as the check that now fails
    assert 'class="passed"' not in page
    assert _audit_rows() == audit  # a page GET writes nothing


def test_the_pass_page_after_the_post_thaw_expiry_shows_stop(api, pages, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    nurse, result = _pass_page(pages, bag, subject["wristband"])
    expire_bag(bag["code"])
    page, said = nurse.get(result).get_data(as_text=True), _said(nurse.get(result))
    assert '<h1 id="verdict">STOP</h1>' in page
    assert re.findall(r'<li class="failed" data-check="(\w+)">', page) == ["within_expiry"]
    assert "The post-thaw expiry passed at " in said and f"do not infuse; return bag {bag['code']} to pharmacy" in said
    assert "Record the infusion" not in said


def test_the_pass_page_of_a_second_bag_after_the_subject_was_infused_shows_stop(api, pages, lot, subject):
    first, second = two_bags_on_the_ward(api, subject, lot)
    nurse, result = _pass_page(pages, second, subject["wristband"])
    from tests.support import bedside
    assert bedside(api, first["scan"], subject["wristband"]).status_code == 200
    start = now() - dt.timedelta(seconds=30)
    assert infuse(api, first["code"], start, start + dt.timedelta(seconds=10)).status_code == 201

    page, said = nurse.get(result).get_data(as_text=True), _said(nurse.get(result))
    assert re.findall(r'<li class="failed" data-check="(\w+)">', page) == ["subject_not_yet_infused"]
    assert "Subject S-001 was infused from another bag at " in said and "one dose per subject" in said
    assert "Record the infusion" not in said


def test_an_infusion_posted_from_a_pass_page_after_a_hold_is_refused_beside_the_stop(api, pages, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    nurse, _result = _pass_page(pages, bag, subject["wristband"])
    hold_lot(api, lot["id"])
    start = (now() + dt.timedelta(seconds=1)).astimezone(dt.UTC)
    from lims.timeutil import site_zone
    local = start.astimezone(site_zone()).strftime("%Y-%m-%dT%H:%M:%S")
    r = nurse.post(f"/bags/{bag['code']}/infusion", {"started_at": local, "completed_at": local,
                                                      "volume_infused": "10.1 mL", "reactions": "",
                                                      "signature.password": PASSWORD})
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert '<h1 id="verdict">STOP</h1>' in page and "Record the infusion" not in _said(r)
    assert "is on hold" in _said(r)


def test_the_pass_page_with_nothing_changed_still_passes(api, pages, lot, subject):
    bag = received_bag(api, subject["id"], lot["id"])
    nurse, result = _pass_page(pages, bag, subject["wristband"])
    page = nurse.get(result).get_data(as_text=True)
    assert '<h1 id="verdict" tabindex="-1" autofocus>PASS</h1>' in page and 'id="verdict">STOP' not in page
    assert f'action="/bags/{bag["code"]}/infusion"' in page
