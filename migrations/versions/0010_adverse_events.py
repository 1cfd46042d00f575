"""adverse events: recorded, superseded with a reason, linked to bag, lot and donor (SPEC §6)

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

T = "adverse_events"


def _fk(column, table):
    return sa.ForeignKey(f"{table}.id", name=op.f(f"fk_{T}_{column}_{table}"))


def upgrade():
    op.create_table(
        T,
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("subject_id", sa.Integer, _fk("subject_id", "subjects"), nullable=False),
        sa.Column("bag_id", sa.Integer, _fk("bag_id", "bags"), nullable=True),
        sa.Column("lot_id", sa.Integer, _fk("lot_id", "lots"), nullable=True),
        sa.Column("donor_id", sa.Integer, _fk("donor_id", "donors"), nullable=True),
        sa.Column("term", sa.String(200), nullable=False),
        sa.Column("onset_on", sa.Date, nullable=False),
        sa.Column("grade", sa.Integer, nullable=False),
        sa.Column("serious", sa.Boolean, nullable=False),
        sa.Column("relatedness", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("from_infusion", sa.Boolean, nullable=False),
        sa.Column("recorded_by_id", sa.Integer, _fk("recorded_by_id", "users"), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supersedes_id", sa.Integer, _fk("supersedes_id", T), nullable=True),
        sa.Column("superseded_by_id", sa.Integer, _fk("superseded_by_id", T), nullable=True),
        sa.Column("supersede_reason", sa.Text, nullable=True),
        sa.CheckConstraint("grade >= 1 AND grade <= 5", name=op.f(f"ck_{T}_grade")),
        sa.CheckConstraint("relatedness IN ('unrelated', 'unlikely', 'possible', 'probable', 'definite')",
                           name=op.f(f"ck_{T}_relatedness")),
        sa.CheckConstraint("outcome IN ('recovered', 'recovering', 'not_recovered', 'recovered_with_sequelae', "
                           "'fatal', 'unknown')", name=op.f(f"ck_{T}_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{T}")),
    )
    op.create_index("ix_adverse_events_subject", T, ["subject_id", "id"])
    op.create_index("ix_adverse_events_lot", T, ["lot_id", "id"])
    op.create_index("ix_adverse_events_serious_current", T, ["id"],
                    postgresql_where=sa.text("serious AND superseded_by_id IS NULL"),
                    sqlite_where=sa.text("serious AND superseded_by_id IS NULL"))


def downgrade():
    op.drop_table(T)
