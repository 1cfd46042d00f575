"""accounts and sessions: case-insensitive usernames, session generation, deactivation (SPEC §4)

Revision ID: 0003
Revises: 0002
"""
# Reserved for the work of one issue, so that parallel work keeps one linear chain of revisions; empty until then.

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
