"""One record's whole history is one click from its page (SPEC §17): a lot, a subject, a bag."""
import re

from tests.support import enrol, expansion_study, page_text, received_bag, released_lot, signed_in


def _rows_text(response):
    """The text of the rows table alone (the filter's list of actions names every action too)."""
    page = page_text(response)
    return page[page.index("Rows, newest first"):page.index("Chain verification")]


def _history_href(html):
    return re.search(r'href="(/audit\?[^"]+)">History of this record', html).group(1).replace("&amp;", "&")


def test_a_bag_page_links_to_the_bag_history_with_its_custody_moves(app, api):
    lot = released_lot(api, containers=6)
    subject = enrol(api, expansion_study(api)["id"], cohort="Expansion")
    bag = received_bag(api, subject["id"], lot["id"])
    qa = signed_in(app, "qa")
    href = _history_href(qa.get(f"/bags/{bag['code']}").get_data(as_text=True))
    assert f"history of bag {bag['code']}" in page_text(qa.get(href))
    page = _rows_text(qa.get(href))
    for words in ("Bag made", "Label printed", "Bag dispensed", "Bag received on the ward"):
        assert words in page
    assert "Dose planned" not in page  # the dose is the subject's record, not the bag's


def test_a_subject_history_holds_the_weights_dose_and_bag_moves(app, api):
    lot = released_lot(api, containers=6)
    subject = enrol(api, expansion_study(api)["id"], cohort="Expansion")
    received_bag(api, subject["id"], lot["id"])
    qa = signed_in(app, "qa")
    href = _history_href(qa.get(f"/subjects/{subject['id']}").get_data(as_text=True))
    assert "history of subject S-001" in page_text(qa.get(href))
    page = _rows_text(qa.get(href))
    for words in ("Subject enrolled", "Weight recorded", "Dose planned", "Dose prepared", "Bag received on the ward"):
        assert words in page
    assert "QC result recorded" not in page


def test_a_lot_page_links_to_its_history_for_qa_only(app, api):
    lot = released_lot(api, containers=2)
    assert "History of this record" in signed_in(app, "qa").get(f"/lots/{lot['id']}").get_data(as_text=True)
    assert "History of this record" not in signed_in(app, "tech").get(f"/lots/{lot['id']}").get_data(as_text=True)
