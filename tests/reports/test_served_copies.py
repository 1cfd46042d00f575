"""The copies an inspector downloads, fetched from a served app as a site serves them (SPEC §17).

The test client runs every request inside the test's own app context, so a request's session, and every row it
loaded, outlives the request: a streamed body that reads the signed-in user after the view has returned passes
there and fails under a real server, where the request's session has ended by then. These tests fetch each CSV and
PDF copy over HTTP from the app on loopback (each request in its own context, as under gunicorn) and read it whole.
"""
import csv
import datetime as dt
import http.cookiejar
import io
import re
import urllib.request

import pytest

from lims.extensions import db
from tests.chainofcustody.helpers import infuse
from tests.reliability.servers import werkzeug_server
from tests.support import PASSWORD, bedside, enrol, expansion_study, received_bag, released_lot


def _signed_in_opener(site, username):
    """A browser's cookie jar, signed in through the sign-in form with its CSRF token."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = opener.open(f"{site}/login", timeout=15).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "username": username, "password": PASSWORD}).encode()
    with opener.open(f"{site}/login", data=body, timeout=15) as r:
        assert r.status == 200 and "/login" not in r.url, "the sign-in did not lead home"
    return opener


def _fetch(opener, url, headers=None):
    with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=60) as r:
        return r.status, r.headers.get_content_type(), r.read()


def _csv_copy(raw):
    """(head and tail lines as {name: value}, data rows) of an audit CSV copy."""
    meta, data = {}, []
    for cells in csv.reader(io.StringIO(raw.decode())):
        (meta.__setitem__(cells[0][2:], cells[1]) if cells and cells[0].startswith("#") else data.append(cells))
    return meta, data


@pytest.fixture
def site(app, api):
    lot = released_lot(api, containers=6)
    study = expansion_study(api)
    subject = enrol(api, study["id"], code="S-001", cohort="Expansion")
    bag = received_bag(api, subject["id"], lot["id"])
    assert bedside(api, bag["scan"], "MRN-S-001").status_code == 200
    now = dt.datetime.now(dt.timezone.utc)
    assert infuse(api, bag["code"], now - dt.timedelta(minutes=1), now,
                  volume=f"{bag['volume']['value']} mL").status_code == 201
    token = api.token("qa")
    db.session.remove()  # the served app's requests open their own sessions; this one holds nothing open
    with werkzeug_server(app) as url:
        yield {"url": url, "token": token, "lot": lot, "study": study}


def test_the_audit_csv_copy_streams_whole_from_the_api_of_a_served_app(site):
    status, kind, raw = _fetch(urllib.request.build_opener(), f"{site['url']}/api/v1/audit/export.csv",
                               {"Authorization": f"Bearer {site['token']}"})
    meta, data = _csv_copy(raw)
    assert (status, kind) == (200, "text/csv")
    assert meta["made by"] == "Qa Person (qa)"
    assert int(meta["rows"]) == len(data) - 1 > 0  # the column names are the first non-# line
    assert meta["chain"].startswith(f"verified: each of the {len(data) - 1} rows matches its hash")


def test_the_audit_csv_copy_streams_whole_from_the_page_of_a_served_app(site):
    status, kind, raw = _fetch(_signed_in_opener(site["url"], "qa"), f"{site['url']}/audit/export.csv?actor=qa")
    meta, data = _csv_copy(raw)
    assert (status, kind) == (200, "text/csv")
    assert meta["made by"] == "Qa Person (qa)" and meta["filters"] == "user qa"
    assert {row[2] for row in data[1:]} == {"qa"} and meta["chain"].startswith("verified: ")


@pytest.mark.parametrize(("path", "username", "first_column"), [
    ("/reports/accountability.csv", "qa", "lot"),
    ("/reports/near-misses.csv", "qa", "month"),
    ("/reports/studies/{study}/infusions.csv", "inv", "subject"),
])
def test_each_report_csv_is_served_whole(site, path, username, first_column):
    status, kind, raw = _fetch(_signed_in_opener(site["url"], username),
                               site["url"] + path.format(study=site["study"]["id"]))
    rows = list(csv.reader(io.StringIO(raw.decode())))
    assert (status, kind) == (200, "text/csv") and rows[0][0] == first_column
    if "infusions" in path:
        assert [row[0] for row in rows[1:]] == ["S-001"]


@pytest.mark.parametrize("path", ["/audit/export.pdf", "/lots/{lot}/certificate.pdf"])
def test_each_pdf_copy_is_served_whole(site, path):
    status, kind, raw = _fetch(_signed_in_opener(site["url"], "qa"), site["url"] + path.format(lot=site["lot"]["id"]))
    assert (status, kind) == (200, "application/pdf")
    assert raw.startswith(b"%PDF-") and raw.rstrip().endswith(b"%%EOF")
