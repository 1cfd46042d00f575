"""The header's search box (issue 15): what people scan or say goes straight to its record, or to a short list."""
import pytest

from lims.lots.isbt import printed
from tests.support import enrol, expansion_study, make_study, released_lot, signed_in, verified_bag
from tests.support import page_text as text


@pytest.fixture
def lot(api):
    return released_lot(api, containers=20)


@pytest.fixture
def nurse(app, users):
    return signed_in(app, "nurse1")


def found(client, q):
    return client.get("/search", query_string={"q": q})


def test_the_search_box_is_in_every_page_header(nurse):
    page = nurse.get("/ward").get_data(as_text=True)
    assert 'role="search" action="/search"' in page and 'name="q"' in page


@pytest.mark.parametrize("form", ["{din}", "{din}{check}", "{spaced}", "{spaced} {check}", "{lower}"])
def test_a_din_with_or_without_its_check_character_or_spaces_opens_its_lot(nurse, lot, form):
    din, check = lot["din"], lot["check_character"]
    q = form.format(din=din, check=check, spaced=f"{din[:5]} {din[5:7]} {din[7:]}", lower=din.lower())
    r = found(nurse, q)
    assert (r.status_code, r.headers["Location"]) == (303, f"/lots/{lot['id']}")


def test_the_isbt_128_din_barcode_opens_its_lot(nurse, lot):
    r = found(nurse, f"={lot['din']}00")
    assert (r.status_code, r.headers["Location"]) == (303, f"/lots/{lot['id']}")


def test_a_din_whose_check_character_is_wrong_is_refused_by_name(nurse, lot):
    wrong = "0" if lot["check_character"] != "0" else "1"
    r = found(nurse, lot["din"] + wrong)
    assert r.status_code == 200
    assert f"check character '{wrong}' does not match DIN {lot['din']}" in text(r)


def test_a_bag_qr_payload_or_bag_code_opens_the_bag(api, nurse, lot):
    subject = enrol(api, expansion_study(api)["id"], code="S-001", cohort="Expansion")
    bag = verified_bag(api, subject["id"], lot["id"])
    for q in (bag["scan"], bag["code"]):
        r = found(nurse, q)
        assert (r.status_code, r.headers["Location"]) == (303, f"/bags/{bag['code']}")


def test_a_container_code_opens_its_lot(nurse, lot):
    code = lot["containers"][0]["code"]
    r = found(nurse, code)
    assert (r.status_code, r.headers["Location"]) == (303, f"/lots/{lot['id']}#containers")


def test_a_wristband_or_a_subject_code_opens_the_subject(api, nurse):
    subject = enrol(api, expansion_study(api)["id"], code="S-001", wristband="MRN-0001", cohort="Expansion")
    for q in ("MRN-0001", "S-001"):
        r = found(nurse, q)
        assert (r.status_code, r.headers["Location"]) == (303, f"/subjects/{subject['id']}")


def test_a_subject_code_of_two_studies_answers_both(api, nurse):
    a = enrol(api, expansion_study(api, code="EXP-1")["id"], code="S-001", wristband="MRN-A", cohort="Expansion")
    b = enrol(api, expansion_study(api, code="EXP-2")["id"], code="S-001", wristband="MRN-B", cohort="Expansion")
    r = found(nurse, "S-001")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "2 studies have a subject S-001" in text(r)
    assert f'href="/subjects/{a["id"]}"' in page and f'href="/subjects/{b["id"]}"' in page


def test_the_first_digits_of_a_lot_number_list_the_lots_they_start(api, nurse, lot):
    other = released_lot(api, containers=2, product_exists=True)
    r = found(nurse, lot["din"][:9])
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert printed(lot["din"], lot["check_character"]) in text(r) and f'href="/lots/{other["id"]}"' in page


def test_nothing_found_says_so_and_keeps_what_was_typed(nurse, lot):
    r = found(nurse, "ZZZZ-404")
    assert r.status_code == 200 and "Nothing is named “ZZZZ-404” or starts with it." in text(r)
    assert 'value="ZZZZ-404"' in r.get_data(as_text=True)


@pytest.mark.parametrize("q", ["", "   ", "%", "_", "*", "MSC1:garbage", "a" * 5000, "\u202eW1234", "x'; DROP"])
def test_any_text_answers_a_page_never_an_error(nurse, lot, q):
    assert found(nurse, q).status_code == 200


def test_search_needs_a_signed_in_user(client):
    assert client.get("/search?q=W1234").status_code in (302, 401)


def test_a_study_subject_search_is_not_fooled_by_a_prefix_of_wildcards(api, nurse):
    make_study(api)
    assert "Nothing" in text(found(nurse, "S-%%"))
