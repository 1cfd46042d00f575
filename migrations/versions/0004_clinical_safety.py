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
    # The follow-up schedule, days after infusion (JSON list); studies made before keep the reference schedule.
    op.add_column("studies", sa.Column("follow_up_days", sa.Text(), nullable=False,
                                       server_default="[1, 7, 30, 90, 180, 365]"))
    # Entry criteria as versioned study data, and what each subject was enrolled on.
    op.create_table(
        "eligibility_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["studies.id"], name=op.f("fk_eligibility_versions_study_id_studies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_versions")),
        sa.UniqueConstraint("study_id", "version", name=op.f("version_in_study")),
    )
    op.create_table(
        "eligibility_criteria",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("question", sa.String(length=200), nullable=True),
        sa.Column("integer", sa.Boolean(), nullable=False),
        sa.Column("lowest", sa.Float(), nullable=True),
        sa.Column("highest", sa.Float(), nullable=True),
        sa.CheckConstraint("kind IN ('yes', 'min', 'max', 'months_before')", name=op.f("ck_eligibility_criteria_kind")),
        sa.ForeignKeyConstraint(["version_id"], ["eligibility_versions.id"],
                                name=op.f("fk_eligibility_criteria_version_id_eligibility_versions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_criteria")),
        sa.UniqueConstraint("version_id", "name", name=op.f("name_in_version")),
    )
    op.create_table(
        "subject_enrolments",
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("eligibility_version_id", sa.Integer(), nullable=True),
        sa.Column("consent_signed_on", sa.Date(), nullable=True),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["eligibility_version_id"], ["eligibility_versions.id"],
                                name=op.f("fk_subject_enrolments_eligibility_version_id_eligibility_versions")),
        sa.ForeignKeyConstraint(["signature_id"], ["signatures.id"],
                                name=op.f("fk_subject_enrolments_signature_id_signatures")),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_subject_enrolments_subject_id_subjects")),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_subject_enrolments")),
    )
    op.create_table(
        "eligibility_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["criterion_id"], ["eligibility_criteria.id"],
                                name=op.f("fk_eligibility_answers_criterion_id_eligibility_criteria")),
        sa.ForeignKeyConstraint(["subject_id"], ["subject_enrolments.subject_id"],
                                name=op.f("fk_eligibility_answers_subject_id_subject_enrolments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_answers")),
        sa.UniqueConstraint("subject_id", "criterion_id", name=op.f("one_per_criterion")),
    )
    # The follow-up schedule's visits, written with each infusion (subjects infused before this revision have none).
    op.create_table(
        "follow_up_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("day > 0", name=op.f("ck_follow_up_visits_day")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_follow_up_visits_recorded_by_id_users")),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_follow_up_visits_subject_id_subjects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_visits")),
        sa.UniqueConstraint("subject_id", "day", name=op.f("day_of_subject")),
    )
    op.create_index("ix_follow_up_visits_waiting", "follow_up_visits", ["closes_on", "id"],
                    postgresql_where=sa.text("done_on IS NULL"), sqlite_where=sa.text("done_on IS NULL"))
    op.create_index("ix_follow_up_visits_done_on", "follow_up_visits", ["done_on"])


def downgrade():
    op.drop_index("ix_follow_up_visits_done_on", table_name="follow_up_visits")
    op.drop_index("ix_follow_up_visits_waiting", table_name="follow_up_visits")
    op.drop_table("follow_up_visits")
    for table in ("eligibility_answers", "subject_enrolments", "eligibility_criteria", "eligibility_versions"):
        op.drop_table(table)
    # ALTER TABLE … DROP COLUMN directly (SQLite 3.35+): batch mode would drop and recreate `studies`, which the
    # cohorts' foreign keys refuse.
    op.execute("ALTER TABLE studies DROP COLUMN follow_up_days")
    op.drop_table("subject_weight_strikes")
