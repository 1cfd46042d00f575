"""The one Pint registry of the application (SPEC §2), and the marshmallow field that parses quantities.

Every quantity crossing the API is parsed here and leaves here as {"value", "unit"} in the canonical unit of its kind.
"""
import math

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


class QuantityError(ValueError):
    pass


def parse(value, kind, *, positive=True, allow_zero=False, minimum=None, maximum=None):
    """Turn client input into a Quantity of the given kind, or raise QuantityError with a message for people."""
    expected = CANONICAL[kind]
    if isinstance(value, dict):
        if set(value) != {"value", "unit"}:
            raise QuantityError('expected {"value": <number>, "unit": "<unit>"}')
        number, unit = value["value"], value["unit"]
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not isinstance(unit, str):
            raise QuantityError('expected {"value": <number>, "unit": "<unit>"}')
        text = None
    elif isinstance(value, str) and value.strip():
        if len(value) > 64:
            raise QuantityError("too long for a quantity")
        text = value.strip()
    elif isinstance(value, pint.Quantity):
        text, number, unit = None, value.magnitude, value.units
    else:
        raise QuantityError(f"expected a quantity such as \"1 {expected}\"")
    try:
        q = Q_(text) if text is not None else Q_(number, unit)
    except Exception:  # Pint raises many types for unparseable text; all mean the same to a client
        raise QuantityError(f"could not read {value!r} as a quantity in {expected}") from None
    if not isinstance(q, pint.Quantity) or q.units == ureg.dimensionless:
        raise QuantityError(f"a unit is required (expected {expected})")
    if q.dimensionality != _UNIT[kind].dimensionality:
        raise QuantityError(f"wrong dimension: {format(q.units, '~')} is not convertible to {expected}")
    q = q.to(_UNIT[kind])
    magnitude = float(q.magnitude)
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
                           f"{{\"value\": 1, \"unit\": \"{CANONICAL[kind]}\"}}",
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
