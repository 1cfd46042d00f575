"""Security events on the audit trail (SPEC §4), which QA and the administrator read: failed sign-ins (known or
unknown username), refused signatures, refused permissions and segregation-of-duties refusals.

Each is an audit row written in a transaction of its own, after the refused operation has been rolled back: the
operation writes nothing, the event is kept, and the chain stays one chain (the rows go through audit.record).
"""
import logging
from collections import namedtuple

from flask import g, request
from sqlalchemy.exc import SQLAlchemyError

from lims.audit import services as audit
from lims.extensions import db

log = logging.getLogger(__name__)

Actor = namedtuple("Actor", "id username")
ANONYMOUS = Actor(None, "anonymous")

SIGN_IN_FAILED = "security.sign_in_failed"
SIGN_IN_THROTTLED = "security.sign_in_throttled"
SIGNATURE_REFUSED = "security.signature_refused"
PERMISSION_REFUSED = "security.permission_refused"
SEGREGATION_REFUSED = "security.segregation_refused"


def actor_of(user):
    """Who, as plain values that outlive a rollback (an ORM object is expired by it)."""
    return Actor(user.id, user.username) if user is not None else ANONYMOUS


def submitter():
    """The signed-in user whose request this is, if any."""
    user = getattr(g, "user", None) if g else None
    return actor_of(user) if user is not None else None


def queue(action, actor, entity="users", entity_id=None, after=None):
    """Queues an event in the current transaction; the caller has rolled back the refused work and commits."""
    audit.record(action, entity=entity, entity_id=None if entity_id is None else str(entity_id), after=after,
                 actor=actor)


def record_refusal(error):
    """A 403 (a role the user lacks, or a segregation-of-duties rule) as a security event, in its own transaction.

    Called by the one error handler and by the pages that show a refusal beside its form; never raises, since the
    refusal must reach the user even if the database cannot take the event."""
    from lims.errors import Forbidden
    if not isinstance(error, Forbidden):
        return
    action = SEGREGATION_REFUSED if error.code == "segregation_of_duties" else PERMISSION_REFUSED
    actor = submitter() or ANONYMOUS
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    try:
        db.session.rollback()
        queue(action, actor, entity="route", entity_id=rule[:64],
              after={"method": request.method, "path": request.path[:200], "code": error.code,
                     "message": error.message})
        db.session.commit()
    except SQLAlchemyError:
        log.exception("could not record the security event %s", action)
        db.session.rollback()
