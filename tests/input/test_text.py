"""SPEC §18: codes, wristbands and usernames are NFC-normalised and refused (422 naming the field) when they hold
control, format or bidirectional characters, leading or trailing spaces, or nothing but spaces; a pattern ends at
the end of the text. Free text keeps newlines and tabs and refuses other control characters."""
import datetime as dt
import unicodedata

import pytest

from tests.input.helpers import refused, row_counts
from tests.support import make_study, signed_in, today

HOSTILE_CODES = {
    "right-to-left override": "\u202eMRN-6",
    "NUL": "MRN\x00-6",
    "trailing newline": "MRN-6\n",
    "a lone space": " ",
    "only spaces": "   ",
    "leading space": " MRN-6",
    "trailing space": "MRN-6 ",
    "zero-width space": "MRN\u200b-6",
    "line separator": "MRN\u2028-6",
    "tab": "MRN\t6",
    "empty": "",
}


def _subject_body(study_id, **fields):
    body = {"study_id": study_id, "code": "S-001", "wristband": "MRN-0001", "cohort": "Tier 1", "weight": "72.5 kg",
            "weighed_on": (today() - dt.timedelta(days=1)).isoformat()}
    body.update(fields)
    return body


@pytest.fixture
def study(api):
    return make_study(api)


@pytest.mark.parametrize("name", HOSTILE_CODES)
def test_a_hostile_wristband_is_refused_naming_it(api, study, name):
    api.token("inv")
    before = row_counts()
    r = api.post("/subjects", _subject_body(study["id"], wristband=HOSTILE_CODES[name]), as_="inv")
    refused(r, 422, "wristband")
    assert row_counts() == before


@pytest.mark.parametrize("name", ["trailing newline", "right-to-left override", "NUL", "trailing space"])
def test_a_subject_code_pattern_ends_at_the_end_of_the_text(api, study, name):
    code = HOSTILE_CODES[name].replace("MRN-6", "S-006")
    api.token("inv")
    before = row_counts()
    r = api.post("/subjects", _subject_body(study["id"], code=code), as_="inv")
    refused(r, 422, "code")
    assert row_counts() == before


@pytest.mark.parametrize("field, value", [("code", "D-0001\n"), ("code", "D\u202e-1")])
def test_a_donor_code_with_a_final_newline_or_an_override_is_refused(api, field, value):
    api.token("tech")
    before = row_counts()
    refused(api.post("/donors", {"code": value, "eligibility": "eligible"}, as_="tech"), 422, field)
    assert row_counts() == before


@pytest.mark.parametrize("username", ["nurse3\n", "nurse\u202e3", " nurse3", "nurse3\x00", "   "])
def test_a_hostile_username_is_refused_at_account_creation(api, username):
    api.token("admin")
    before = row_counts()
    r = api.post("/users", {"username": username, "full_name": "Nurse Three", "roles": ["nurse"],
                            "password": "Correct-horse-2026!"}, as_="admin")
    refused(r, 422, "username")
    assert row_counts() == before


@pytest.mark.parametrize("full_name", ["Nurse\nThree", "\u202eeerhT esruN", "Nurse Three\x07"])
def test_a_printed_name_is_one_line_without_controls(api, full_name):
    r = api.post("/users", {"username": "nurse3", "full_name": full_name, "roles": ["nurse"],
                            "password": "Correct-horse-2026!"}, as_="admin")
    refused(r, 422, "full_name")


def test_a_hostile_username_at_sign_in_is_refused_naming_it(client):
    r = client.post("/api/v1/auth/token", json={"username": "nurse1\n", "password": "x"})
    refused(r, 422, "username")


def test_a_wristband_is_stored_nfc_normalised(api, study):
    decomposed = "MRN-Jose\u0301"  # e + combining acute, as some keyboards send it
    r = api.post("/subjects", _subject_body(study["id"], wristband=decomposed), as_="inv")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["wristband"] == unicodedata.normalize("NFC", decomposed) == "MRN-Jos\u00e9"


def test_a_scan_with_a_control_character_is_refused_naming_the_bag(api):
    api.token("nurse1")
    before = row_counts()
    r = api.post("/custody/events", {"bag": "MSC1:W123426000001X:S1234:B001\x00", "event": "received",
                                     "location": "Ward 4"}, as_="nurse1")
    refused(r, 422, "bag")
    r = api.post("/bedside/verify", {"bag": "B-1", "wristband": "\u202eMRN-6",
                                     "witness": {"username": "nurse2\n", "password": "x"}}, as_="nurse1")
    assert "wristband" in r.get_json()["error"]["fields"]
    assert "username" in r.get_json()["error"]["fields"]["witness"]
    assert row_counts() == before


def test_a_location_is_one_line(api):
    r = api.post("/custody/events", {"bag": "B-1", "event": "received", "location": "Ward 4\n\u202e"},
                 as_="nurse1")
    refused(r, 422, "location")


@pytest.fixture
def lot(api):
    from tests.support import make_lot, make_product
    make_product(api)
    return make_lot(api)


def test_a_reason_keeps_its_newlines_and_tabs(api, lot):
    r = api.post(f"/lots/{lot['id']}/reject", {"signature": {"password": "Correct-horse-2026!"},
                                               "reason": "Sterility positive.\n\tSee deviation DV-12."}, as_="qa")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["dispositions"][-1]["reason"] == "Sterility positive.\n\tSee deviation DV-12."


@pytest.mark.parametrize("reason", ["Sterility positive\x00", "\u202edesoper", "   ", "\n\t", "bell\x07"])
def test_a_reason_with_other_control_characters_or_only_spaces_is_refused(api, lot, reason):
    api.token("qa")
    before = row_counts()
    r = api.post(f"/lots/{lot['id']}/reject", {"signature": {"password": "Correct-horse-2026!"}, "reason": reason},
                 as_="qa")
    refused(r, 422, "reason")
    assert row_counts() == before


def test_a_page_form_reads_text_through_the_api_rules(app, api, study):
    page = signed_in(app, "inv")
    before = row_counts()
    r = page.post(f"/studies/{study['id']}/subjects", {"code": "S-009", "wristband": "MRN\u202e-9",
                                                        "cohort": "Tier 1", "weight": "72.5 kg",
                                                        "weighed_on": (today() - dt.timedelta(days=1)).isoformat()})
    assert r.status_code == 422
    assert "control or formatting" in r.get_data(as_text=True)
    assert row_counts() == before


def test_a_page_form_refuses_a_decimal_comma(app, api, study):
    page = signed_in(app, "inv")
    before = row_counts()
    r = page.post(f"/studies/{study['id']}/subjects", {"code": "S-009", "wristband": "MRN-9", "cohort": "Tier 1",
                                                        "weight": "29,5 kg",
                                                        "weighed_on": (today() - dt.timedelta(days=1)).isoformat()})
    assert r.status_code == 422
    assert "use a decimal point" in r.get_data(as_text=True)
    assert row_counts() == before
