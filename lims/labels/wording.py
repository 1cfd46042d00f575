"""Figures as people say them on a ward (SPEC §9): "36 million cells", "1.5 million cells/kg", never 3.6036 × 10⁷.

Three significant figures at most: what a nurse or pharmacist reads aloud and compares, not what the arithmetic
carries (the plan page shows every digit, step by step)."""
from lims import units

# Cell therapy counts in millions from a tenth of a million ("0.5 million cells/kg", the trial's own words).
_SCALES = ((1e12, "trillion"), (1e9, "billion"), (1e5, "million"))
_DIVISOR = {"trillion": 1e12, "billion": 1e9, "million": 1e6}


def count_in_words(value, unit="cells"):
    """1.0908e8 -> "109 million cells"; 1.5e6 -> "1.5 million cells"; 5e5 -> "0.5 million cells"."""
    for floor, word in _SCALES:
        scaled = float(f"{value / _DIVISOR[word]:.3g}")  # three significant figures, rounded once
        if floor / _DIVISOR[word] <= abs(scaled) < 1000:
            return f"{scaled:g} {word} {unit}"
    return f"{round(value):,} {unit}"


def cells(q):
    """A cell count (a Quantity of kind "cells") in words."""
    return count_in_words(units.magnitude(q, "cells"), "cells")


def cells_per_kg(q):
    """A weight-based dose (kind "dose") in words: "1.5 million cells/kg"."""
    return count_in_words(units.magnitude(q, "dose"), "cells/kg")
