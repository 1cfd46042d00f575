"""Entry criteria evaluated at enrolment, like a release specification (SPEC §6). Pure: no database, no Flask.

A criterion is {name, kind, value} with optional words and answer bounds:
- `yes`: the answer is yes or no; met when it equals `value` (true: must be yes).
- `min` / `max`: the answer is a number; met when it is at least / at most `value`.
- `months_before`: the answer is a date; met when it lies more than `value` months before the day of enrolment.
An answer that is not of its kind (a word for a number, 7.5 for an integer score, NIHSS 99, a date in the future) is
a typing slip, refused 422 naming the field; an answer of its kind that does not meet the criterion is a fact about
the subject, listed in the 409 with every other criterion not met or not answered. Informed consent, signed on or
before the day of enrolment, is one more item of the same list.
"""
import datetime as dt
import math
from dataclasses import dataclass

from lims.errors import Invalid

YES = {True: True, False: False, "yes": True, "no": False, "true": True, "false": False}


@dataclass(frozen=True)
class Criterion:
    name: str
    kind: str
    value: object
    question: str | None = None
    integer: bool = False
    lowest: float | None = None
    highest: float | None = None

    @classmethod
    def of(cls, row):
        return cls(row.name, row.kind, row.value, row.question, row.integer, row.lowest, row.highest)

    @property
    def requirement(self):
        """The criterion in words: "yes", "at least 6", "more than 6 months before enrolment"."""
        if self.kind == "yes":
            return "yes" if self.value else "no"
        if self.kind == "min":
            return f"at least {_number(self.value)}"
        if self.kind == "max":
            return f"at most {_number(self.value)}"
        return f"more than {self.value} month{'s' if self.value != 1 else ''} before enrolment"

    @property
    def words(self):
        return self.question or self.name.replace("_", " ")


def _number(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


def months_earlier(day, months):
    """The same day of the month `months` earlier, the month's last day where it has no such day (31 Aug → 28 Feb)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _parse(criterion, raw, today):
    """The answer as its kind, or a message saying why it is not one."""
    field = f"eligibility.{criterion.name}"
    if criterion.kind == "yes":
        key = raw.strip().lower() if isinstance(raw, str) else raw
        if isinstance(key, bool) or key in ("yes", "no", "true", "false"):
            return YES[key]
        raise Invalid(f"{field}: answer yes or no", fields={field: ["answer yes or no"]})
    if criterion.kind in ("min", "max"):
        number = raw
        if isinstance(raw, str):
            try:
                number = float(raw.strip()) if raw.strip() else None
            except ValueError:
                number = None
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            raise Invalid(f"{field}: answer a number", fields={field: ["answer a number"]})
        if criterion.integer:
            if number != int(number):
                raise Invalid(f"{field}: answer a whole number", fields={field: ["answer a whole number"]})
            number = int(number)
        low, high = criterion.lowest, criterion.highest
        if (low is not None and number < low) or (high is not None and number > high):
            bounds = f"{_number(low)}–{_number(high)}" if low is not None and high is not None else (
                f"at least {_number(low)}" if low is not None else f"at most {_number(high)}")
            message = f"{_number(number)} is not a possible answer ({bounds})"
            raise Invalid(f"{field}: {message}", fields={field: [message]})
        return number
    try:
        day = dt.date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        day = None
    if day is None:
        raise Invalid(f"{field}: answer a date (YYYY-MM-DD)", fields={field: ["answer a date (YYYY-MM-DD)"]})
    if day > today:
        raise Invalid(f"{field}: a date cannot be after today", fields={field: ["a date cannot be after today"]})
    if day < dt.date(1900, 1, 1):
        raise Invalid(f"{field}: must lie after 1900-01-01", fields={field: ["must lie after 1900-01-01"]})
    return day


def _met(criterion, answer, today):
    if criterion.kind == "yes":
        return answer == bool(criterion.value)
    if criterion.kind == "min":
        return answer >= criterion.value
    if criterion.kind == "max":
        return answer <= criterion.value
    return answer < months_earlier(today, int(criterion.value))


def _shown(answer):
    if isinstance(answer, bool):
        return "yes" if answer else "no"
    if isinstance(answer, dt.date):
        return answer.isoformat()
    return _number(answer)


def evaluate(criteria, answers, consent_signed_on, today, consent_required):
    """Every criterion judged: [{name, question, requirement, answer, met, message}], plus consent; raises Invalid
    (422) for an answer that is not of its kind or names no criterion. Judges, never writes."""
    answers = dict(answers or {})
    known = {c.name for c in criteria}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise Invalid(f"eligibility: no criterion named {', '.join(unknown)}",
                      fields={f"eligibility.{name}": ["this study has no such criterion"] for name in unknown})
    parsed, problems = {}, {}
    for criterion in criteria:
        raw = answers.get(criterion.name)
        if raw is None or raw == "":
            continue
        try:
            parsed[criterion.name] = _parse(criterion, raw, today)
        except Invalid as e:
            problems.update(e.fields)
    if problems:
        raise Invalid("Some answers need attention: " + "; ".join(f"{f.split('.', 1)[1]}: {m[0]}"
                                                                   for f, m in problems.items()), fields=problems)
    results = []
    for criterion in criteria:
        row = {"name": criterion.name, "question": criterion.words, "requirement": criterion.requirement}
        if criterion.name not in parsed:
            row.update(answer=None, met=False, message=f"{criterion.words}: not answered "
                                                         f"(required: {criterion.requirement})")
        else:
            answer = parsed[criterion.name]
            met = _met(criterion, answer, today)
            row.update(answer=answer, met=met, message=f"{criterion.words}: {_shown(answer)} "
                                                       f"{'meets' if met else 'does not meet'} "
                                                       f"“{criterion.requirement}”")
        results.append(row)
    if consent_required or consent_signed_on is not None:
        row = {"name": "consent_signed_on", "question": "Informed consent signed on",
               "requirement": "on or before the day of enrolment", "answer": consent_signed_on}
        if consent_signed_on is None:
            row.update(met=False, message="informed consent: no signing date given (required before enrolment)")
        elif consent_signed_on > today:
            row.update(met=False, message=f"informed consent: signed on {consent_signed_on.isoformat()}, after the "
                                          f"day of enrolment ({today.isoformat()})")
        else:
            row.update(met=True, message=f"informed consent signed on {consent_signed_on.isoformat()}")
        results.append(row)
    return results


def shown(answer):
    return "—" if answer is None else _shown(answer)


def stored(answer):
    """An answer as the record keeps it (JSON): a date as its ISO text."""
    return answer.isoformat() if isinstance(answer, dt.date) else answer
