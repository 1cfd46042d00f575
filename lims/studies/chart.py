"""Cohort enrolment by tier, drawn on the server as SVG.

Drawn here rather than by a script in the browser: the page's CSP allows no inline script or style, the chart must
read the same without JavaScript, and the page carries the same numbers as a table for screen readers and print.
"""
from markupsafe import Markup, escape

BAR_HEIGHT = 22
GAP = 14
LABEL_WIDTH = 110
PLOT_WIDTH = 360
COUNT_WIDTH = 150
TOP = 8

SIZE_FILL = "#eaeef2"
ENROLLED_FILL = "#8cb4ec"
INFUSED_FILL = "#0a5bd3"


def _bar(x, y, width, fill, height=BAR_HEIGHT):
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width, 0):.1f}" height="{height}" fill="{fill}"/>'


def enrolment_chart(states, chart_id="enrolment-chart"):
    """A horizontal bar per cohort: its size (pale), the subjects enrolled (mid) and those infused (dark)."""
    widest = max([s["size"] for s in states] + [1])
    scale = PLOT_WIDTH / widest
    height = TOP + len(states) * (BAR_HEIGHT + GAP) + 26
    width = LABEL_WIDTH + PLOT_WIDTH + COUNT_WIDTH
    summary = "; ".join(f"{s['name']}: {s['enrolled']} of {s['size']} enrolled, {s['infused']} infused"
                        for s in states)
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
         f'width="{width}" height="{height}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">'),
        f'<title id="{chart_id}-title">Cohort enrolment by tier</title>',
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>',
    ]
    for i, s in enumerate(states):
        y = TOP + i * (BAR_HEIGHT + GAP)
        mid = y + BAR_HEIGHT / 2 + 4
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{mid:.1f}" text-anchor="end" font-size="13" '
                     f'fill="#1b1f24">{escape(s["name"])}</text>')
        parts.append(_bar(LABEL_WIDTH, y, s["size"] * scale, SIZE_FILL))
        parts.append(_bar(LABEL_WIDTH, y, min(s["enrolled"], s["size"]) * scale, ENROLLED_FILL))
        parts.append(_bar(LABEL_WIDTH, y + BAR_HEIGHT / 4, min(s["infused"], s["size"]) * scale, INFUSED_FILL,
                          height=BAR_HEIGHT / 2))
        parts.append(f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 8}" y="{mid:.1f}" font-size="12" fill="#59636e">'
                     f'{s["enrolled"]}/{s["size"]} enrolled, {s["infused"]} infused</text>')
    legend_y = height - 8
    for x, fill, text in ((LABEL_WIDTH, SIZE_FILL, "cohort size"), (LABEL_WIDTH + 110, ENROLLED_FILL, "enrolled"),
                          (LABEL_WIDTH + 200, INFUSED_FILL, "infused")):
        parts.append(_bar(x, legend_y - 10, 12, fill, height=12))
        parts.append(f'<text x="{x + 16}" y="{legend_y}" font-size="12" fill="#1b1f24">{text}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
