"""Writing and verifying the audit trail.

Services call record(); the rows are written by a before_commit hook in the same transaction as the change they
describe, so a rolled-back change leaves no audit row and a committed one always has its row.
"""
import datetime as dt
import decimal
import hashlib
import json

from flask import g
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from lims.audit.models import GENESIS_HASH, AuditEntry, AuditHead
from lims.extensions import db
from lims.timeutil import iso, utcnow

_PENDING = "audit_pending"


def _json_default(value):
    if isinstance(value, (dt.datetime,)):
        return iso(value)
    if isinstance(value, (dt.date, decimal.Decimal)):
        return str(value)
    if hasattr(value, "magnitude") and hasattr(value, "units"):
        return f"{value.magnitude:g} {value.units:~}"
    raise TypeError(f"cannot audit {type(value).__name__}")


def canonical_json(value):
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default, ensure_ascii=False)


def canonical_row(seq, at, actor, action, entity, entity_id, before, after, reason):
    return json.dumps([seq, iso(at), actor, action, entity, entity_id, before, after, reason],
                      separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash, row):
    return hashlib.sha256((prev_hash + row).encode()).hexdigest()


def record(action, obj=None, *, entity=None, entity_id=None, before=None, after=None, reason=None, actor=None):
    """Queue an audit row for the current transaction. With obj, its id and audit_dict() are read at commit."""
    try:
        actor = actor or getattr(g, "user", None)
    except RuntimeError:  # outside an app context (never in practice: the CLI pushes one)
        actor = None
    db.session.info.setdefault(_PENDING, []).append(
        dict(action=action, obj=obj, entity=entity, entity_id=entity_id, before=before, after=after,
             reason=reason, actor=actor))


def snapshot(obj):
    return obj.audit_dict() if obj is not None else None


@event.listens_for(Session, "before_commit")
def _write_pending(session):
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
    seq, prev = head.seq, head.hash
    for item in pending:
        obj = item["obj"]
        entity = item["entity"] or (obj.__tablename__ if obj is not None else "system")
        entity_id = item["entity_id"] if item["entity_id"] is not None else (
            _identity(obj) if obj is not None else None)
        after = item["after"] if item["after"] is not None or obj is None else obj.audit_dict()
        actor = item["actor"]
        seq += 1
        at = utcnow()
        before_text, after_text = canonical_json(item["before"]), canonical_json(after)
        row = canonical_row(seq, at, actor.username if actor else "system", item["action"], entity,
                            None if entity_id is None else str(entity_id), before_text, after_text, item["reason"])
        digest = chain_hash(prev, row)
        session.add(AuditEntry(seq=seq, at=at, actor_id=actor.id if actor else None,
                               actor=actor.username if actor else "system", action=item["action"], entity=entity,
                               entity_id=None if entity_id is None else str(entity_id), before=before_text,
                               after=after_text, reason=item["reason"], prev_hash=prev, hash=digest))
        prev = digest
    head.seq, head.hash = seq, prev
    session.flush()


@event.listens_for(Session, "after_rollback")
def _drop_pending(session):
    session.info.pop(_PENDING, None)


def _identity(obj):
    state = db.inspect(obj)
    key = state.identity
    if key is None:
        return None
    return key[0] if len(key) == 1 else "/".join(str(k) for k in key)


def verify_chain(batch=5000):
    """Recompute every row's hash in order. Returns {ok, checked, first_broken, reason}."""
    prev, expected_seq, checked = GENESIS_HASH, 1, 0
    columns = (AuditEntry.seq, AuditEntry.at, AuditEntry.actor, AuditEntry.action, AuditEntry.entity,
               AuditEntry.entity_id, AuditEntry.before, AuditEntry.after, AuditEntry.reason, AuditEntry.prev_hash,
               AuditEntry.hash)
    last = 0
    while True:
        rows = db.session.execute(
            select(*columns).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)).all()
        if not rows:
            break
        for seq, at, actor, action, entity, entity_id, before, after, reason, prev_hash, digest in rows:
            if seq != expected_seq:
                return _broken(checked, expected_seq, f"row {expected_seq} is missing")
            if prev_hash != prev:
                return _broken(checked, seq, "its prev_hash does not match the previous row")
            row = canonical_row(seq, at, actor, action, entity, entity_id, before, after, reason)
            if chain_hash(prev, row) != digest:
                return _broken(checked, seq, "its content does not match its hash")
            prev, expected_seq, checked, last = digest, seq + 1, checked + 1, seq
    head = db.session.get(AuditHead, 1)
    if head is not None and (head.seq != checked or head.hash != prev):
        return _broken(checked, checked + 1, "rows after it were removed (the chain head records more)")
    return {"ok": True, "checked": checked, "first_broken": None}


def _broken(checked, seq, reason):
    return {"ok": False, "checked": checked, "first_broken": seq, "reason": f"row {seq}: {reason}"}
