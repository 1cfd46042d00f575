"""pharmacy independent check: label before verification, measured volume, scan source (SPEC §8, §9)

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ENTRY = "{} IS NULL OR {} IN ('scanned', 'typed')"


def upgrade():
    # Every verification attempt by a second pharmacist, passed or refused: a wrong label on a bag or a measured
    # volume off the plan is a near miss the pharmacy learns from, so the refusal is kept (SPEC §8).
    op.create_table(
        "dose_verifications",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("dose_id", sa.Integer, sa.ForeignKey("doses.id", name=op.f("fk_dose_verifications_dose_id_doses")),
                  nullable=False),
        sa.Column("bag_id", sa.Integer, sa.ForeignKey("bags.id", name=op.f("fk_dose_verifications_bag_id_bags")),
                  nullable=False),
        sa.Column("verifier_id", sa.Integer,
                  sa.ForeignKey("users.id", name=op.f("fk_dose_verifications_verifier_id_users")), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bag_scan", sa.String(128), nullable=False),
        sa.Column("bag_entry", sa.String(8), nullable=True),
        sa.Column("scanned_bag_code", sa.String(40), nullable=True),
        sa.Column("measured_volume_ml", sa.Float, nullable=False),
        sa.Column("planned_volume_ml", sa.Float, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("failures", sa.Text, nullable=True),
        sa.CheckConstraint(ENTRY.format("bag_entry", "bag_entry"), name=op.f("ck_dose_verifications_bag_entry")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dose_verifications")),
    )
    op.create_index(op.f("ix_dose_verifications_dose_id"), "dose_verifications", ["dose_id"])
    with op.batch_alter_table("label_prints") as t:
        # A later print voids the earlier label: the record says which print replaced it, and when.
        t.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
        t.add_column(sa.Column("voided_by_print_id", sa.Integer, nullable=True))
        t.create_foreign_key(op.f("fk_label_prints_voided_by_print_id_label_prints"), "label_prints",
                             ["voided_by_print_id"], ["id"])
    # Whether a person scanned the code (keyboard-wedge scanner) or typed it instead.
    with op.batch_alter_table("custody_events") as t:
        t.add_column(sa.Column("scan_entry", sa.String(8), nullable=True))
        t.create_check_constraint(op.f("ck_custody_events_scan_entry"), ENTRY.format("scan_entry", "scan_entry"))
    with op.batch_alter_table("bedside_checks") as t:
        t.add_column(sa.Column("bag_entry", sa.String(8), nullable=True))
        t.add_column(sa.Column("wristband_entry", sa.String(8), nullable=True))
        t.create_check_constraint(op.f("ck_bedside_checks_bag_entry"), ENTRY.format("bag_entry", "bag_entry"))
        t.create_check_constraint(op.f("ck_bedside_checks_wristband_entry"),
                                  ENTRY.format("wristband_entry", "wristband_entry"))


def downgrade():
    with op.batch_alter_table("bedside_checks") as t:
        t.drop_constraint(op.f("ck_bedside_checks_wristband_entry"), type_="check")
        t.drop_constraint(op.f("ck_bedside_checks_bag_entry"), type_="check")
        t.drop_column("wristband_entry")
        t.drop_column("bag_entry")
    with op.batch_alter_table("custody_events") as t:
        t.drop_constraint(op.f("ck_custody_events_scan_entry"), type_="check")
        t.drop_column("scan_entry")
    with op.batch_alter_table("label_prints") as t:
        t.drop_constraint(op.f("fk_label_prints_voided_by_print_id_label_prints"), type_="foreignkey")
        t.drop_column("voided_by_print_id")
        t.drop_column("voided_at")
    op.drop_index(op.f("ix_dose_verifications_dose_id"), table_name="dose_verifications")
    op.drop_table("dose_verifications")
