"""Failed sign-ins counted per client address and username, and per address for all usernames, in the database
(SPEC §4, §16).

A ward PC is shared: one person's typos at 3 a.m. must not lock the ward out. So the tight limit counts the failures
of one username from one address (LIMS_SIGN_IN_THROTTLE_FAILURES): that username is answered 429 from that address
until the window ends, and every other user of the same PC signs in as before. A much wider limit counts every
failure from one address (LIMS_SIGN_IN_THROTTLE_ADDRESS_FAILURES), against one client trying many usernames
(password spraying, or locking a ward's accounts five tries each). Both are refused before any password is checked,
so the accounts' own failure counts (5 lock one account) are not touched. Fixed windows of
LIMS_SIGN_IN_THROTTLE_MINUTES, one row each, written with an upsert: every app instance counts into the same rows.
"""
import datetime as dt
from collections import namedtuple

from flask import current_app
from sqlalchemy import case, literal
from sqlalchemy.dialects import postgresql, sqlite

from lims.auth.models import SignInThrottle
from lims.errors import LimsError
from lims.extensions import db
from lims.models_base import UTCDateTime
from lims.timeutil import aware, utcnow

UNKNOWN_ADDRESS = "unknown"
ALL_USERNAMES = ""  # the address's row that counts every username's failures (no username is blank: the schemas)


class TooManySignIns(LimsError):
    status, code = 429, "too_many_sign_ins"

    def __init__(self, message, retry_after):
        super().__init__(message)
        self.retry_after = retry_after


Limits = namedtuple("Limits", "failures address_failures window")


def limits():
    cfg = current_app.config
    return Limits(cfg["LIMS_SIGN_IN_THROTTLE_FAILURES"], cfg["LIMS_SIGN_IN_THROTTLE_ADDRESS_FAILURES"],
                  dt.timedelta(minutes=cfg["LIMS_SIGN_IN_THROTTLE_MINUTES"]))


def address_key(client_address):
    return (client_address or UNKNOWN_ADDRESS)[:64]


def username_key(username):
    """Lowered, as accounts are found (SPEC §4): NURSE1 and nurse1 count as one."""
    return str(username).lower()[:64] or "?"


def _time_left(row, limit, window):
    if row is None or row.failures < limit:
        return None
    left = aware(row.window_started_at) + window - utcnow()
    return left if left > dt.timedelta(0) else None


def refuse_if_throttled(client_address, username):
    """429 when this username from this address, or this address for all usernames, has used up its failed sign-ins
    for the window; reads only (two rows by primary key)."""
    failures, address_failures, window = limits()
    address = address_key(client_address)
    mine = _time_left(db.session.get(SignInThrottle, (address, username_key(username))), failures, window)
    if mine is not None:
        raise TooManySignIns(f"too many failed sign-ins as {str(username)[:64]} from this computer; try again in "
                             f"{_minutes(mine)} minute(s), or ask an administrator (other users can sign in here)",
                             retry_after=int(mine.total_seconds()) + 1)
    everyone = _time_left(db.session.get(SignInThrottle, (address, ALL_USERNAMES)), address_failures, window)
    if everyone is not None:
        raise TooManySignIns(f"too many failed sign-ins from this computer; try again in {_minutes(everyone)} "
                             f"minute(s), or ask an administrator", retry_after=int(everyone.total_seconds()) + 1)


def _minutes(left):
    return max(1, round(left.total_seconds() / 60))


def count_failure(client_address, username):
    """One more failed sign-in of this username from this address, in the caller's transaction; returns the window's
    counts (this username's, the address's)."""
    address = address_key(client_address)
    return _count(address, username_key(username)), _count(address, ALL_USERNAMES)


def _count(address, username):
    now = utcnow()
    window = limits().window
    table = SignInThrottle.__table__
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    expired = table.c.window_started_at <= now - window
    statement = (insert(table).values(client_address=address, username=username, window_started_at=now, failures=1)
                 .on_conflict_do_update(index_elements=[table.c.client_address, table.c.username], set_={
                     "failures": case((expired, 1), else_=table.c.failures + 1),
                     "window_started_at": case((expired, literal(now, UTCDateTime())),
                                               else_=table.c.window_started_at)})
                 .returning(table.c.failures))
    return db.session.execute(statement).scalar_one()
