"""SPEC §3: an ISBT 128 DIN and its ISO 7064 Mod 37-2 check character (no database needed)."""
import random

import pytest
from stdnum.iso7064 import mod_37_2

from lims.lots import isbt


def _generated_dins(n=1000):
    rng = random.Random(20261124)
    fins = ["W1234", "A0000", "Z9999", "G0815", "B12CD", "X0A0Z"]
    dins = set()
    # the edges of the sequence and year ranges, then random values
    for fin in fins:
        for year in (0, 26, 99, 2026):
            for seq in (0, 1, 999999):
                dins.add(isbt.make_din(fin, year, seq))
    while len(dins) < n:
        dins.add(isbt.make_din(rng.choice(fins), rng.randrange(0, 100), rng.randrange(0, 1_000_000)))
    return sorted(dins)


def test_check_character_equals_stdnum_mod_37_2_for_1000_generated_dins():
    dins = _generated_dins()
    assert len(dins) >= 1000
    for din in dins:
        assert len(din) == 13
        expected = mod_37_2.calc_check_digit(din)
        assert isbt.check_character(din) == expected, din
        assert mod_37_2.is_valid(din + isbt.check_character(din)), din


def test_spec_example_din_has_check_character_3():
    din = isbt.make_din("W1234", 2026, 123)
    assert din == "W123426000123"
    assert isbt.check_character(din) == "3"
    assert isbt.display(din, "3") == ("W1234 26 000123", "3")


def test_make_din_formats_year_and_sequence_to_fixed_width():
    assert isbt.make_din("W1234", 2005, 7) == "W123405000007"
    assert isbt.make_din("W1234", 99, 999999) == "W123499999999"


def test_make_din_refuses_a_sequence_beyond_six_digits():
    with pytest.raises(isbt.DinError):
        isbt.make_din("W1234", 26, 1_000_000)


def test_make_din_refuses_a_malformed_facility_number():
    with pytest.raises(isbt.DinError):
        isbt.make_din("w12", 26, 1)


def test_split_checked_accepts_din_with_its_check_character():
    assert isbt.split_checked("W123426000123" + "3") == "W123426000123"
    assert isbt.split_checked("W1234 26 000123 3") == "W123426000123"
    assert isbt.split_checked("w1234260001233") == "W123426000123"


@pytest.mark.parametrize("wrong", [c for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*" if c != "3"])
def test_split_checked_refuses_a_wrong_check_character(wrong):
    with pytest.raises(isbt.DinError, match="does not match"):
        isbt.split_checked("W123426000123" + wrong)


@pytest.mark.parametrize("text", ["", None, "W123426000123", "W12342600012333", "W1234AB0001233"])
def test_split_checked_refuses_text_that_is_not_din_plus_check_character(text):
    with pytest.raises(isbt.DinError):
        isbt.split_checked(text)


def test_code128_data_never_encodes_the_check_character():
    assert isbt.code128_data("W123426000123") == "=W12342600012300"
