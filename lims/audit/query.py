"""Reading the audit trail: the filters of SPEC §17, one record's whole history, and keyset pages on the sequence.

A filter on a record (`entity` + `entity_id`) of a kind people open as a page — a lot, a subject, a bag, a dose —
means that record's whole history: its own rows and those of the records that belong to it (a lot's QC results,
dispositions and containers; a subject's weights, doses, bags and bedside checks; a bag's custody moves and label
prints), and the signatures on any of them. The parts are found through the domain tables' own foreign keys, so a
table another domain adds later (adverse events with a `subject_id`, say) joins its record's history by itself.
Any other entity filters on exactly its rows. Rows are read as plain tuples, never ORM objects, so an export of a
million rows holds one batch at a time.
"""
import dataclasses
import datetime as dt

from sqlalchemy import and_, false, or_, select, union_all
from sqlalchemy import String as SqlString
from sqlalchemy.sql import cast, literal

from lims.audit.models import AuditEntry
from lims.errors import NotFound, invalid
from lims.extensions import db

# Record kinds with a page (or a row on one) of their own: the name a filter may use for each, and the column by
# which other tables point at it.
RECORD_KINDS = {"lot": "lots", "lots": "lots", "subject": "subjects", "subjects": "subjects",
                "bag": "bags", "bags": "bags", "dose": "doses", "doses": "doses",
                "container": "containers", "containers": "containers",
                "adverse_event": "adverse_events", "adverse_events": "adverse_events"}
_FOREIGN_KEY = {"lots": "lot_id", "subjects": "subject_id", "bags": "bag_id", "doses": "dose_id",
                "containers": "container_id"}
# Beyond the tables pointing at the record itself, the parts of its parts that belong in its history.
_GRANDCHILDREN = {"lots": ("containers",), "subjects": ("bags",), "doses": ("containers_of_dose",)}
_NOT_RECORDS = {"audit_log", "audit_head", "signatures"}

COLUMNS = (AuditEntry.seq, AuditEntry.at, AuditEntry.actor_id, AuditEntry.actor, AuditEntry.action,
           AuditEntry.entity, AuditEntry.entity_id, AuditEntry.before, AuditEntry.after, AuditEntry.reason,
           AuditEntry.prev_hash, AuditEntry.hash)


@dataclasses.dataclass(frozen=True)
class AuditFilter:
    entity: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: dt.datetime | None = None   # inclusive, UTC
    until: dt.datetime | None = None   # exclusive, UTC

    def described(self, record_name=None):
        """The filters in words, for the head of an export: what a reader needs to know the copy is complete."""
        parts = []
        if self.entity:
            if self.entity_id:
                parts.append(f"record {record_name or self.entity} ({self.entity} id {self.entity_id})")
                if self.entity in RECORD_KINDS:
                    parts[-1] += " and everything that belongs to it (its whole history)"
            else:
                parts.append(f"every record of kind {self.entity}")
        if self.actor:
            parts.append(f"user {self.actor}")
        if self.action:
            parts.append(f"action {self.action}")
        if self.since:
            parts.append(f"from {self.since.isoformat().replace('+00:00', 'Z')}")
        if self.until:
            parts.append(f"before {self.until.isoformat().replace('+00:00', 'Z')}")
        return "; ".join(parts) if parts else "none (every row of the trail)"

    def as_args(self):
        """The filters as query-string arguments, as the API and the pages take them."""
        args = {"entity": self.entity, "entity_id": self.entity_id, "actor": self.actor, "action": self.action,
                "since": self.since.isoformat().replace("+00:00", "Z") if self.since else None,
                "until": self.until.isoformat().replace("+00:00", "Z") if self.until else None}
        return {k: v for k, v in args.items() if v}


def action_condition(action):
    """`lot.released` matches itself; `security.*` (or `security.`) every action of that group."""
    if action.endswith((".*", ".")):
        prefix = action.rstrip("*")
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return AuditEntry.action.like(escaped + "%", escape="\\")
    return AuditEntry.action == action


def conditions(audit_filter):
    """The WHERE clauses of a filter. A record with no rows gives a clause that matches nothing, not an error."""
    f = audit_filter
    where = []
    if f.entity:
        table = RECORD_KINDS.get(f.entity, f.entity)
        if f.entity_id and table in _FOREIGN_KEY:
            where.append(_history_clause(record_parts(table, f.entity_id)))
        elif f.entity_id and table == "adverse_events":
            where.append(_history_clause(_event_versions(f.entity_id)))
        else:
            where.append(AuditEntry.entity == table)
            if f.entity_id:
                where.append(AuditEntry.entity_id == str(f.entity_id))
    if f.actor:
        where.append(AuditEntry.actor == f.actor)
    if f.action:
        where.append(action_condition(f.action))
    if f.since:
        where.append(AuditEntry.at >= f.since)
    if f.until:
        where.append(AuditEntry.at < f.until)
    return where


def _history_clause(parts):
    clauses = [and_(AuditEntry.entity == entity, AuditEntry.entity_id.in_(sorted(ids)))
               for entity, ids in sorted(parts.items()) if ids]
    return or_(*clauses) if clauses else false()


def _tables_pointing_at(column_name):
    for table in db.metadata.sorted_tables:
        if table.name in _NOT_RECORDS or column_name not in table.c or "id" not in table.c:
            continue
        yield table


def record_parts(table_name, record_id):
    """{entity: {entity_id, …}} of one record and everything that belongs to it, in one round trip for the parts
    and one for the signatures on them."""
    try:
        record_id = int(record_id)
    except (TypeError, ValueError):
        raise invalid("entity_id", "a record's id is a whole number") from None
    selects = []
    own = db.metadata.tables[table_name]
    selects.append(select(literal(table_name).label("entity"), cast(own.c.id, SqlString).label("id"))
                   .where(own.c.id == record_id))
    for table in _tables_pointing_at(_FOREIGN_KEY[table_name]):
        selects.append(select(literal(table.name).label("entity"), cast(table.c.id, SqlString).label("id"))
                       .where(table.c[_FOREIGN_KEY[table_name]] == record_id))
    for middle in _GRANDCHILDREN.get(table_name, ()):
        if middle == "containers_of_dose":  # a dose's containers are reached through its allocations
            link = db.metadata.tables["dose_containers"]
            selects.append(select(literal("containers").label("entity"), cast(link.c.container_id, SqlString)
                                  .label("id")).where(link.c.dose_id == record_id))
            continue
        parent = db.metadata.tables[middle]
        owned = select(parent.c.id).where(parent.c[_FOREIGN_KEY[table_name]] == record_id)
        for table in _tables_pointing_at(_FOREIGN_KEY[middle]):
            if table.name == table_name:
                continue
            selects.append(select(literal(table.name).label("entity"), cast(table.c.id, SqlString).label("id"))
                           .where(table.c[_FOREIGN_KEY[middle]].in_(owned)))
    parts = {}
    for entity, entity_id in db.session.execute(union_all(*selects)):
        parts.setdefault(entity, set()).add(entity_id)
    if table_name not in parts:
        raise NotFound(f"no {table_name[:-1]} with id {record_id}")
    signatures = db.metadata.tables["signatures"]
    on_parts = [and_(signatures.c.record_type == entity, signatures.c.record_id.in_(sorted(ids)))
                for entity, ids in parts.items()]
    ids = db.session.scalars(select(signatures.c.id).where(or_(*on_parts))).all()
    if ids:
        parts["signatures"] = {str(i) for i in ids}
    return parts


def _event_versions(record_id):
    """An adverse event's whole history is every version of it: the one it corrected and the one correcting it."""
    from lims.safety.services import versions_of
    try:
        record_id = int(record_id)
    except (TypeError, ValueError):
        raise invalid("entity_id", "a record's id is a whole number") from None
    return {"adverse_events": {str(i) for i in versions_of(record_id)}}


def page(audit_filter, cursor=None, limit=50):
    """One page, newest first: (rows, next_cursor). The cursor is the last sequence number shown; the next page
    starts below it, so rows written meanwhile never shift a page."""
    query = select(*COLUMNS).where(*conditions(audit_filter))
    if cursor is not None:
        query = query.where(AuditEntry.seq < cursor)
    rows = db.session.execute(query.order_by(AuditEntry.seq.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].seq if more and rows else None)


def batches(audit_filter, upto_seq, size=1000):
    """Every matching row up to `upto_seq` in sequence order (oldest first, as a record is read), batch by batch."""
    where = conditions(audit_filter)
    last = 0
    while True:
        rows = db.session.execute(select(*COLUMNS).where(*where, AuditEntry.seq > last, AuditEntry.seq <= upto_seq)
                                  .order_by(AuditEntry.seq).limit(size)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].seq
        if len(rows) < size:
            return


def count(audit_filter, upto_seq):
    from sqlalchemy import func
    return db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(*conditions(audit_filter), AuditEntry.seq <= upto_seq))


def find_record(text):
    """What a person types to find a record — a lot number (with or without spaces and check character), a bag or
    container code, a subject code — as (entity, id). 404 when nothing has that name; 422 when several do."""
    from lims.doses.models import Bag
    from lims.lots import isbt
    from lims.lots.models import Container, Lot
    from lims.studies.models import Subject
    typed = (text or "").strip()
    if not typed:
        raise invalid("record", "type a lot number, a bag code or a subject code")
    compact = typed.replace(" ", "").upper()
    din = compact[:13] if len(compact) in (13, 14) else None
    if din and isbt.DIN_PATTERN.match(din):
        lot_id = db.session.scalar(select(Lot.id).where(Lot.din == din))
        if lot_id is not None and (len(compact) == 13 or isbt.check_character(din) == compact[13]):
            return "lots", lot_id
    bag_id = db.session.scalar(select(Bag.id).where(Bag.code == typed))
    if bag_id is not None:
        return "bags", bag_id
    subjects = db.session.scalars(select(Subject.id).where(Subject.code == typed).limit(2)).all()
    if len(subjects) > 1:
        raise invalid("record", f"subject {typed} is in more than one study: open it from its subject page")
    if subjects:
        return "subjects", subjects[0]
    container = db.session.scalar(select(Container.id).where(Container.code == typed))
    if container is not None:
        return "containers", container
    raise NotFound(f"no lot, bag, container or subject is named {typed!r}")
