"""Page sessions kept on the server (SPEC §4, §16).

The session cookie carries one random id and nothing else that matters; the row of `user_sessions` it names says
whether the session still stands. Signing out ends the row, so a copied cookie is dead; an administrator's
deactivation ends every row of the account; a row not seen for LIMS_SESSION_IDLE_MINUTES (default 15) is ended at
its next use. The rows live in the database, so every app instance behind a load balancer agrees.

A session also records its first signature (SPEC §4, 21 CFR 11.200(a)(1)): until one is recorded, a page signature
asks for the username as well as the password; afterwards the password alone. The mark is written with the first
signed record, in its transaction, so a refused or rolled-back signature leaves the session still asking.
"""
import datetime as dt
import functools
import hashlib
import secrets
from collections import namedtuple

from flask import current_app, g, has_request_context
from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session, joinedload

from lims.auth.models import User, UserSession
from lims.extensions import db
from lims.timeutil import aware, utcnow

# last_seen_at is written at most this often, so a page view is a read and not a write, within the idle limit's
# precision of a minute.
TOUCH_EVERY = dt.timedelta(seconds=60)

# The page session a request came with, as plain values read with the session's row (no query of its own): its id,
# its user's id, and whether it has signed. access.current_user() keeps it in `g.page_session`.
PageSession = namedtuple("PageSession", "id user_id signed")


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
    """(user, PageSession, None) while the session stands; (None, None, why) once it has ended: "ended" or "idle"."""
    if not isinstance(sid, str):
        return None, None, "ended"
    row = db.session.execute(_by_sid(), {"sid_hash": _sid_hash(sid)}).unique().scalar_one_or_none()
    if row is None or row.ended_at is not None:
        return None, None, "ended"
    if not row.user.active:
        return None, None, "ended"
    now = utcnow()
    seen = aware(row.last_seen_at)
    if seen <= now - idle_limit():
        _end([row.id], "idle", now)
        return None, None, "idle"
    page = PageSession(row.id, row.user_id, row.first_signed_at is not None)
    if now - seen < TOUCH_EVERY:
        return row.user, page, None
    # Each write in a transaction of its own, begun by the write: a read transaction is never upgraded to a write
    # (on SQLite that can fail outright when another writer went first).
    db.session.commit()
    db.session.execute(update(UserSession).where(UserSession.id == page.id, UserSession.ended_at.is_(None))
                       .values(last_seen_at=now))
    db.session.commit()
    return _user_by_id(page.user_id), page, None


# --- the session's first signature (SPEC §4) --------------------------------------------------------------------

_SIGNING = "page_session_signing"  # the session whose first signature this transaction may record
_SIGNED = "page_session_signed"  # the session whose first signature this transaction has recorded


def unsigned_page_session(user):
    """The page session of this request while it has not signed, when `user` is its user; None otherwise (an API
    request, a later signature, a signer who is not the session's user)."""
    page = g.get("page_session") if has_request_context() else None
    if page is None or page.signed or page.user_id != getattr(user, "id", None):
        return None
    return page


def expect_first_signature(page):
    """The signer of `page` has given username and password: the signed record written next in this transaction
    marks the session as signed (record_first_signature)."""
    db.session.info[_SIGNING] = page.id


def record_first_signature(user):
    """Called with every signed record: the first one of a page session marks it, in the record's own transaction,
    so a commit keeps both and a rollback neither."""
    page_id = db.session.info.get(_SIGNING)
    page = unsigned_page_session(user)
    if page_id is None or page is None or page.id != page_id:
        return
    db.session.execute(update(UserSession).where(UserSession.id == page_id, UserSession.first_signed_at.is_(None))
                       .values(first_signed_at=utcnow()))
    db.session.info.pop(_SIGNING)
    db.session.info[_SIGNED] = page_id


def asks_username():
    """Whether a signature form drawn now asks for the username: a page session that has not signed yet."""
    page = g.get("page_session") if has_request_context() else None
    return page is not None and not page.signed


def forget_signing():
    """A request starts with no first signature pending (a test's app context outlives its requests)."""
    db.session.info.pop(_SIGNED, None)
    db.session.info.pop(_SIGNING, None)


@event.listens_for(Session, "after_commit")
def _first_signature_kept(session):
    signed = session.info.pop(_SIGNED, None)
    session.info.pop(_SIGNING, None)
    if signed is not None and has_request_context():
        page = g.get("page_session")
        if page is not None and page.id == signed:
            g.page_session = page._replace(signed=True)  # a form drawn after the commit asks for the password only


@event.listens_for(Session, "after_rollback")
def _first_signature_undone(session):
    session.info.pop(_SIGNED, None)
    session.info.pop(_SIGNING, None)


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
