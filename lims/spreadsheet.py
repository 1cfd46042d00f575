"""CSV cells a spreadsheet cannot run (OWASP "CSV injection"): every CSV the LIMS writes (the sponsor's reports,
the audit trail's electronic copy) is opened in Excel or LibreOffice, which evaluate a cell beginning with = + - @
(or a tab or carriage return before one) as a formula: `=HYPERLINK(...)` typed as an infusion reaction would be a
link in the sponsor's spreadsheet. Such a cell of text is written after a single quote, which the spreadsheet
reads as "this is text" and does not show.

A cell that itself begins with a quote gets one more, so the rule is reversible without ambiguity: a cell beginning
with ' had exactly one added (the audit copy's hashed columns are recomputed from the cell without it)."""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ESCAPED_START = FORMULA_START + ("'",)


def cell(value):
    """The cell as written: None empty, text neutralised, numbers as they are (a number is never a formula)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(ESCAPED_START):
        return "'" + value
    return value


def row(values, verbatim=()):
    """A row of cells; the columns at the indexes in `verbatim` are written exactly as given."""
    return [value if index in verbatim else cell(value) for index, value in enumerate(values)]


def unescape(text):
    """The text a cell was written from (what a reader recomputing a hash needs)."""
    return text[1:] if text.startswith("'") else text
