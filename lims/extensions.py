"""The application's extensions, created once and bound to an app by create_app()."""
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

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


def locked_or_read(model, *criteria, lock=False):
    """One row of `model` matching `criteria`, or None. With lock it is held FOR UPDATE until the transaction ends
    and re-read, so whoever waited for the lock acts on the state the first writer left, not a stale copy."""
    from sqlalchemy import select
    query = select(model).where(*criteria)
    if lock:
        # of=model: the row's joined-eager relations are outer joins, whose nullable side PostgreSQL refuses to lock.
        query = query.with_for_update(of=model).execution_options(populate_existing=True)
    return db.session.scalar(query)
