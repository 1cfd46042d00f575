"""A code reaches a form either from a keyboard-wedge scanner (it types the payload and presses Enter) or typed by a
person who cannot scan it (a torn label, a dead scanner). Each form has a scan field and a "type instead" field,
so the record can say which it was: a typed code is one nobody's scanner read (SPEC §3, issue 17)."""
from werkzeug.datastructures import MultiDict

from lims.errors import invalid

TYPED_SUFFIX = "_typed"


def scanned_or_typed(form, name):
    """(value, "scanned" | "typed" | None) of the field pair `name` / `name_typed`."""
    scanned = form.get(name, "").strip()
    typed = form.get(name + TYPED_SUFFIX, "").strip()
    if scanned and typed and scanned != typed:
        raise invalid(name, "scan the code or type it, not both (they differ)")
    if scanned:
        return scanned, "scanned"
    if typed:
        return typed, "typed"
    return "", None


def without_typed(form):
    """The form without its "type instead" fields, for a schema that knows only the scans."""
    return MultiDict([(k, v) for k, v in form.items(multi=True) if not k.endswith(TYPED_SUFFIX)])


def read_scans(form, *names):
    """The form with each pair folded into its scan field, and the entries: (form, {name: entry})."""
    data, entries = without_typed(form), {}
    for name in names:
        value, entries[name] = scanned_or_typed(form, name)
        if value:
            data[name] = value
        else:
            data.pop(name, None)
    return data, entries
