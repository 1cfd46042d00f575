"""pages bounded by what they show: indexes for worklists, keyset paging and search (SPEC §15)

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (name, table, columns): each serves one list's order or one worklist's filter, named after what it serves.
INDEXES = (
    # /lots newest first, by status and by manufacture date; the product's QC trend in order of manufacture
    ("ix_lots_status_id", "lots", ["status", "id"]),
    ("ix_lots_manufactured_on_id", "lots", ["manufactured_on", "id"]),
    ("ix_lots_product_manufactured", "lots", ["product_id", "manufactured_on", "id"]),
    # plannable lots: released, soonest expiry first (first expiry, first out)
    ("ix_lots_status_expires", "lots", ["status", "expires_on", "id"]),
    # containers still in storage of a lot
    ("ix_containers_lot_status", "containers", ["lot_id", "status"]),
    # a study's subjects in enrolment order, and by cohort
    ("ix_subjects_study_id", "subjects", ["study_id", "id"]),
    ("ix_subjects_study_cohort", "subjects", ["study_id", "cohort_id", "id"]),
    # search by subject code (codes are unique within a study only)
    ("ix_subjects_code", "subjects", ["code"]),
    # a subject's current dose (the latest not superseded)
    ("ix_doses_subject_status", "doses", ["subject_id", "status", "id"]),
    # the ward: bags in a state at a place, soonest expiry first
    ("ix_bags_status_expires", "bags", ["status", "expires_at", "id"]),
    # near misses newest first
    ("ix_bedside_checks_ok_at", "bedside_checks", ["ok", "at", "id"]),
    # the disposition that put a lot where it is
    ("ix_lot_dispositions_lot_to", "lot_dispositions", ["lot_id", "to_status", "id"]),
    # QC results recorded lately (the technician's out-of-specification list)
    ("ix_qc_results_recorded_at", "qc_results", ["recorded_at"]),
    # where bags were received (the ward picker), and where this nurse last received one
    ("ix_custody_events_event_location", "custody_events", ["event", "location"]),
    ("ix_custody_events_actor_event_at", "custody_events", ["actor_id", "event", "at", "id"]),
)
# Prefix search ("W1234 26 0001…"): PostgreSQL's LIKE 'x%' uses a btree only with the pattern operator class unless
# the database's collation is C. On SQLite (GLOB) the column's own index would serve, and this one is a plain copy:
# one schema on both databases, as the models describe it.
PATTERN_INDEXES = (
    ("ix_lots_din_pattern", "lots", "din"),
    ("ix_bags_code_pattern", "bags", "code"),
    ("ix_subjects_code_pattern", "subjects", "code"),
    ("ix_subjects_wristband_pattern", "subjects", "wristband"),
)


def upgrade():
    # When a subject's dose was infused (a subject receives one dose): the pharmacy's "to plan" worklist reads only
    # subjects not yet infused, so it stays the size of the live work however many subjects were ever treated.
    with op.batch_alter_table("subjects") as batch:
        batch.add_column(sa.Column("infused_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE subjects SET infused_at = (SELECT max(i.completed_at) FROM infusions i "
               "WHERE i.subject_id = subjects.id)")
    # Each cohort's enrolled and infused subjects, kept with the enrolment (the cohort row is locked there) and the
    # infusion: a study's escalation is drawn on every study page and home page, and counting a large study's
    # subjects each time costs what the study's history costs.
    with op.batch_alter_table("cohorts") as batch:
        batch.add_column(sa.Column("enrolled_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("infused_count", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE cohorts SET enrolled_count = (SELECT count(*) FROM subjects s WHERE s.cohort_id = cohorts.id), "
               "infused_count = (SELECT count(*) FROM subjects s WHERE s.cohort_id = cohorts.id "
               "AND s.infused_at IS NOT NULL)")
    op.create_index("ix_subjects_awaiting_infusion", "subjects", ["id"],
                    postgresql_where=sa.text("infused_at IS NULL"), sqlite_where=sa.text("infused_at IS NULL"))
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    for name, table, column in PATTERN_INDEXES:
        op.create_index(name, table, [column], postgresql_ops={column: "varchar_pattern_ops"})


def downgrade():
    for name, table, _column in PATTERN_INDEXES:
        op.drop_index(name, table_name=table)
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_subjects_awaiting_infusion", table_name="subjects")
    with op.batch_alter_table("cohorts") as batch:
        batch.drop_column("infused_count")
        batch.drop_column("enrolled_count")
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("infused_at")
