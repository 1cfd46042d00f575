"""The product page's QC trend chart (lims/lots/chart.py): plain SVG, one point per lot, the limit where it belongs."""
import xml.etree.ElementTree as ET

import pytest

from lims.lots import chart

SVG = "{http://www.w3.org/2000/svg}"


def _viability_points():
    return [chart.Point("W1234 26 000001 A", "2026-01-05", 91.0),
            chart.Point("W1234 26 000002 B", "2026-02-09", 65.0, met=False),
            chart.Point("W1234 26 000003 C", "2026-03-02", 84.5)]


def _draw(points=None, **kw):
    kw.setdefault("limit", chart.Limit(70.0, "≥ 70 %"))
    kw.setdefault("y_max", 100)
    svg = chart.trend_svg("trend-viability", "S1234 viability", "%", points or _viability_points(), **kw)
    return ET.fromstring(str(svg))


def _circles(root):
    return root.findall(f"{SVG}circle")


def test_chart_draws_one_point_per_lot_at_its_value():
    root = _draw()
    circles = _circles(root)
    assert [c.get("data-lot") for c in circles] == ["W1234 26 000001 A", "W1234 26 000002 B", "W1234 26 000003 C"]
    for circle, value in zip(circles, (91.0, 65.0, 84.5), strict=True):
        assert float(circle.get("cy")) == pytest.approx(chart.TOP + chart.PLOT_HEIGHT * (1 - value / 100), abs=0.01)
    xs = [float(c.get("cx")) for c in circles]
    assert xs == sorted(xs) and len(set(xs)) == 3  # in order of manufacture, one column per lot


def test_seventy_percent_limit_line_is_drawn_at_seventy_percent_of_the_scale():
    [limit] = [line for line in _draw().findall(f"{SVG}line") if line.get("class") == "limit"]
    expected = chart.TOP + chart.PLOT_HEIGHT * 0.30  # 70 % of the 0–100 % scale, measured from the bottom
    assert float(limit.get("y1")) == float(limit.get("y2")) == pytest.approx(expected, abs=0.01)
    assert float(limit.get("x1")) == chart.LEFT


def test_limit_line_sits_between_a_passing_and_a_failing_point():
    root = _draw()
    [limit] = [line for line in root.findall(f"{SVG}line") if line.get("class") == "limit"]
    passing, failing, _ = _circles(root)
    # SVG y grows downwards: the 91 % point is above the line, the 65 % point below it
    assert float(passing.get("cy")) < float(limit.get("y1")) < float(failing.get("cy"))


def test_point_outside_specification_is_marked_without_relying_on_colour():
    passing, failing, _ = _circles(_draw())
    assert passing.get("class") == "point met" and failing.get("class") == "point unmet"
    assert failing.get("fill") == "#ffffff" and passing.get("fill") != "#ffffff"  # hollow, not only red
    assert "outside the specification" in failing.find(f"{SVG}title").text


def test_chart_is_an_accessible_image_with_title_and_description():
    root = _draw()
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "trend-viability-title trend-viability-desc"
    assert root.find(f"{SVG}title").text == "S1234 viability"
    desc = root.find(f"{SVG}desc").text
    assert desc.startswith("3 of 3 lots with a result, in order of manufacture, in %; specification ≥ 70 %.")
    assert "Outside the specification: W1234 26 000002 B (65 %)." in desc


def test_each_point_is_labelled_with_its_din_and_manufacture_date():
    labels = [[part.text for part in t] for t in _draw().findall(f"{SVG}text") if t.get("class") == "lot-label"]
    assert labels == [["W1234 26 000001 A", "2026-01-05"], ["W1234 26 000002 B", "2026-02-09"],
                      ["W1234 26 000003 C", "2026-03-02"]]


def test_lot_without_a_result_gets_no_point_and_breaks_the_line():
    points = _viability_points()
    points.insert(1, chart.Point("W1234 26 000009 Z", "2026-01-20", None))
    root = _draw(points)
    assert len(_circles(root)) == 3
    assert root.findall(f"{SVG}polyline") != []
    assert "3 of 4 lots with a result" in root.find(f"{SVG}desc").text


def test_text_from_the_database_is_escaped():
    svg = str(chart.trend_svg("c", "<script>x</script>", "%", [chart.Point('A"<b>&', "2026-01-01", 80.0)],
                              chart.Limit(70, "≥ 70 %"), y_max=100))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'A"<b>' not in svg
    ET.fromstring(svg)  # still well-formed XML


def test_concentration_scale_rounds_up_above_the_highest_value_and_draws_the_zero_limit():
    points = [chart.Point("L1", "2026-01-01", 12.0), chart.Point("L2", "2026-01-02", 9.0)]
    root = ET.fromstring(str(chart.trend_svg("conc", "concentration", "10⁶ cell/mL", points,
                                             chart.Limit(0.0, "reported; > 0 cell/mL"))))
    top_tick = max(float(t.text) for t in root.findall(f"{SVG}text") if (t.text or "").replace(".", "").isdigit())
    assert top_tick == 20  # 12 × 1.1 rounded up to a round number
    [limit] = [line for line in root.findall(f"{SVG}line") if line.get("class") == "limit"]
    assert float(limit.get("y1")) == pytest.approx(chart.TOP + chart.PLOT_HEIGHT)  # the zero line


def test_empty_history_says_so_instead_of_drawing_points():
    root = ET.fromstring(str(chart.trend_svg("c", "t", "%", [], chart.Limit(70, "≥ 70 %"), y_max=100)))
    assert _circles(root) == []
    assert "No result recorded yet" in [t.text for t in root.findall(f"{SVG}text")]
