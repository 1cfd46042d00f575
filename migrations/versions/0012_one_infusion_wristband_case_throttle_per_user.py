"""one infusion per subject and wristbands unique whatever their case, in the database; the sign-in throttle counts
per client address and username, with a wider count per address (SPEC §4, §6, §11)

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _refuse_if_any(bind, sql, what):
    clashes = bind.execute(sa.text(sql)).scalars().all()
    if clashes:
        raise RuntimeError(f"{what} must be resolved before this upgrade: " + ", ".join(str(c) for c in clashes))


def _throttle_table(*key):
    return op.create_table(
        "sign_in_throttle",
        sa.Column("client_address", sa.String(length=64), nullable=False),
        *([sa.Column("username", sa.String(length=64), nullable=False)] if "username" in key else []),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_sign_in_throttle")),
    )


def _throttle_rows(bind, all_usernames_only=False):
    # Typed columns: SQLite gives the time back as text, which a DateTime column would not take again.
    old = sa.table("sign_in_throttle", sa.column("client_address", sa.String()), sa.column("username", sa.String()),
                   sa.column("window_started_at", sa.DateTime(timezone=True)), sa.column("failures", sa.Integer()))
    query = sa.select(old.c.client_address, old.c.window_started_at, old.c.failures)
    if all_usernames_only:
        query = query.where(old.c.username == "")
    return [dict(r._mapping) for r in bind.execute(query)]


def upgrade():
    bind = op.get_bind()
    # A unique index cannot be built over rows that break it: say which, rather than fail on the index.
    _refuse_if_any(bind, "SELECT subject_id FROM infusions GROUP BY subject_id HAVING count(*) > 1",
                   "subjects (ids) with more than one infusion record")
    _refuse_if_any(bind, "SELECT lower(wristband) FROM subjects GROUP BY lower(wristband) HAVING count(*) > 1",
                   "wristbands that differ only in case")
    with op.batch_alter_table("infusions") as batch:
        batch.drop_index("ix_infusions_subject_id")
        batch.create_index("ix_infusions_subject_id", ["subject_id"], unique=True)
    op.create_index("uq_subjects_wristband_lower", "subjects", [sa.text("lower(wristband)")], unique=True)

    # The throttle's rows last one window (minutes): the counts of each address carry over as its all-usernames row.
    rows = _throttle_rows(bind)
    op.drop_table("sign_in_throttle")
    table = _throttle_table("client_address", "username")
    if rows:
        op.bulk_insert(table, [dict(r, username="") for r in rows])


def downgrade():
    bind = op.get_bind()
    rows = _throttle_rows(bind, all_usernames_only=True)
    op.drop_table("sign_in_throttle")
    table = _throttle_table("client_address")
    if rows:
        op.bulk_insert(table, rows)
    op.drop_index("uq_subjects_wristband_lower", table_name="subjects")
    with op.batch_alter_table("infusions") as batch:
        batch.drop_index("ix_infusions_subject_id")
        batch.create_index("ix_infusions_subject_id", ["subject_id"], unique=False)
