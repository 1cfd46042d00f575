"""Schema pieces shared by every domain, and the text rules of SPEC §18 in one place.

Three kinds of text reach the records: codes (lot and product codes, wristbands, usernames, scans), one-line names
(a printed name, a location, a title) and free text (reasons, descriptions, reactions). Each is NFC-normalised, so
that a wristband typed on one keyboard and scanned from another compare equal, and each refuses the characters that
make a record read differently from what it holds: a right-to-left override prints `\u202eMRN-6` as `6-NRM`, a NUL
truncates it in C code downstream, a trailing newline or space makes two wristbands that look the same.
"""
import datetime as dt
import re
import unicodedata

from marshmallow import Schema, ValidationError, fields, validate

from lims.timeutil import UTC


class StrictSchema(Schema):
    """Unknown fields are refused (422): a misspelt field must never be silently ignored on a clinical record."""


# Dates and times a record can plausibly carry: a weighing, a manufacture, an expiry, an infusion. Year 1 or 9999 is a
# typing slip (and 9999-12-31T23:59-05:00 overflows when converted to UTC).
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2199, 12, 31)


def _plausible(day):
    if not EARLIEST <= day <= LATEST:
        raise ValidationError(f"must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}")


class PlausibleDate(fields.Date):
    """An ISO 8601 date between 1900 and 2199."""

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        _plausible(day)
        return day


class AwareDateTime(fields.AwareDateTime):
    """ISO 8601 with a zone (SPEC §13); a time without one is refused rather than guessed."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        _plausible(moment.date())
        return moment.astimezone(UTC)


# Bidirectional controls and the like have category Cf; U+2028/U+2029 (Zl, Zp) end a line as a newline does.
_REFUSED_IN_LINE = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_FREE_TEXT_CONTROLS = {"\n", "\t"}
_BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _describe(character):
    name = unicodedata.name(character, "")
    return f"U+{ord(character):04X}" + (f" ({name})" if name else "")


class Text(fields.String):
    """One line of text (SPEC §18): a code, a wristband, a username, a printed name, a place.

    NFC-normalised; refused when it holds a control, format or bidirectional character (categories Cc, Cf: NUL,
    newline, U+202E…), begins or ends with a space, or is nothing but spaces. A `pattern` must match the whole text
    (a `$` would also match before a final newline)."""

    def __init__(self, max_length=200, *, pattern=None, pattern_message=None, **kwargs):
        self.max_length = max_length
        self.pattern = re.compile(pattern) if pattern else None
        self.pattern_message = pattern_message or "has characters this field does not take"
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("maxLength", max_length)
        metadata.setdefault("minLength", 1)
        if pattern:
            metadata.setdefault("pattern", f"^(?:{pattern})$")  # the document's regex dialect has no \Z
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = unicodedata.normalize("NFC", super()._deserialize(value, attr, data, **kwargs))
        if not value.strip():
            raise ValidationError("must not be empty or only spaces")
        refused = next((c for c in value if unicodedata.category(c) in _REFUSED_IN_LINE), None)
        if refused is not None:
            raise ValidationError(f"must not contain control or formatting characters ({_describe(refused)})")
        if value != value.strip():
            raise ValidationError("must not begin or end with a space")
        if len(value) > self.max_length:
            raise ValidationError(f"must be at most {self.max_length} characters")
        if self.pattern is not None and not self.pattern.fullmatch(value):
            raise ValidationError(self.pattern_message)
        return value


class FreeText(fields.String):
    """Free text (SPEC §18): a reason, a description, a reaction. NFC-normalised; keeps newlines and tabs (a form's
    CRLF read as a newline) and refuses every other control character and the bidirectional controls, which would
    make a reason in the audit trail read differently from what it holds. Blank is no reason: refused."""

    def __init__(self, max_length=1000, **kwargs):
        self.max_length = max_length
        kwargs.setdefault("metadata", {}).setdefault("maxLength", max_length)
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).replace("\r\n", "\n").replace("\r", "\n")
        value = unicodedata.normalize("NFC", value)
        if not value.strip():
            raise ValidationError("must not be empty or only spaces")
        refused = next((c for c in value if c not in _FREE_TEXT_CONTROLS and
                        (c in _BIDI_CONTROLS or unicodedata.category(c) in ("Cc", "Cs"))), None)
        if refused is not None:
            raise ValidationError(f"must not contain control characters ({_describe(refused)})")
        if len(value) > self.max_length:
            raise ValidationError(f"must be at most {self.max_length} characters")
        return value


def identifier(max_length=64, pattern=None, pattern_message=None, **kwargs):
    """A code, wristband, username or scan: one line, matched whole against `pattern` where one is given."""
    return Text(max_length, pattern=pattern, pattern_message=pattern_message, **kwargs)


def line(max_length=200, **kwargs):
    """A one-line name: a printed name, a title, a location."""
    return Text(max_length, **kwargs)


def text(max_length=200, **kwargs):
    """Free text: a reason, notes, a description, a reaction."""
    return FreeText(max_length, **kwargs)


class SignatureSchema(StrictSchema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=256),
                             metadata={"description": "the signer's password, re-entered at the moment of signing"})
    # Asked with the first signature of a page session (SPEC §4: 21 CFR 11.200(a)(1)); the API may send it, and then
    # it must name the signer.
    username = identifier(64, metadata={"description": "the signer's own username: optional on the API, where it "
                                                        "must name the token's user"})


class SignedSchema(StrictSchema):
    signature = fields.Nested(SignatureSchema, required=True)
