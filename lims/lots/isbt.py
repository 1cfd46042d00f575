"""ISBT 128 Donation Identification Numbers (SPEC §3): FIN (5) + year (2) + sequence (6), and the ISO 7064
Mod 37-2 check character printed boxed beside it. The check character is computed, never typed."""
import re

from stdnum.iso7064 import mod_37_2

DIN_PATTERN = re.compile(r"^[A-Z][0-9A-Z]{4}[0-9]{2}[0-9]{6}$")


class DinError(ValueError):
    pass


def check_character(din):
    return mod_37_2.calc_check_digit(din)


def make_din(fin, year, sequence):
    din = f"{fin}{year % 100:02d}{sequence:06d}"
    if not DIN_PATTERN.match(din):
        raise DinError(f"cannot make a DIN from facility {fin!r}, year {year}, sequence {sequence}")
    return din


def split_checked(text):
    """'W1234260001233' (DIN + check character) -> 'W123426000123', refusing a check character that differs."""
    text = (text or "").replace(" ", "").upper()
    if len(text) != 14 or not DIN_PATTERN.match(text[:13]):
        raise DinError("not a DIN followed by its check character")
    din, given = text[:13], text[13]
    if check_character(din) != given:
        raise DinError(f"check character {given!r} does not match DIN {din} (expected {check_character(din)!r})")
    return din


def display(din, check):
    """As printed: 'W1234 26 000123' with the check character beside it."""
    return f"{din[:5]} {din[5:7]} {din[7:]}", check


def printed(din, check):
    """The lot number as labels print it and people read it, on one line: "W1234 26 000123 3"."""
    spaced, check = display(din, check)
    return f"{spaced} {check}"


def code128_data(din):
    """The ISBT 128 DIN data structure: '=' + DIN + flag characters '00'; the check character is never encoded."""
    return f"={din}00"
