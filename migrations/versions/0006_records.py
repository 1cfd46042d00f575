"""records for inspection: audit trail indexes for its filters and keyset pages (SPEC §17)

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Each filter of the audit trail pages by sequence (keyset, newest first): an index ending in seq lets the database
# read exactly one page, however long the trail. The time filter is a range over `at`, which grows with seq.
INDEXES = (
    ("ix_audit_log_entity_record", ["entity", "entity_id", "seq"]),
    ("ix_audit_log_actor_seq", ["actor", "seq"]),
    ("ix_audit_log_action_seq", ["action", "seq"]),
    ("ix_audit_log_at", ["at"]),
)


def upgrade():
    for name, columns in INDEXES:
        op.create_index(name, "audit_log", columns)


def downgrade():
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name="audit_log")
