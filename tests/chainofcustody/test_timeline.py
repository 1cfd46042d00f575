"""The custody timeline drawn as SVG on the server (lims.chainofcustody.timeline): one mark per event, in order,
times in the site's zone, readable by a screen reader. Pure functions: no database, no app."""
import re
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from lims.chainofcustody.timeline import custody_svg, local_time

NEW_YORK = ZoneInfo("America/New_York")
SVG = "{http://www.w3.org/2000/svg}"
EVENTS = [
    {"event": "prepared", "at": "2026-11-24T14:00:00Z", "by": "pharm1", "location": "Pharmacy"},
    {"event": "verified", "at": "2026-11-24T14:10:00Z", "by": "pharm2", "location": "Pharmacy"},
    {"event": "dispensed", "at": "2026-11-24T14:20:00Z", "by": "pharm1", "location": "Research pharmacy"},
    {"event": "received", "at": "2026-11-24T14:35:00Z", "by": "nurse1", "location": "Ward 4"},
    {"event": "bedside_verified", "at": "2026-11-24T15:00:00Z", "by": "nurse1", "location": "Ward 4"},
]


def _parse(svg):
    return ElementTree.fromstring(str(svg))


def test_one_mark_per_event_in_order_with_its_state_name():
    root = _parse(custody_svg(EVENTS, "Custody timeline of bag B", zone=NEW_YORK))
    marks = root.findall(f"{SVG}g[@class='mark']")
    assert [m.get("data-event") for m in marks] == [e["event"] for e in EVENTS]
    assert [m.find(f"{SVG}text").text for m in marks] == ["prepared", "verified", "dispensed", "received",
                                                          "bedside verified"]
    assert all(len(m.findall(f"{SVG}circle")) == 1 for m in marks)
    xs = [float(m.find(f"{SVG}circle").get("cx")) for m in marks]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)  # left to right, none on top of another


def test_times_are_shown_in_the_site_zone():
    root = _parse(custody_svg(EVENTS[:1], "t", zone=NEW_YORK))
    texts = [t.text for t in root.find(f"{SVG}g").findall(f"{SVG}text")]
    assert texts == ["prepared", "09:00 EST", "2026-11-24", "pharm1"]  # 14:00 UTC is 09:00 in New York in November
    assert local_time("2026-07-01T14:00:00Z", NEW_YORK) == "2026-07-01 10:00 EDT"


def test_svg_is_an_accessible_image_with_title_and_description_of_every_event():
    root = _parse(custody_svg(EVENTS, "Custody timeline of bag B", zone=NEW_YORK, svg_id="bag-b"))
    assert root.get("role") == "img" and root.get("aria-labelledby") == "bag-b-title bag-b-desc"
    assert root.find(f"{SVG}title").text == "Custody timeline of bag B"
    desc = root.find(f"{SVG}desc").text
    assert desc.startswith("1. prepared on 2026-11-24 09:00 EST by pharm1 at Pharmacy; 2. verified")
    assert "5. bedside verified on 2026-11-24 10:00 EST by nurse1 at Ward 4." in desc


def test_user_text_is_escaped_and_no_style_attribute_is_used():
    hostile = [{"event": "received", "at": "2026-11-24T14:35:00Z", "by": "nurse1",
                "location": '<script>alert(1)</script>'}]
    svg = str(custody_svg(hostile, 'bag "<B>"', zone=NEW_YORK))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "style=" not in svg  # the CSP forbids inline styles; presentation attributes only
    _parse(svg)  # still well-formed


def test_a_bag_without_events_says_so():
    root = _parse(custody_svg([], "Custody timeline of bag B", zone=NEW_YORK))
    assert root.findall(f"{SVG}g[@class='mark']") == []
    assert root.find(f"{SVG}desc").text == "No custody event is recorded."
    assert re.search("No custody event yet", root.find(f"{SVG}text").text)
