"""The limits of a JSON body (SPEC §18), enforced before any view runs, sign-in included.

Python's json module reads what no client should send and what the rest of the application cannot hold: a lone
UTF-16 surrogate (`"\\ud800"`, which no database encoding can store), nesting deep enough to exhaust the recursion of
whatever walks it next, a number of thousands of digits (int() refuses more than 4,300, and converting them costs
time), `NaN` and `Infinity` (not JSON at all), and a body in UTF-16 (which it detects and decodes). Each is a 400 with
the JSON error shape here, so no view, schema or service ever sees one.
"""
import json
import math
import re

from lims.errors import BadRequest

MAX_DEPTH = 32
MAX_NUMBER_DIGITS = 50

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class MalformedBody(BadRequest):
    code = "malformed_request"


def _deepest(text):
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        if bracket.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                break
        else:
            depth -= 1
    return deepest


def _digits(number):
    digits = sum(c.isdigit() for c in number)
    if digits > MAX_NUMBER_DIGITS:
        raise MalformedBody(f"a number in the body has {digits} digits; at most {MAX_NUMBER_DIGITS} are read")


def _integer(number):
    _digits(number)
    return int(number)


def _decimal(number):
    _digits(number)
    value = float(number)
    if not math.isfinite(value):
        raise MalformedBody(f"the number {number} is out of range")
    return value


def _constant(name):
    raise MalformedBody(f"{name} is not a JSON number")


def _holds_surrogate(value):
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def vet(raw):
    """Reads a request body as JSON within the limits, or raises MalformedBody (400) saying which one it broke."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedBody(f"the body is not UTF-8 (byte 0x{raw[e.start]:02x} at position {e.start})") from None
    if _deepest(text) > MAX_DEPTH:
        raise MalformedBody(f"the body nests deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_decimal, parse_constant=_constant)
    except (ValueError, RecursionError) as e:
        raise MalformedBody(f"the body is not valid JSON: {str(e)[:200]}") from None
    if _SURROGATE_ESCAPE.search(text) and _holds_surrogate(value):
        raise MalformedBody("the body holds a lone UTF-16 surrogate (an unpaired \\ud800–\\udfff escape)")
    return value
