"""Writing and verifying the audit trail.

Services call record(); the rows are written by a before_commit hook in the same transaction as the change they
describe, so a rolled-back change leaves no audit row and a committed one always has its row.
"""
import datetime as dt
import decimal
import hashlib
import json
import json.encoder
from concurrent.futures import ThreadPoolExecutor

from flask import g
from sqlalchemy import bindparam, event, select
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
    # The JSON is built before the head is locked: every audited writer in the site waits on that lock until its
    # commit is flushed to disk, so only the sequence, the time and the hashes are computed while it is held.
    # Plain Core statements, not ORM objects: the rows are written once and never read back in this transaction.
    rows = []
    for item in pending:
        obj = item["obj"]
        entity = item["entity"] or (obj.__tablename__ if obj is not None else "system")
        entity_id = item["entity_id"] if item["entity_id"] is not None else (
            _identity(obj) if obj is not None else None)
        after = item["after"] if item["after"] is not None or obj is None else obj.audit_dict()
        actor = item["actor"]
        rows.append({"actor_id": actor.id if actor else None, "actor": actor.username if actor else "system",
                     "action": item["action"], "entity": entity,
                     "entity_id": None if entity_id is None else str(entity_id),
                     "before": canonical_json(item["before"]), "after": canonical_json(after),
                     "reason": item["reason"]})
    connection = session.connection()
    seq, prev = connection.execute(_LOCK_HEAD).one()
    for row in rows:
        seq += 1
        row["seq"], row["at"], row["prev_hash"] = seq, utcnow(), prev
        row["hash"] = prev = chain_hash(prev, canonical_row(seq, row["at"], row["actor"], row["action"],
                                                            row["entity"], row["entity_id"], row["before"],
                                                            row["after"], row["reason"]))
    connection.execute(_INSERT_ENTRY, rows)
    connection.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})


_LOCK_HEAD = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
_INSERT_ENTRY = AuditEntry.__table__.insert()
_MOVE_HEAD = (AuditHead.__table__.update().where(AuditHead.__table__.c.id == 1)
              .values(seq=bindparam("new_seq"), hash=bindparam("new_hash")))


@event.listens_for(Session, "after_rollback")
def _drop_pending(session):
    session.info.pop(_PENDING, None)


def _identity(obj):
    state = db.inspect(obj)
    key = state.identity
    if key is None:
        return None
    return key[0] if len(key) == 1 else "/".join(str(k) for k in key)


# verify_chain() checks each row's hash against its canonical text, written without canonical_row(): that is
# json.dumps(..., ensure_ascii=False) of a list, which writes an int as its repr, None as null, a str as
# json.encoder.encode_basestring does (\" \\ \b \f \n \r \t, other control characters as \u00xx, the rest as it is)
# and the time as iso(): isoformat() of the UTC time with "Z", without a whole second's fraction. Building an encoder
# per row ran at 60,000 rows/s (bench/audit.py). SQLite writes the whole text itself (json_quote() escapes exactly so),
# which leaves the driver four columns a row to hand over instead of eleven. On PostgreSQL, whose to_json() escapes
# alike but was slower here than the network wait it would save, the database writes only the time and Python quotes
# the rest. tests/audit/test_audit_verify_batches.py checks hostile text on both. A row whose hash this text does not
# match is re-read through the ORM and canonical_row() before it is called broken, so the fast path never reports a
# break the chain does not have: where it and canonical_row() ever differed, it would only be slower.
_SQLITE_CANONICAL_TEXT = (  # SQLAlchemy keeps a UTC time on SQLite as 'YYYY-MM-DD HH:MM:SS.ffffff'
    "'[' || seq || ',\"' || replace(CASE WHEN substr(at, 20) = '.000000' THEN substr(at, 1, 19) ELSE at END, ' ', 'T') "
    "|| 'Z\",' || json_quote(actor) || ',' || json_quote(action) || ',' || json_quote(entity) || ',' || "
    "json_quote(entity_id) || ',' || json_quote(before) || ',' || json_quote(after) || ',' || json_quote(reason) "
    "|| ']'")
_POSTGRESQL_COLUMNS = ("to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), actor, action, entity, "
                       "entity_id, before, after, reason")


def _postgresql_canonical_text(rows, quote=json.encoder.encode_basestring):
    texts = []
    for seq, at, actor, action, entity, entity_id, before, after, reason, prev_hash, digest in rows:
        try:
            row = (f'[{seq},"{at[:-7] if at.endswith(".000000") else at}Z",{quote(actor)},{quote(action)},'
                   f'{quote(entity)},{"null" if entity_id is None else quote(entity_id)},'
                   f'{"null" if before is None else quote(before)},{"null" if after is None else quote(after)},'
                   f'{"null" if reason is None else quote(reason)}]')
        except (TypeError, AttributeError):  # a NULL where the schema allows none: the ORM re-read judges the row
            row = None
        texts.append((seq, row, prev_hash, digest))
    return texts


_COLUMNS = (AuditEntry.seq, AuditEntry.at, AuditEntry.actor, AuditEntry.action, AuditEntry.entity,
            AuditEntry.entity_id, AuditEntry.before, AuditEntry.after, AuditEntry.reason)


def verify_chain(batch=5000):
    """Recompute every row's hash in order. Returns {ok, checked, first_broken, reason}."""
    prev, expected_seq, checked = GENESIS_HASH, 1, 0
    sha256 = hashlib.sha256
    for rows in _canonical_batches(batch):
        for seq, row, prev_hash, digest in rows:
            if seq != expected_seq:
                return _broken(checked, expected_seq, f"row {expected_seq} is missing")
            if prev_hash != prev:
                return _broken(checked, seq, "its prev_hash does not match the previous row")
            try:
                intact = sha256((prev + row).encode()).hexdigest() == digest
            except TypeError:  # a column the text needs was NULL
                intact = False
            if not intact and not _typed_row_matches(seq, prev, digest):
                return _broken(checked, seq, "its content does not match its hash")
            prev, expected_seq, checked = digest, seq + 1, checked + 1
    head = db.session.get(AuditHead, 1)
    if head is not None and (head.seq != checked or head.hash != prev):
        return _broken(checked, checked + 1, "rows after it were removed (the chain head records more)")
    return {"ok": True, "checked": checked, "first_broken": None}


def _canonical_batches(batch):
    """(seq, canonical text, prev_hash, hash) of the audit rows in sequence order, batch by batch, from the driver's
    own cursor: SQLAlchemy's Row objects and type handling cost more than the hashing."""
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    columns, mark = (_POSTGRESQL_COLUMNS, "%s") if postgresql else (_SQLITE_CANONICAL_TEXT, "?")
    statement = (f"SELECT seq, {columns}, prev_hash, hash FROM audit_log WHERE seq > {mark} ORDER BY seq "
                 f"LIMIT {int(batch)}")
    cursor = db.session.connection().connection.cursor()  # the session's own connection and transaction

    def rows_after(seq):
        cursor.execute(statement, (seq,))
        return cursor.fetchall()

    try:
        if not postgresql:  # SQLite reads in this thread, holding the GIL: there is no wait to hide
            rows = rows_after(0)
            while rows:
                yield rows
                rows = rows_after(rows[-1][0])
            return
        # PostgreSQL answers over the network: the next batch is read while this one is hashed, and the wait for it
        # (a fifth of the time) is hidden. The reader only waits and fetches; the text is written here, since the
        # two threads share one GIL. A psycopg connection may be used from two threads; this cursor only ever is
        # from the reader's.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-verify") as reader:
            pending = reader.submit(rows_after, 0)
            while rows := pending.result():
                pending = reader.submit(rows_after, rows[-1][0])
                yield _postgresql_canonical_text(rows)
    finally:
        cursor.close()


def _typed_row_matches(seq, prev, digest):
    row = db.session.execute(select(*_COLUMNS).where(AuditEntry.seq == seq)).one()
    return chain_hash(prev, canonical_row(*row)) == digest


def _broken(checked, seq, reason):
    return {"ok": False, "checked": checked, "first_broken": seq, "reason": f"row {seq}: {reason}"}


def recent_rows(limit=5):
    """The newest audit rows, for the administrator's home page."""
    from lims.audit.query import AuditFilter, page
    return page(AuditFilter(), None, limit)[0]


def people():
    """Every account as (username, printed name), for the audit trail's filter by user."""
    from lims.auth.models import User
    return db.session.execute(select(User.username, User.full_name).order_by(User.full_name)).all()
