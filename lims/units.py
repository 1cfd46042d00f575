"""The one Pint registry of the application (SPEC §2), and the marshmallow field that parses quantities.

Every quantity crossing the API is parsed here and leaves here as {"value", "unit"} in the canonical unit of its kind.

Input is read by a grammar of our own, never by Pint's expression parser: one plain decimal number (a point, an
optional exponent of at most two digits) and one unit expression made of unit names joined by `/`, `*` or a space.
Pint evaluates arithmetic (`7 kg * 10`, `9**9**9 kg`), reads `29,5` as 295 and a bare `%` as 1 %; here each of those
is a 422 with what to type instead, and the work per input is bounded by its length (at most 64 characters). Pint is
only asked to look up single unit names.
"""
import functools
import math
import re

import pint
from marshmallow import ValidationError, fields

ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
ureg.define("cell = [cells] = cells")
ureg.define("EU = [endotoxin] = endotoxin_unit")
ureg.define("million = 1e6")
Q_ = ureg.Quantity

# kind -> canonical unit. A field declares its kind; the kind fixes the dimension it accepts.
CANONICAL = {
    "mass": "kg",
    "volume": "mL",
    "cells": "cell",
    "dose": "cell/kg",
    "concentration": "cell/mL",
    "percent": "%",
    "endotoxin_concentration": "EU/mL",
    "endotoxin_dose": "EU/kg",
    "mass_g": "g",
    "dmso_dose": "g/kg",
    "duration": "h",
}
_UNIT = {kind: ureg.Unit("percent" if unit == "%" else unit) for kind, unit in CANONICAL.items()}

MAX_LENGTH = 64
# The number: digits with at most one decimal point, and an exponent of at most two digits. With the length bound,
# every number this admits is a normal float (no overflow to inf, no underflow to 0): what is stored is what was
# typed. ASCII digits only: Python's float() would also read Arabic-Indic digits and underscores.
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE](?P<exponent>[+-]?[0-9]+))?"
_MAX_EXPONENT_DIGITS = 2
_NAME = r"(?:[A-Za-z_µμ]+|%)"
_MAX_TERMS = 4
_UNIT_EXPRESSION = re.compile(rf"{_NAME}(?:(?: *[/*·] *| +){_NAME}){{0,{_MAX_TERMS - 1}}}")
_TOKENS = re.compile(rf"[/*·]|{_NAME}")
_UNEXPECTED = re.compile(r"[^0-9A-Za-z_µμ%.+\-*/· ]")
_QUANTITY = re.compile(rf"(?P<number>{_NUMBER}) *(?P<unit>.*)", re.DOTALL)
# Names that scale but carry no unit: "1.5 million cell/kg". Any other dimensionless name (pi, ppm, dozen…) would
# silently rescale a clinical figure, and a percent is only ever a percent of its own field.
_SCALES = {"million"}
_PERCENT = {"%", "percent"}


class QuantityError(ValueError):
    pass


def _character_name(character):
    import unicodedata
    return f"U+{ord(character):04X} ({unicodedata.name(character, 'a control character')})"


def _example(kind):
    return f'"1 {CANONICAL[kind]}"'


@functools.lru_cache(maxsize=512)
def _unit_named(name):
    """One unit name looked up in the registry (a name is letters only, so Pint parses no expression), or None."""
    try:
        return ureg.Unit(name)
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, ValueError, AttributeError):
        return None


def _read_unit(text, kind):
    expected = CANONICAL[kind]
    if not text:
        raise QuantityError(f"a unit is required, such as {_example(kind)}")
    if not _UNIT_EXPRESSION.fullmatch(text):
        raise QuantityError(f"write one number and one unit, such as {_example(kind)}: no arithmetic, no powers, "
                            f"at most {_MAX_TERMS} unit names")
    tokens = _TOKENS.findall(text)
    names = [t for t in tokens if t not in "/*·"]
    if any(name in _PERCENT for name in names) and (kind != "percent" or len(names) != 1):
        raise QuantityError('a percentage takes no other unit ("92.5 %")' if kind == "percent" else
                            f"% is not a unit of this field (expected {expected})")
    unit, operator = None, "*"
    for token in tokens:
        if token in "/*·":  # noqa: S105 (a token of the unit grammar, not a credential)
            operator = token
            continue
        named = _unit_named(token)
        if named is None:
            raise QuantityError(f"unknown unit {token!r} (expected {expected} or a unit convertible to it)")
        if named.dimensionless and token not in _SCALES | _PERCENT:
            raise QuantityError(f"{token!r} is not a unit of this field (expected {expected})")
        unit = named if unit is None else (unit / named if operator == "/" else unit * named)
        operator = "*"
    if kind == "percent" and unit.dimensionless and names[0] not in _PERCENT:
        raise QuantityError('expected a percentage, such as "92.5 %"')
    return unit


def _read_text(value, kind):
    text = value.strip(" ")
    if len(value) > MAX_LENGTH:
        raise QuantityError(f"too long for a quantity (at most {MAX_LENGTH} characters)")
    if "," in text:
        # 29,5 is 29.5 to half the world and 295 to Pint: a tenfold dose basis, so neither reading is guessed.
        decimal_comma = re.fullmatch(r"[0-9]*,[0-9]{1,2}(?![0-9]).*|[0-9]*,[0-9]{4,}.*", text, re.DOTALL)
        raise QuantityError(f"use a decimal point: {text.replace(',', '.')}, not {text}" if decimal_comma else
                            "use a decimal point, and no thousands separator")
    unexpected = _UNEXPECTED.search(text)
    if unexpected:
        raise QuantityError(f"unexpected character {_character_name(unexpected.group())} in a quantity")
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise QuantityError(f"a number is required before the unit, such as {_example(kind)}")
    if match["exponent"] and len(match["exponent"].lstrip("+-")) > _MAX_EXPONENT_DIGITS:
        raise QuantityError(f"the exponent has at most {_MAX_EXPONENT_DIGITS} digits")
    return float(match["number"]), _read_unit(match["unit"], kind)


def _read_mapping(value, kind):
    if set(value) != {"value", "unit"}:
        raise QuantityError('expected {"value": <number>, "unit": "<unit>"}')
    number, unit = value["value"], value["unit"]
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not isinstance(unit, str):
        raise QuantityError('expected {"value": <number>, "unit": "<unit>"}')
    if len(unit) > MAX_LENGTH:
        raise QuantityError(f"too long for a unit (at most {MAX_LENGTH} characters)")
    try:
        number = float(number)
    except OverflowError:
        raise QuantityError("must be a finite number") from None
    return number, _read_unit(unit.strip(" "), kind)


def parse(value, kind, *, positive=True, allow_zero=False, minimum=None, maximum=None):
    """Turn client input into a Quantity of the given kind, or raise QuantityError with a message for people.

    `minimum` and `maximum` are the field's plausible range in the canonical unit: a value outside it is a typing
    slip (1e-300 mL, 1e300 h), refused rather than stored."""
    expected = CANONICAL[kind]
    if isinstance(value, dict):
        number, unit = _read_mapping(value, kind)
    elif isinstance(value, str) and value.strip(" "):
        number, unit = _read_text(value, kind)
    elif isinstance(value, pint.Quantity):  # from our own code, never from a client
        number, unit = float(value.magnitude), value.units
    else:
        raise QuantityError(f"expected a quantity such as {_example(kind)}")
    if not math.isfinite(number):
        raise QuantityError("must be a finite number")
    q = Q_(number, unit)
    if q.dimensionality != _UNIT[kind].dimensionality:
        raise QuantityError(f"wrong dimension: {format(q.units, '~')} is not convertible to {expected}")
    magnitude = float(q.to(_UNIT[kind]).magnitude)
    if not math.isfinite(magnitude):
        raise QuantityError("must be a finite number")
    if positive and (magnitude < 0 or (magnitude == 0 and not allow_zero)):
        raise QuantityError("must be greater than zero" if not allow_zero else "must not be negative")
    if minimum is not None and magnitude < minimum:
        raise QuantityError(f"must be at least {minimum:g} {expected}")
    if maximum is not None and magnitude > maximum:
        raise QuantityError(f"must be at most {maximum:g} {expected}")
    return Q_(magnitude, _UNIT[kind])


def of(magnitude, kind):
    """A stored canonical magnitude back to a Quantity (the database keeps canonical numbers)."""
    return None if magnitude is None else Q_(float(magnitude), _UNIT[kind])


def magnitude(q, kind):
    """The canonical number of a Quantity, for storage only."""
    return float(q.to(_UNIT[kind]).magnitude)


def dump(q, kind):
    if q is None:
        return None
    return {"value": magnitude(q, kind), "unit": CANONICAL[kind]}


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def scientific(value, digits=5):
    """1.0886 × 10⁸: a large number as a dosing worksheet writes it, to `digits` significant figures."""
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.{digits}g}"
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def display(q, kind, digits=5):
    """A quantity for people (pages, labels): its canonical unit, large numbers as 1.5 × 10⁶, never 1.5e+06."""
    if q is None:
        return "—"
    return f"{scientific(magnitude(q, kind), digits)} {CANONICAL[kind]}"


class Quantity(fields.Field):
    """A marshmallow field of one kind of quantity: accepts "160 lb" or {"value", "unit"}; dumps canonical."""

    def __init__(self, kind, *, positive=True, allow_zero=False, minimum=None, maximum=None, **kwargs):
        self.kind = kind
        self.limits = dict(positive=positive, allow_zero=allow_zero, minimum=minimum, maximum=maximum)
        kwargs.setdefault("metadata", {}).update({
            "description": f"A quantity in {CANONICAL[kind]} or convertible to it: \"1 {CANONICAL[kind]}\" or "
                           f"{{\"value\": 1, \"unit\": \"{CANONICAL[kind]}\"}}; one plain decimal number (a "
                           f"point, never a comma) and one unit, no arithmetic"
                           + (f"; plausible range {minimum:g}–{maximum:g} {CANONICAL[kind]}"
                              if minimum is not None and maximum is not None else ""),
        })
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return dump(value, self.kind)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse(value, self.kind, **self.limits)
        except QuantityError as e:
            raise ValidationError(str(e)) from None


def quantity_schema(kind):
    """OpenAPI description of a dumped quantity."""
    return {"type": "object", "properties": {"value": {"type": "number"}, "unit": {"type": "string",
                                                                                  "enum": [CANONICAL[kind]]}}}
