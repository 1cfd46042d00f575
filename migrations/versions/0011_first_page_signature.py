"""page sessions record their first signature: until then a page signature asks for the username too (SPEC §4)

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    # Sessions open at upgrade time have no first signature on record: their next signature asks for the username.
    with op.batch_alter_table("user_sessions") as batch:
        batch.add_column(sa.Column("first_signed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("user_sessions") as batch:
        batch.drop_column("first_signed_at")
