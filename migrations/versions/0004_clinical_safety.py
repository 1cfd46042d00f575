"""clinical safety loop: eligibility, adverse events, weights struck through, look-back, late QC review (SPEC §5, §6)

Revision ID: 0004
Revises: 0003
"""
# Reserved for the work of one issue, so that parallel work keeps one linear chain of revisions; empty until then.

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
