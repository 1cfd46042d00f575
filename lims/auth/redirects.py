"""Where sign-in may send the browser next (SPEC §18): a path on this site, as the browser will read it."""
import re
from urllib.parse import unquote, urlsplit

from flask import url_for

# Browsers drop tabs and newlines anywhere in a URL, trim control characters and spaces at its ends, and read a
# backslash as a slash: "/\t/evil.example" and "/\\evil.example" are both "//evil.example", another site.
_REFUSED = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")
_MAX_DECODES = 4


def is_site_path(target):
    """True when `target` names a path on this site however many times it is percent-decoded."""
    if not isinstance(target, str) or not target.startswith("/") or len(target) > 2000:
        return False
    text = target
    for _ in range(_MAX_DECODES):
        if _REFUSED.search(text) or text.startswith("//") or not text.startswith("/"):
            return False
        parts = urlsplit(text)
        if parts.scheme or parts.netloc:
            return False
        decoded = unquote(text)
        if decoded == text:
            return True
        text = decoded
    return False  # still encoded after several rounds: nobody types that


def safe_next(target):
    """The sign-in's `next` when it is a path on this site; the home page otherwise (an open redirect after a
    sign-in is a phishing aid)."""
    return target if is_site_path(target) else url_for("main.home")
