"""clinical safety loop: weights struck through, eligibility criteria and answers, follow-up visits (SPEC §6)

Revision ID: 0004
Revises: 0003
"""
# Reserved for the work of one issue, so that parallel work keeps one linear chain of revisions. Only new tables and
# one plain column: later revisions recreate some of these tables on SQLite (batch mode), and a new table changes
# nothing they copy.
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    # A weight entered in error, struck through with its reason; the weight row itself is never changed.
    op.create_table(
        "subject_weight_strikes",
        sa.Column("weight_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("struck_by_id", sa.Integer(), nullable=False),
        sa.Column("struck_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["struck_by_id"], ["users.id"], name=op.f("fk_subject_weight_strikes_struck_by_id_users")),
        sa.ForeignKeyConstraint(["weight_id"], ["subject_weights.id"],
                                name=op.f("fk_subject_weight_strikes_weight_id_subject_weights")),
        sa.PrimaryKeyConstraint("weight_id", name=op.f("pk_subject_weight_strikes")),
    )


def downgrade():
    op.drop_table("subject_weight_strikes")
