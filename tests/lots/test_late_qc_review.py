"""SPEC §5: a QC result recorded or corrected after release, even one that still passes, flags the lot for QA's
review; it stays on QA's home page until QA signs that it has reviewed it. A failing one also holds the lot."""
from tests.lots.helpers import error
from tests.support import page_text, released_lot, sig, signed_in

LATE_SECTION = "QC results after release — to review"


def _correct(api, lot_id, test="viability", result="88 %", reason="recount of the post-thaw vial"):
    r = api.post(f"/lots/{lot_id}/qc-results", {"test": test, "result": result, "reason": reason}, as_="tech")
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _qa_home(app):
    return page_text(signed_in(app, "qa").get("/"))


def test_a_late_passing_qc_result_shows_on_qa_home_until_reviewed(app, api):
    lot = released_lot(api)
    assert "No QC result recorded after release waits for review." in _qa_home(app)
    _correct(api, lot["id"])
    home = _qa_home(app)
    assert "viability corrected after release: 88 %" in home
    assert "lot released, evaluation pass" in home
    assert api.get(f"/lots/{lot['id']}", as_="qa").get_json()["status"] == "released"  # it still passes

    r = api.post(f"/lots/{lot['id']}/qc-review", {"signature": sig(), "note": "within spec; no action"}, as_="qa")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert [(x["test"], x["correction"], x["note"]) for x in body["reviewed"]] == [
        ("viability", True, "within spec; no action")]
    assert body["signature"]["meaning"] == "reviewed" and body["signature"]["printed_name"] == "Qa Person"
    home = _qa_home(app)
    assert "viability corrected after release" not in home
    assert "No QC result recorded after release waits for review." in home
    reviews = api.get(f"/lots/{lot['id']}/qc-review", as_="pharm1").get_json()
    assert [(x["test"], x["reviewed_at"] is not None) for x in reviews] == [("viability", True)]


def test_a_late_failing_result_holds_the_lot_and_waits_for_review(app, api):
    lot = released_lot(api)
    _correct(api, lot["id"], test="sterility", result="positive", reason="final culture read at day 14")
    assert api.get(f"/lots/{lot['id']}", as_="qa").get_json()["status"] == "on_hold"
    assert "sterility corrected after release: positive" in _qa_home(app)
    assert "lot on hold, evaluation fail" in _qa_home(app)


def test_a_result_before_release_is_not_flagged(app, api):
    from tests.support import make_lot, make_product, record_qc
    make_product(api)
    lot = make_lot(api)
    record_qc(api, lot["id"], [("viability", "90 %")])
    assert api.get(f"/lots/{lot['id']}/qc-review", as_="qa").get_json() == []
    r = api.post(f"/lots/{lot['id']}/qc-review", {"signature": sig()}, as_="qa")
    assert r.status_code == 409 and error(r)["code"] == "nothing_to_review"


def test_the_review_is_signed_by_qa_only(app, api):
    lot = released_lot(api)
    _correct(api, lot["id"])
    assert api.post(f"/lots/{lot['id']}/qc-review", {"signature": sig()}, as_="tech").status_code == 403
    assert api.post(f"/lots/{lot['id']}/qc-review", {"signature": sig("Not-the-password-1")},
                    as_="qa").status_code == 401
    assert api.post(f"/lots/{lot['id']}/qc-review", {}, as_="qa").status_code == 422
    assert "viability corrected after release: 88 %" in _qa_home(app)


def test_qa_signs_the_review_on_the_lot_page(app, api):
    lot = released_lot(api)
    _correct(api, lot["id"])
    qa = signed_in(app, "qa")
    page = page_text(qa.get(f"/lots/{lot['id']}"))
    assert "QC results after release: 1 to review" in page and "waits for QA's review" in page
    r = qa.post(f"/lots/{lot['id']}/qc-review", {"signature.password": sig()["password"], "note": "read"})
    assert r.status_code == 302
    page = page_text(qa.get(f"/lots/{lot['id']}"))
    assert "to review" not in page and "reviewed by Qa Person" in page
