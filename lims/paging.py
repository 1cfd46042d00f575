"""Keyset paging for long lists (SPEC §15): a page is read from the position of the last row shown, never by OFFSET.

OFFSET reads and throws away every row before the page, so page 500 of a year's lots costs 500 pages; a keyset
reads from an index at the position the cursor names, so every page costs the same. Each list orders by columns
that end in a unique one (the id), all in one direction, so the position is a single row-value comparison
(`(manufactured_on, id) < (:d, :id)`) that PostgreSQL and SQLite both answer from a composite index.

    page = keyset_page(select(Lot).where(...), (Lot.created_at, Lot.id), cursor=request.args.get("cursor"),
                       descending=True)
    page.rows, page.next_cursor   # the template's ui.more(page) draws the "Next page" link

The cursor is opaque to the reader (URL-safe base64 of the last row's key) and checked on the way in: a cursor
that does not decode, or does not fit the list, is a 422 naming `cursor`, never a 500.
"""
import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import bindparam, tuple_

from lims.errors import invalid
from lims.extensions import db

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass
class Page:
    rows: list
    next_cursor: str | None = None
    limit: int = DEFAULT_LIMIT
    first: bool = True  # the first page (no cursor given): "Back to the first page" is not offered
    filters: dict = field(default_factory=dict)  # what the next page's link carries besides the cursor

    @property
    def has_more(self):
        return self.next_cursor is not None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def __bool__(self):
        return bool(self.rows)


def _encode_value(value):
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    return value


def _decode_value(value):
    if isinstance(value, dict) and len(value) == 1:
        (kind, text), = value.items()
        if kind == "t" and isinstance(text, str):
            return dt.datetime.fromisoformat(text)
        if kind == "d" and isinstance(text, str):
            return dt.date.fromisoformat(text)
        raise ValueError("unknown value")
    if value is None or isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return value
    raise ValueError("unknown value")


def encode_cursor(values):
    text = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor, width):
    """The key a cursor names, as a tuple of `width` values; Invalid (422) for anything else."""
    if not isinstance(cursor, str) or len(cursor) > 512:
        raise invalid("cursor", "not a cursor of this list: start again from the first page")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw.decode())
        if not isinstance(values, list) or len(values) != width:
            raise ValueError("wrong width")
        return tuple(_decode_value(v) for v in values)
    except (ValueError, binascii.Error, UnicodeDecodeError, TypeError):
        raise invalid("cursor", "not a cursor of this list: start again from the first page") from None


def page_limit(value, default=DEFAULT_LIMIT):
    """A `limit` query argument, bounded: a page never holds more than MAX_LIMIT rows, whatever the URL asks."""
    if value in (None, ""):
        return default
    if not str(value).isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise invalid("limit", f"a whole number from 1 to {MAX_LIMIT}")
    return int(value)


def keyset_page(query, key, cursor=None, limit=DEFAULT_LIMIT, descending=False, scalars=True, filters=None):
    """One page of `query` in the order of `key` (columns ending in a unique one, e.g. (Lot.created_at, Lot.id)),
    from the row after `cursor`. Reads limit + 1 rows: the extra one only says whether there is a next page.

    `scalars` reads ORM entities (the query selects one model); otherwise rows, whose key columns must be among
    the selected ones by the same names. `filters` are the list's other query arguments, kept in the next link."""
    key = tuple(key)
    if cursor:
        position = decode_cursor(cursor, len(key))
        # Each value bound as its column's type (a stored time goes through UTCDateTime, as the column does).
        after = tuple_(*(bindparam(None, v, type_=c.type) for c, v in zip(key, position, strict=True)))
        row_value = tuple_(*key)
        query = query.where(row_value < after if descending else row_value > after)
    query = query.order_by(*(c.desc() if descending else c.asc() for c in key)).limit(limit + 1)
    rows = (db.session.scalars(query) if scalars else db.session.execute(query)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([_key_value(last, c) for c in key])
    return Page(rows=list(rows), next_cursor=next_cursor, limit=limit, first=not cursor,
                filters={k: v for k, v in (filters or {}).items() if v not in (None, "")})


def _key_value(row, column):
    # An entity's attribute, or a row's column, of the key's name.
    return getattr(row, column.key)


@dataclass
class Worklist:
    """What waits for its reader: the first `limit` rows of a list that should stay short, and how many wait in all
    (counted only when the rows fill the limit; otherwise the rows are all there is)."""
    rows: list
    total: int

    @property
    def more(self):
        return self.total - len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def __bool__(self):
        return bool(self.rows)


def worklist(query, limit, count_query=None):
    """The first `limit` rows of `query` (already ordered) and the total; `count_query` counts them when the default
    (a count over `query` without its order) would be wrong or slow."""
    from sqlalchemy import func, select
    rows = list(db.session.scalars(query.limit(limit)).unique())
    if len(rows) < limit:
        return Worklist(rows, len(rows))
    if count_query is None:
        count_query = select(func.count()).select_from(query.order_by(None).subquery())
    return Worklist(rows, db.session.scalar(count_query))


def period(since=None, until=None):
    """A list's period filter, from the `since` and `until` dates (site days, ISO, both included) of its query, as
    UTC bounds [start, end) for a stored time, each None when not given. A date that does not parse: 422."""
    from lims.timeutil import UTC, site_zone

    def day_start(name, text, days=0):
        if not text:
            return None
        try:
            day = dt.date.fromisoformat(text) + dt.timedelta(days=days)
        except ValueError:
            raise invalid(name, "a date, e.g. 2026-11-24") from None
        return dt.datetime.combine(day, dt.time(), tzinfo=site_zone()).astimezone(UTC)

    return day_start("since", since), day_start("until", until, days=1)


def dates(since=None, until=None):
    """The same filter for a date column (a lot's manufacture date): the dates themselves, checked."""
    def day(name, text):
        if not text:
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise invalid(name, "a date, e.g. 2026-11-24") from None
    return day("since", since), day("until", until)
