"""The application's extensions, created once and bound to an app by create_app()."""
import functools

from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.orm import Session

# Named constraints so that Alembic migrations are stable across SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
csrf = CSRFProtect()
api = Api()


READ_METHODS = ("GET", "HEAD", "OPTIONS")


def writes_on_read(view):
    """Marks a GET route that writes (a label station's GET of a label counts the print): its transaction takes
    SQLite's write lock at BEGIN like any POST's, so its read-then-write cannot fail on a snapshot another writer
    moved."""
    view.writes_on_read = True
    return view


def reads_only():
    """Whether the transaction about to begin is a request's read: the first transaction of a GET whose route does
    not write. Any later transaction in the same request (a refusal recorded after the rollback of what it refused,
    say) may write, and begins as a writer's; so does everything outside a request (the command line, the tests)."""
    from flask import current_app, g, has_request_context, request
    if not has_request_context() or request.method not in READ_METHODS or g.get("_read_transaction_begun"):
        return False
    g._read_transaction_begun = True
    view = current_app.view_functions.get(request.endpoint)
    return not getattr(view, "writes_on_read", False)


def locked_or_read(model, *criteria, lock=False):
    """One row of `model` matching `criteria`, or None. With lock it is held FOR UPDATE until the transaction ends
    and re-read, so whoever waited for the lock acts on the state the first writer left, not a stale copy."""
    from sqlalchemy import select
    query = select(model).where(*criteria)
    if lock:
        # of=model: the row's joined-eager relations are outer joins, whose nullable side PostgreSQL refuses to lock.
        query = query.with_for_update(of=model).execution_options(populate_existing=True)
    return db.session.scalar(query)


def insert_record(obj):
    """Writes a new write-once record (a custody event, a bedside check, a signature) with one INSERT … RETURNING
    and attaches it to the session as a persistent row. Such a record never changes after it is written, and the
    unit of work's flush (its sort, its bookkeeping, its expiry) costs more than the insert itself on the bedside
    path. Foreign keys are given as ids: rows the record refers to are flushed first."""
    from sqlalchemy.orm import make_transient_to_detached
    db.session.flush()
    attributes, statement, returned = _record_insert(type(obj))
    given = {column.key: obj.__dict__[key] for key, column in attributes if obj.__dict__.get(key) is not None}
    row = db.session.connection().execute(statement, given).one()
    for key, column in attributes:  # what was not given and has no default stays NULL, as the INSERT left it
        setattr(obj, key, given.get(column.key))
    for key, value in zip(returned, row, strict=True):
        setattr(obj, key, value)
    make_transient_to_detached(obj)
    db.session.add(obj)
    db.session.info.setdefault(_WRITTEN, []).append(obj)
    return obj


_WRITTEN = "records_written"


@event.listens_for(Session, "after_commit")
def _records_kept(session):
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_rollback")
def _records_undone(session):
    # A record written in a transaction that rolled back never existed. Attached as persistent, the session would keep
    # it, and its key, which SQLite gives out again, would clash with the next record's: out of the session with it.
    for obj in session.info.pop(_WRITTEN, ()):
        if obj in session:
            session.expunge(obj)


@functools.cache
def _record_insert(model):
    # Built once per model: the statement's construction would otherwise cost as much as its execution. It returns
    # only what the database or a column default fills in: the key and the defaulted columns.
    from sqlalchemy import inspect
    mapper = inspect(model)
    attributes = [(prop.key, prop.columns[0]) for prop in mapper.column_attrs]
    returned = [(key, column) for key, column in attributes
                if column.primary_key or column.default is not None or column.server_default is not None]
    statement = mapper.local_table.insert().returning(*(column for _key, column in returned))
    return attributes, statement, [key for key, _column in returned]
