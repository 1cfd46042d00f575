"""look-back and holds that reach people: late QC results flagged for QA's review, subjects notified of a recall or
look-back, the reason a bag was discarded (SPEC §5, §10)

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "late_qc_reviews",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("lot_id", sa.Integer,
                  sa.ForeignKey("lots.id", name=op.f("fk_late_qc_reviews_lot_id_lots")), nullable=False),
        sa.Column("qc_result_id", sa.Integer,
                  sa.ForeignKey("qc_results.id", name=op.f("fk_late_qc_reviews_qc_result_id_qc_results")), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer,
                  sa.ForeignKey("users.id", name=op.f("fk_late_qc_reviews_reviewed_by_id_users")), nullable=True),
        sa.Column("signature_id", sa.Integer,
                  sa.ForeignKey("signatures.id", name=op.f("fk_late_qc_reviews_signature_id_signatures")), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_late_qc_reviews")),
        sa.UniqueConstraint("qc_result_id", name=op.f("uq_late_qc_reviews_qc_result_id")),
    )
    op.create_index("ix_late_qc_reviews_lot_id", "late_qc_reviews", ["lot_id"])
    op.create_index("ix_late_qc_reviews_open", "late_qc_reviews", ["reviewed_at", "id"])
    op.create_table(
        "subject_notifications",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("lot_id", sa.Integer,
                  sa.ForeignKey("lots.id", name=op.f("fk_subject_notifications_lot_id_lots")), nullable=False),
        sa.Column("subject_id", sa.Integer,
                  sa.ForeignKey("subjects.id", name=op.f("fk_subject_notifications_subject_id_subjects")), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("recorded_by_id", sa.Integer,
                  sa.ForeignKey("users.id", name=op.f("fk_subject_notifications_recorded_by_id_users")), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("method IN ('phone', 'letter', 'in_person', 'other')",
                           name=op.f("ck_subject_notifications_method")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_notifications")),
    )
    op.create_index("ix_subject_notifications_subject_id", "subject_notifications", ["subject_id"])
    op.create_index("ix_subject_notifications_lot_subject", "subject_notifications", ["lot_id", "subject_id", "id"])
    with op.batch_alter_table("custody_events") as t:
        t.add_column(sa.Column("reason", sa.Text, nullable=True))


def downgrade():
    with op.batch_alter_table("custody_events") as t:
        t.drop_column("reason")
    op.drop_table("subject_notifications")
    op.drop_table("late_qc_reviews")
