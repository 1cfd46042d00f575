"""pharmacy independent check: label before verification, measured volume, scan source (SPEC §8, §9)

Revision ID: 0005
Revises: 0004
"""
# Reserved for the work of one issue, so that parallel work keeps one linear chain of revisions; empty until then.

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
