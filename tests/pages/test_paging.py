"""Keyset paging of long lists (lims/paging.py) and the lists that use it: a cursor names the last row shown, the
next page starts after it, filters are kept, and a cursor that is not one is a 422, never a 500."""
import datetime as dt
import re

import pytest

from lims.paging import decode_cursor, encode_cursor
from tests.support import make_donor, make_lot, make_product, signed_in


def test_a_cursor_round_trips_dates_times_numbers_and_text():
    key = (dt.date(2026, 11, 24), dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.timezone.utc), 7, "W1234")
    assert decode_cursor(encode_cursor(key), 4) == key


@pytest.mark.parametrize("cursor", ["", "not base64!", encode_cursor([1, 2]), "eyJ4IjogMX0", "A" * 600,
                                    encode_cursor([{"x": 1}])])
def test_a_cursor_that_is_not_one_of_the_list_is_refused_by_name(cursor):
    from lims.errors import Invalid
    with pytest.raises(Invalid) as refused:
        decode_cursor(cursor, 1)
    assert refused.value.fields == {"cursor": ["not a cursor of this list: start again from the first page"]}


@pytest.fixture
def many_lots(api):
    make_product(api)
    donor = make_donor(api, code="D-MANY")
    return [make_lot(api, donor_id=donor["id"], containers=1) for _ in range(55)]


def lot_links(page):
    return [int(i) for i in re.findall(r'href="/lots/(\d+)"><span class="din">', page)]


def test_the_lot_list_pages_newest_first_with_a_cursor(app, many_lots):
    tech = signed_in(app, "tech")
    first = tech.get("/lots").get_data(as_text=True)
    ids = [lot["id"] for lot in many_lots]
    assert lot_links(first) == sorted(ids, reverse=True)[:50]
    next_link = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = tech.get(next_link).get_data(as_text=True)
    assert lot_links(second) == sorted(ids, reverse=True)[50:]
    assert 'rel="next"' not in second and "First page" in second


def test_the_lot_list_keeps_its_filter_on_the_next_page(app, many_lots):
    tech = signed_in(app, "tech")
    first = tech.get("/lots?status=quarantine").get_data(as_text=True)
    next_link = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "status=quarantine" in next_link and "cursor=" in next_link


def test_the_lot_list_filters_by_manufacture_period(app, many_lots):
    tech = signed_in(app, "tech")
    assert lot_links(tech.get("/lots?since=2026-10-01&until=2026-10-01").get_data(as_text=True))
    assert not lot_links(tech.get("/lots?since=2026-10-02").get_data(as_text=True))


@pytest.mark.parametrize("query", ["cursor=garbage", "since=yesterday", "until=2026-13-01"])
def test_a_bad_cursor_or_date_on_a_list_page_is_422(app, many_lots, query):
    assert signed_in(app, "tech").get(f"/lots?{query}").status_code == 422
