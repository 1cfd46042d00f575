"""Failed sign-ins counted per client address, in the database (SPEC §4).

The account lockout (5 failures lock one account) would let one anonymous client lock a whole ward's accounts by
trying each name five times. After LIMS_SIGN_IN_THROTTLE_FAILURES failed sign-ins from one address within
LIMS_SIGN_IN_THROTTLE_MINUTES, that address is answered 429 until the window ends, before any password is checked,
so the accounts' own failure counts are not touched. A fixed window per address, one row each, written with an
upsert: every app instance counts into the same row.
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


class TooManySignIns(LimsError):
    status, code = 429, "too_many_sign_ins"

    def __init__(self, message, retry_after):
        super().__init__(message)
        self.retry_after = retry_after


Limits = namedtuple("Limits", "failures window")


def limits():
    cfg = current_app.config
    return Limits(cfg["LIMS_SIGN_IN_THROTTLE_FAILURES"], dt.timedelta(minutes=cfg["LIMS_SIGN_IN_THROTTLE_MINUTES"]))


def address_key(client_address):
    return (client_address or UNKNOWN_ADDRESS)[:64]


def refuse_if_throttled(client_address):
    """429 when this address has used up its failed sign-ins for the window; reads only."""
    failures, window = limits()
    row = db.session.get(SignInThrottle, address_key(client_address))
    if row is None or row.failures < failures:
        return
    ends = aware(row.window_started_at) + window
    left = ends - utcnow()
    if left > dt.timedelta(0):
        minutes = max(1, round(left.total_seconds() / 60))
        raise TooManySignIns(f"too many failed sign-ins from this computer; try again in {minutes} minute(s), or "
                             f"ask an administrator", retry_after=int(left.total_seconds()) + 1)


def count_failure(client_address):
    """One more failed sign-in from this address, in the caller's transaction; returns the window's count."""
    now = utcnow()
    _, window = limits()
    table = SignInThrottle.__table__
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    expired = table.c.window_started_at <= now - window
    statement = (insert(table).values(client_address=address_key(client_address), window_started_at=now, failures=1)
                 .on_conflict_do_update(index_elements=[table.c.client_address], set_={
                     "failures": case((expired, 1), else_=table.c.failures + 1),
                     "window_started_at": case((expired, literal(now, UTCDateTime())),
                                               else_=table.c.window_started_at)})
                 .returning(table.c.failures))
    return db.session.execute(statement).scalar_one()
