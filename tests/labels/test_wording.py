"""Cell counts in words (SPEC §9): thousand / million / billion, at most three significant figures, never an
exponent, the scale chosen after rounding."""
import math
import re

import pytest

from lims import units
from lims.labels.wording import cells, cells_per_kg, count_in_words


@pytest.mark.parametrize("value, words", [
    (3.6036e7, "36 million cells"),          # the 3.6036 × 10⁷
    (1.0908e8, "109 million cells"),         # SPEC §7's delivered cells
    (1.0886e8, "109 million cells"),
    (1.5e6, "1.5 million cells"),
    (1.23456e6, "1.23 million cells"),
    (5e5, "0.5 million cells"),
    (1e5, "0.1 million cells"),
    (99_960, "0.1 million cells"),           # rounds up into the million scale
    (99_940, "99.9 thousand cells"),
    (2_500, "2.5 thousand cells"),
    (1_000, "1 thousand cells"),
    (999.6, "1 thousand cells"),
    (850, "850 cells"),
    (12.34, "12.3 cells"),
    (1, "1 cell"),
    (0, "0 cells"),
    (999.96e6, "1 billion cells"),           # never "1000 million"
    (2.345e9, "2.35 billion cells"),
    (7.2e10, "72 billion cells"),
    (4.56e12, "4.56 trillion cells"),
])
def test_cell_counts_read_as_people_say_them(value, words):
    assert count_in_words(value) == words


def test_a_dose_reads_per_kilogram():
    assert cells_per_kg(units.of(1.5e6, "dose")) == "1.5 million cells/kg"
    assert cells_per_kg(units.of(0.5e6, "dose")) == "0.5 million cells/kg"
    assert cells(units.of(3.6036e7, "cells")) == "36 million cells"


@pytest.mark.parametrize("exponent", range(16))
@pytest.mark.parametrize("mantissa", [1.0, 1.004, 1.5, 2.999, 3.6036, 9.994, 9.996])
def test_no_count_is_written_with_an_exponent_or_more_than_three_figures(mantissa, exponent):
    value = mantissa * 10 ** exponent
    words = count_in_words(value)
    assert "×" not in words and "e+" not in words and "E" not in words
    figure = words.split()[0].replace(",", "")
    assert len(figure.replace(".", "").strip("0")) <= 3, words
    scale = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}.get(words.split()[1], 1)
    # The meaning is kept: what is read is within half a unit of the third significant figure of the count.
    assert math.isclose(float(figure) * scale, value, rel_tol=5e-3), words


def test_the_figure_read_is_below_a_thousand_of_its_scale():
    for value in (999.4e3, 999.4e6, 999.4e9):
        figure, word = re.match(r"([\d.]+) (\w+)", count_in_words(value)).groups()
        assert float(figure) < 1000 and word in ("thousand", "million", "billion")


def test_a_count_that_is_not_a_number_is_refused():
    with pytest.raises(ValueError):
        count_in_words(float("nan"))
