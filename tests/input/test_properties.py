"""Issue 14's properties: over random unicode and random quantity strings, input is either refused clearly or kept
exactly as typed. Never a 500, never a value other than the one typed."""
import datetime as dt
import math
import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from lims import units
from lims.schemas import FreeText, Text
from tests.support import make_study, today

NUMBERS = st.one_of(
    st.floats(min_value=1e-12, max_value=1e12, allow_nan=False).map(repr),
    st.integers(min_value=0, max_value=10 ** 12).map(str),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(1, 999), st.integers(-20, 20)),
    st.decimals(min_value=0, max_value=10 ** 6, places=4, allow_nan=False).map(str),
)
UNITS = st.sampled_from(["kg", "lb", "g", "mL", "L", "uL", "%", "percent", "h", "min", "cell", "cells", "cell/kg",
                         "million cell/kg", "cell/mL", "EU/mL", "EU/kg", "g/kg", "KG", "pi", "ppm", "kg**2", "m",
                         "kg * 10", "+ 5 kg", "", "/kg", "e", "dozen"])
JUNK = st.sampled_from(["", " ", ",", "*", "**", "+", "-", "/", "(", ")", "^", "\n", "\x00", "\u202e", "\u00a0",
                        "\u0665", "_", "e", "E", "9", "."])
QUANTITY_LIKE = st.one_of(
    st.builds(lambda n, sep, u: f"{n}{sep}{u}", NUMBERS, st.sampled_from(["", " ", "  "]), UNITS),
    st.builds(lambda n, j, u, k: f"{n}{j}{u}{k}", NUMBERS, JUNK, UNITS, JUNK),
    st.text(alphabet=st.sampled_from("0123456789.,eE+-*/^ %kgmLlbhcel()\u202e\n"), max_size=20),
    st.text(max_size=70),
)
KINDS = st.sampled_from(sorted(units.CANONICAL))

def _outcome(read, *args, **kwargs):
    """(value, None) when input is accepted, (None, the refusal) when it is refused; any other exception escapes."""
    try:
        return read(*args, **kwargs), None
    except (units.QuantityError, ValidationError) as refusal:
        return None, refusal


_NUMBER_PART = re.compile(r" *([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?) *(.*)", re.DOTALL)


@settings(max_examples=3000, deadline=None, database=None)
@given(text=QUANTITY_LIKE, kind=KINDS)
def test_a_quantity_is_refused_clearly_or_read_as_typed(text, kind):
    q, refusal = _outcome(units.parse, text, kind, allow_zero=True)
    if refusal is not None:
        assert str(refusal)  # a message for people, and nothing else escapes
        return
    number, unit = _NUMBER_PART.fullmatch(text).groups()
    # Read independently: the number as Python reads a decimal, the unit through Pint's own parser (safe here, as
    # the grammar has already admitted it), converted to the field's canonical unit.
    typed = float(number) * units.Q_(1.0, units.ureg.parse_units(unit.strip())).to(units._UNIT[kind]).magnitude
    assert math.isclose(units.magnitude(q, kind), typed, rel_tol=1e-12, abs_tol=0)
    assert "," not in text and "**" not in text


@settings(max_examples=1000, deadline=None, database=None)
@given(number=NUMBERS, kind=KINDS)
def test_a_number_in_the_canonical_unit_is_stored_exactly_as_typed(number, kind):
    q = units.parse(f"{number} {units.CANONICAL[kind]}", kind, allow_zero=True)
    assert units.magnitude(q, kind) == float(number)
    assert units.dump(q, kind) == {"value": float(number), "unit": units.CANONICAL[kind]}


@settings(max_examples=3000, deadline=None, database=None)
@given(value=st.text(max_size=40))
def test_a_code_is_refused_clearly_or_kept_as_typed_in_nfc(value):
    kept, refusal = _outcome(Text(64).deserialize, value)
    if refusal is not None:
        assert refusal.messages
        return
    assert kept == unicodedata.normalize("NFC", value)
    assert kept == kept.strip() and kept
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in kept)


@settings(max_examples=2000, deadline=None, database=None)
@given(value=st.text(max_size=60))
def test_free_text_is_refused_clearly_or_kept_with_its_newlines_and_tabs(value):
    kept, refusal = _outcome(FreeText(200).deserialize, value)
    if refusal is not None:
        assert refusal.messages
        return
    assert kept == unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    assert all(c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cs") for c in kept)


@pytest.fixture
def open_study(api):
    return make_study(api, code="PROP-1", escalation="none",
                      cohorts=[{"name": "All", "dose": "1.5e6 cell/kg", "size": 1000}])


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(wristband=st.one_of(st.text(max_size=20), st.from_regex(r"MRN-[0-9]{1,6}", fullmatch=True)),
       weight=st.one_of(QUANTITY_LIKE, st.builds(lambda n: f"{n} kg", st.floats(20, 300).map(repr))))
def test_enrolment_over_random_input_never_errs_and_keeps_what_was_typed(api, open_study, wristband, weight):
    body = {"study_id": open_study["id"], "code": f"P-{abs(hash((wristband, weight))) % 10 ** 8}",
            "wristband": wristband, "cohort": "All", "weight": weight,
            "weighed_on": (today() - dt.timedelta(days=1)).isoformat()}
    r = api.post("/subjects", body, as_="inv")
    assert r.status_code in (201, 409, 422), r.get_data(as_text=True)
    if r.status_code == 201:
        subject = r.get_json()
        assert subject["wristband"] == unicodedata.normalize("NFC", wristband)
        stored = subject["weights"][0]["weight"]["value"]
        assert stored == pytest.approx(units.magnitude(units.parse(weight, "mass"), "mass"), rel=1e-12)
        if weight.endswith(" kg"):
            assert stored == float(weight[:-3])
