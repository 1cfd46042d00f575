"""pages bounded by what they show: indexes for worklists, keyset paging and search (SPEC §15)

Revision ID: 0007
Revises: 0006
"""
# Reserved for the work of one issue, so that parallel work keeps one linear chain of revisions; empty until then.

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
