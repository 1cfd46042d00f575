"""records for inspection: audit trail queries, reports (SPEC §17)

Revision ID: 0006
Revises: 0005
"""
# Reserved for the work of one issue, so that parallel work keeps one linear chain of revisions; empty until then.

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
