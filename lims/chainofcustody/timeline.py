"""A bag's custody timeline as a horizontal SVG, drawn on the server: the CSP lets no script draw it, and a printout
or a screen reader gets the same picture (role="img" with a title and a description listing every event).

Marks are equally spaced rather than placed by time: the bedside check and the start and end of an infusion can
fall seconds apart, and a nurse must still read each one. The time under each mark says when.
"""
import datetime as dt

from markupsafe import Markup, escape

from lims.timeutil import aware, site_zone

STEP = 150          # horizontal distance between two marks
MARGIN = 80         # room for the first and last labels
HEIGHT = 150
AXIS_Y = 58
STATE_COLOURS = {
    "prepared": "#0a5bd3", "verified": "#0a5bd3", "dispensed": "#6639ba", "received": "#6639ba",
    "bedside_verified": "#9a6700", "infusing": "#9a6700", "infused": "#116329",
    "returned": "#b42318", "discarded": "#b42318",
}
INK, MUTED = "#1b1f24", "#59636e"


def _moment(value):
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return aware(value)  # a time read back from SQLite has lost its zone; every stored time is UTC


def describe(event, zone):
    """One event in words, for the description a screen reader reads."""
    at = local_time(event["at"], zone)
    where = f" at {event['location']}" if event.get("location") else ""
    return f"{event['event'].replace('_', ' ')} on {at} by {event.get('by') or 'unknown'}{where}"


def _description(events, zone):
    if not events:
        return "No custody event is recorded."
    return "; ".join(f"{n}. {describe(e, zone)}" for n, e in enumerate(events, 1)) + "."


def custody_svg(events, title, zone=None, svg_id="custody-timeline"):
    """The timeline of `events` (dicts with event, at as a datetime or ISO text, by, location), oldest first."""
    zone = zone or site_zone()
    width = MARGIN * 2 + STEP * max(len(events) - 1, 0)
    sid = escape(svg_id)
    opening = (f'<svg xmlns="http://www.w3.org/2000/svg" class="custody-timeline" id="{sid}" role="img" '
               f'aria-labelledby="{sid}-title {sid}-desc" viewBox="0 0 {width} {HEIGHT}" width="{width}" '
               f'height="{HEIGHT}" font-family="DejaVu Sans, sans-serif">')
    parts = [opening, f'<title id="{sid}-title">{escape(title)}</title>',
             f'<desc id="{sid}-desc">{escape(_description(events, zone))}</desc>']
    if not events:
        parts.append(f'<text x="{width / 2}" y="{AXIS_Y}" text-anchor="middle" fill="{MUTED}">'
                     f'No custody event yet</text></svg>')
        return Markup("".join(parts))
    parts.append(f'<line x1="{MARGIN}" y1="{AXIS_Y}" x2="{width - MARGIN}" y2="{AXIS_Y}" stroke="{MUTED}" '
                 f'stroke-width="3"/>')
    for n, event in enumerate(events):
        x = MARGIN + n * STEP
        local = _moment(event["at"]).astimezone(zone)
        colour = STATE_COLOURS.get(event["event"], INK)
        parts.append(
            f'<g class="mark" data-event="{escape(event["event"])}">'
            f'<circle cx="{x}" cy="{AXIS_Y}" r="10" fill="{colour}" stroke="#ffffff" stroke-width="3"/>'
            f'<text x="{x}" y="{AXIS_Y - 22}" text-anchor="middle" font-size="14" font-weight="700" '
            f'fill="{INK}">{escape(event["event"].replace("_", " "))}</text>'
            f'<text x="{x}" y="{AXIS_Y + 32}" text-anchor="middle" font-size="13" fill="{INK}">'
            f'{local.strftime("%H:%M %Z")}</text>'
            f'<text x="{x}" y="{AXIS_Y + 50}" text-anchor="middle" font-size="12" fill="{MUTED}">'
            f'{local.strftime("%Y-%m-%d")}</text>'
            f'<text x="{x}" y="{AXIS_Y + 68}" text-anchor="middle" font-size="12" fill="{MUTED}">'
            f'{escape(event.get("by") or "")}</text>'
            f'</g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def local_time(value, zone=None):
    """A custody time (a datetime or ISO text) as the site reads it."""
    return _moment(value).astimezone(zone or site_zone()).strftime("%Y-%m-%d %H:%M %Z")
