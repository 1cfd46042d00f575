"""Figures as people say them on a ward (SPEC §9): "36 million cells", "1.5 million cells/kg", never 3.6036 × 10⁷.

Three significant figures at most, trailing zeros dropped (so 2 or 3 figures are what is read): what a nurse or
pharmacist reads aloud and compares, not what the arithmetic carries (the plan page shows every digit, step by step).
The figure is rounded once, on the count itself, and the scale word chosen after rounding, so 999.96 million reads
"1 billion", never "1000 million".

Scales: thousand below a tenth of a million; million from 0.1 million (the trial's own words: "0.5 million cells/kg",
so the three dose tiers 0.5, 1.0 and 1.5 read on one scale); billion; trillion. Below a thousand the count itself.
"""
import math
from decimal import ROUND_HALF_UP, Decimal

from lims import units

# (smallest rounded value written with the word, the word, its value)
_SCALES = ((1e12, "trillion", 1e12), (1e9, "billion", 1e9), (1e5, "million", 1e6), (1e3, "thousand", 1e3))
SIGNIFICANT = 3


def _figure(x):
    """x with at most SIGNIFICANT significant figures, as plain decimal digits (no exponent, no trailing zeros)."""
    text = f"{x:.{SIGNIFICANT}g}"
    if "e" in text:  # only for a count past a thousand trillion: still plain digits
        return f"{float(text):,.0f}"
    return text


def _round(value):
    """Half up on the decimal digits as written (2.345e9 -> 2.35e9), as the dose volume is rounded (SPEC §7)."""
    if value == 0:
        return 0.0
    exact = Decimal(repr(value))
    step = Decimal(1).scaleb(exact.adjusted() - SIGNIFICANT + 1)
    return float(exact.quantize(step, rounding=ROUND_HALF_UP))


def count_in_words(value, unit="cells"):
    """1.0908e8 -> "109 million cells"; 3.6036e7 -> "36 million cells"; 5e5 -> "0.5 million cells"."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"a count in words needs a finite number, not {value!r}")
    rounded = _round(value)  # the one rounding
    for floor, word, size in _SCALES:
        if abs(rounded) >= floor:
            return f"{_figure(rounded / size)} {word} {unit}"
    if rounded == 1 and unit == "cells":
        return "1 cell"
    return f"{_figure(rounded)} {unit}"


def cells(q):
    """A cell count (a Quantity of kind "cells") in words."""
    return count_in_words(units.magnitude(q, "cells"), "cells")


def cells_per_kg(q):
    """A weight-based dose (kind "dose") in words: "1.5 million cells/kg"."""
    return count_in_words(units.magnitude(q, "dose"), "cells/kg")
