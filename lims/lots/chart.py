"""The QC trend chart of a product page, drawn as SVG on the server in plain Python.

A run chart: one point per lot, lots equally spaced in order of manufacture (the order continued process
verification reads a process in), each labelled with its DIN and manufacture date, with the release
specification's limit drawn across it. Drawn here rather than by a chart library so the page needs no script
(the CSP allows none inline) and the chart is the same in a browser, a screenshot and a printed batch review.

Accessibility: the <svg> is role="img" with a <title> and a <desc> that states the lots, the limit and any lot
outside it; every point carries its own <title>; the page shows the same numbers in a table under the chart.
Every piece of text is escaped: DINs and units come from the database.
"""
import math
from dataclasses import dataclass

from markupsafe import Markup, escape

# Geometry of the drawing (user units of the viewBox). Public so tests can place a value without re-deriving it.
WIDTH = 720
HEIGHT = 320
LEFT, RIGHT, TOP, BOTTOM = 76, 28, 36, 112  # bottom room for the slanted DIN and date labels
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
MIN_STEP = 56  # horizontal room per lot; a long history widens the drawing instead of crowding it
TICKS = 5

INK, MUTED, GRID, OK, STOP = "#1b1f24", "#59636e", "#d0d7de", "#0a5bd3", "#b42318"


@dataclass(frozen=True)
class Point:
    label: str          # the lot's DIN as printed, with its check character
    when: str           # the lot's manufacture date, ISO
    value: float | None  # None: no valid result yet (no point is drawn, the table says so)
    met: bool = True


@dataclass(frozen=True)
class Limit:
    value: float
    text: str           # as the specification states it, e.g. "≥ 70 %"


def _fmt(value):
    return f"{value:.4g}"


def nice_ceiling(value):
    """The smallest of 1, 2, 2.5, 5 × 10^n at or above `value`, so axis ticks land on round numbers."""
    if value <= 0:
        return 1.0
    base = 10.0 ** math.floor(math.log10(value))
    return next(step * base for step in (1, 2, 2.5, 5, 10) if step * base >= value)


def y_of(value, y_max, y_min=0.0):
    """The vertical position of a value on a plot running from y_min (bottom) to y_max (top)."""
    return TOP + PLOT_HEIGHT * (1 - (value - y_min) / (y_max - y_min))


def x_of(index, count):
    return LEFT + _step(count) * (index + 0.5)


def _step(count):
    return max(MIN_STEP, (WIDTH - LEFT - RIGHT) / max(count, 1))


def width_for(count):
    return max(WIDTH, int(LEFT + RIGHT + _step(count) * count))


def trend_svg(chart_id, title, unit, points, limit=None, y_max=None):
    """An SVG run chart of one QC test over the lots of a product.

    `unit` labels the axis (values are drawn as given: pass concentrations already in the unit named);
    `y_max` fixes the top of the scale (100 for a percentage), otherwise it is a round number above the data.
    """
    values = [p.value for p in points if p.value is not None]
    if y_max is None:
        y_max = nice_ceiling(max(values + [limit.value if limit else 0]) * 1.1)
    width = width_for(len(points))
    plot_right = width - RIGHT
    ids = {"title": f"{chart_id}-title", "desc": f"{chart_id}-desc"}
    classes = "trend wide" if width > WIDTH else "trend"
    opening = (f'<svg xmlns="http://www.w3.org/2000/svg" class="{classes}" id="{escape(chart_id)}" role="img" '
               f'viewBox="0 0 {width} {HEIGHT}" width="{width}" height="{HEIGHT}" '
               f'aria-labelledby="{ids["title"]} {ids["desc"]}" font-family="DejaVu Sans, sans-serif" font-size="12">')
    parts = [
        opening,
        f'<title id="{ids["title"]}">{escape(title)}</title>',
        f'<desc id="{ids["desc"]}">{escape(_description(unit, points, limit))}</desc>',
    ]
    parts += _axes(unit, y_max, plot_right)
    if limit is not None:
        y = y_of(limit.value, y_max)
        parts.append(f'<line class="limit" x1="{LEFT}" x2="{plot_right}" y1="{y:.2f}" y2="{y:.2f}" '
                     f'stroke="{STOP}" stroke-width="1.5" stroke-dasharray="6 4"/>')
        parts.append(f'<text class="limit-label" x="{plot_right - 4}" y="{y - 5:.2f}" text-anchor="end" '
                     f'fill="{STOP}">specification {escape(limit.text)}</text>')
    parts += _series(points, unit, y_max)
    parts += _lot_labels(points)
    if not values:
        parts.append(f'<text x="{(LEFT + plot_right) / 2}" y="{TOP + PLOT_HEIGHT / 2}" text-anchor="middle" '
                     f'fill="{MUTED}">No result recorded yet</text>')
    parts.append("</svg>")
    return Markup("\n".join(parts))


def _description(unit, points, limit):
    drawn = [p for p in points if p.value is not None]
    text = (f"{len(drawn)} of {len(points)} lots with a result, in order of manufacture, in {unit}"
            + (f"; specification {limit.text}." if limit else "."))
    outside = [p for p in drawn if not p.met]
    if outside:
        text += " Outside the specification: " + ", ".join(f"{p.label} ({_fmt(p.value)} {unit})" for p in outside) + "."
    elif drawn:
        text += " Every result meets the specification."
    return text


def _axes(unit, y_max, plot_right):
    bottom = TOP + PLOT_HEIGHT
    parts = []
    for i in range(TICKS + 1):
        value = y_max * i / TICKS
        y = y_of(value, y_max)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{plot_right}" y1="{y:.2f}" y2="{y:.2f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4:.2f}" text-anchor="end" fill="{MUTED}">{_fmt(value)}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{bottom}" stroke="{INK}"/>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{plot_right}" y1="{bottom}" y2="{bottom}" stroke="{INK}"/>')
    middle = TOP + PLOT_HEIGHT / 2
    parts.append(f'<text x="16" y="{middle:.2f}" text-anchor="middle" fill="{INK}" '
                 f'transform="rotate(-90 16 {middle:.2f})">{escape(unit)}</text>')
    return parts


def _series(points, unit, y_max):
    parts, run = [], []
    for i, p in enumerate(points):
        if p.value is None:  # a lot without a result breaks the line rather than bridging it
            parts += _line(run)
            run = []
            continue
        run.append((x_of(i, len(points)), y_of(p.value, y_max)))
    parts += _line(run)
    for i, p in enumerate(points):
        if p.value is None:
            continue
        x, y = x_of(i, len(points)), y_of(p.value, y_max)
        # Outside the specification: hollow and red, so the difference does not rest on colour alone.
        fill, stroke = (OK, OK) if p.met else ("#ffffff", STOP)
        parts.append(f'<circle class="point {"met" if p.met else "unmet"}" cx="{x:.2f}" cy="{y:.2f}" r="5" '
                     f'fill="{fill}" stroke="{stroke}" stroke-width="2" data-lot="{escape(p.label)}">'
                     f'<title>{escape(p.label)}: {_fmt(p.value)} {escape(unit)} (manufactured {escape(p.when)})'
                     f'{"" if p.met else ", outside the specification"}</title></circle>')
    return parts


def _line(run):
    if len(run) < 2:
        return []
    coords = " ".join(f"{x:.2f},{y:.2f}" for x, y in run)
    return [f'<polyline class="series" points="{coords}" fill="none" stroke="{OK}" stroke-width="1.5"/>']


def _lot_labels(points):
    # Slanted so a long history of 13-character DINs stays legible; the date is a second line under each DIN.
    base = TOP + PLOT_HEIGHT + 14
    parts = []
    for i, p in enumerate(points):
        x = x_of(i, len(points))
        parts.append(f'<text class="lot-label" x="{x:.2f}" y="{base}" text-anchor="end" fill="{INK}" '
                     f'transform="rotate(-40 {x:.2f} {base})"><tspan x="{x:.2f}">{escape(p.label)}</tspan>'
                     f'<tspan x="{x:.2f}" dy="13" font-size="10" fill="{MUTED}">{escape(p.when)}</tspan></text>')
    return parts
