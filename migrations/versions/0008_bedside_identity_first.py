"""bedside identity first: a STOP at the scans is a near miss recorded before any witness is asked (SPEC §11)

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bedside_checks") as t:
        t.alter_column("witness_id", existing_type=sa.Integer, nullable=True)


def downgrade():
    # A check stopped at the scans had no witness, and none can be invented for it: such a database cannot go back.
    stopped = op.get_bind().execute(sa.text("SELECT count(*) FROM bedside_checks WHERE witness_id IS NULL")).scalar()
    if stopped:
        raise RuntimeError(f"{stopped} bedside check(s) stopped before a witness was asked: 0008 cannot be undone")
    with op.batch_alter_table("bedside_checks") as t:
        t.alter_column("witness_id", existing_type=sa.Integer, nullable=False)
