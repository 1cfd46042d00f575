"""Page sessions kept on the server (SPEC §4, §16).

The session cookie carries one random id and nothing else that matters; the row of `user_sessions` it names says
whether the session still stands. Signing out ends the row, so a copied cookie is dead; an administrator's
deactivation ends every row of the account; a row not seen for LIMS_SESSION_IDLE_MINUTES (default 15) is ended at
its next use. The rows live in the database, so every app instance behind a load balancer agrees.
"""
import datetime as dt
import functools
import hashlib
import secrets

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from lims.auth.models import User, UserSession
from lims.extensions import db
from lims.timeutil import aware, utcnow

# last_seen_at is written at most this often, so a page view is a read and not a write, within the idle limit's
# precision of a minute.
TOUCH_EVERY = dt.timedelta(seconds=60)


def _sid_hash(sid):
    return hashlib.sha256(sid.encode()).hexdigest()


def idle_limit():
    return dt.timedelta(minutes=current_app.config["LIMS_SESSION_IDLE_MINUTES"])


def start_session(user):
    """A new session for a user who has just signed in; returns the id the cookie carries."""
    sid = secrets.token_urlsafe(32)
    db.session.add(UserSession(sid_hash=_sid_hash(sid), user_id=user.id))
    db.session.commit()
    return sid


@functools.cache
def _by_sid():
    return (select(UserSession).where(UserSession.sid_hash == bindparam("sid_hash"))
            .options(joinedload(UserSession.user).joinedload(User.role_rows)))


def _user_by_id(user_id):
    return db.session.execute(select(User).where(User.id == user_id).options(joinedload(User.role_rows))
                              ).unique().scalar_one()


def user_for_session(sid):
    """(user, None) while the session stands; (None, why) once it has ended: "ended" or "idle"."""
    if not isinstance(sid, str):
        return None, "ended"
    row = db.session.execute(_by_sid(), {"sid_hash": _sid_hash(sid)}).unique().scalar_one_or_none()
    if row is None or row.ended_at is not None:
        return None, "ended"
    if not row.user.active:
        return None, "ended"
    now = utcnow()
    seen = aware(row.last_seen_at)
    if seen <= now - idle_limit():
        _end([row.id], "idle", now)
        return None, "idle"
    if now - seen < TOUCH_EVERY:
        return row.user, None
    session_id, user_id = row.id, row.user_id
    # Each write in a transaction of its own, begun by the write: a read transaction is never upgraded to a write
    # (on SQLite that can fail outright when another writer went first).
    db.session.commit()
    db.session.execute(update(UserSession).where(UserSession.id == session_id, UserSession.ended_at.is_(None))
                       .values(last_seen_at=now))
    db.session.commit()
    return _user_by_id(user_id), None


def _end(session_ids, reason, now):
    db.session.commit()
    db.session.execute(update(UserSession).where(UserSession.id.in_(session_ids), UserSession.ended_at.is_(None))
                       .values(ended_at=now, end_reason=reason))
    db.session.commit()


def end_session(sid, reason="signed_out"):
    """Signing out: the row ends, so the cookie (and every copy of it) is refused from now on."""
    if not isinstance(sid, str):
        return
    db.session.execute(update(UserSession).where(UserSession.sid_hash == _sid_hash(sid),
                                                 UserSession.ended_at.is_(None))
                       .values(ended_at=utcnow(), end_reason=reason))
    db.session.commit()


def end_sessions_of(user_id, reason):
    """Ends every open session of one account, in the caller's transaction; returns how many were open."""
    result = db.session.execute(update(UserSession).where(UserSession.user_id == user_id,
                                                          UserSession.ended_at.is_(None))
                                .values(ended_at=utcnow(), end_reason=reason))
    return result.rowcount
