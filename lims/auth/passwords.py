"""What a new password must not be (SPEC §4): short, the username, one repeated character, a common sequence, or a
common password.

The list is Django's `common-passwords.txt.gz` (data/, BSD licence, see data/README.md): 20,000 passwords that
breaches show people choose, lower-cased, as Royce Williams compiled them. A listed password with digits and
symbols stuck on its ends (`Password2026!`, `monkey123456`) is the first thing a cracking rule tries, so it is
refused as the listed one is.
"""
import functools
import gzip
import re
from pathlib import Path

MIN_LENGTH = 12
MAX_LENGTH = 256
_LIST = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"

# Runs people type as a "password": the alphabet, the digits, the keyboard's rows (and each backwards).
_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "1234567890", "qwertyuiopasdfghjklzxcvbnm",
              "qwertzuiopasdfghjklyxcvbnm", "azertyuiopqsdfghjklmwxcvbn", "!@#$%^&*()")
_ENDS = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@functools.cache
def common_passwords():
    with gzip.open(_LIST, "rt", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


def _is_sequence(text):
    for sequence in _SEQUENCES:
        for run in (sequence, sequence[::-1]):
            # Repeated so that a run may wrap around: 789012345678 is the digits, still.
            cycle = run * (len(text) // len(run) + 2)
            if text in cycle:
                return True
    return False


def _is_repetition(text):
    # One character over and over (aaaaaaaaaaaa), or a short unit over and over (abcabcabcabc, passpasspass).
    return any(len(text) % size == 0 and text == text[:size] * (len(text) // size)
               for size in range(1, len(text) // 2 + 1))


def password_problem(password, username=None):
    """Why this password is refused, in words for the person choosing it; None when it may be used."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"at most {MAX_LENGTH} characters"
    folded = password.casefold()
    if username and folded == str(username).casefold():
        return "must not be the username"
    if len(set(folded)) == 1:
        return "must not be one character repeated"
    if _is_repetition(folded):
        return "must not be a short pattern repeated"
    if _is_sequence(folded):
        return "must not be a common sequence (abcdef…, 123456…, qwerty…)"
    core = _ENDS.sub("", folded)
    listed = common_passwords()
    # A core shorter than 5 is a word (or a letter) of the list, not a password anyone would try first.
    if folded in listed or (len(core) >= 5 and core in listed):
        return "is a commonly used password (digits or symbols added at either end do not change that); choose another"
    return None
