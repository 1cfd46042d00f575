"""Studies, ordered dose cohorts, safety reviews, subjects and their dated weights (SPEC §6)."""
import json

from sqlalchemy import (Boolean, CheckConstraint, Date, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, func, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims import units
from lims.extensions import db
from lims.models_base import UTCDateTime
from lims.timeutil import utcnow

ESCALATION = ("sequential", "none")
CRITERION_KINDS = ("yes", "min", "max", "months_before")
# The reference trial's visits after infusion, to its one-year safety end point (SPEC §6).
DEFAULT_FOLLOW_UP_DAYS = (1, 7, 30, 90, 180, 365)


class Study(db.Model):
    __tablename__ = "studies"
    __table_args__ = (CheckConstraint("escalation IN ('sequential', 'none')", name="escalation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(256), nullable=False)
    escalation: Mapped[str] = mapped_column(String(16), nullable=False)
    weight_cap_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # Days after infusion at which a follow-up visit is due, as a JSON list of integers (study data, SPEC §6).
    follow_up_days_json: Mapped[str] = mapped_column("follow_up_days", Text, nullable=False,
                                                     default=lambda: json.dumps(list(DEFAULT_FOLLOW_UP_DAYS)),
                                                     server_default="[1, 7, 30, 90, 180, 365]")

    cohorts = relationship("Cohort", order_by="Cohort.position", back_populates="study", lazy="selectin")
    # Every version of the entry criteria, oldest first; read with the study where a page or the API shows them.
    eligibility_versions = relationship("EligibilityVersion", order_by="EligibilityVersion.version",
                                        back_populates="study")

    @property
    def weight_cap(self):
        return units.of(self.weight_cap_kg, "mass")

    @property
    def follow_up_days(self):
        return json.loads(self.follow_up_days_json)

    @property
    def eligibility(self):
        """The criteria version in force (the latest), or None for a study without entry criteria."""
        return self.eligibility_versions[-1] if self.eligibility_versions else None

    def audit_dict(self):
        return {"code": self.code, "title": self.title, "escalation": self.escalation,
                "weight_cap_kg": self.weight_cap_kg, "follow_up_days": self.follow_up_days,
                "cohorts": [{"name": c.name, "dose_cells_per_kg": c.dose_cells_per_kg, "size": c.size}
                            for c in self.cohorts]}


class Cohort(db.Model):
    __tablename__ = "cohorts"
    __table_args__ = (
        UniqueConstraint("study_id", "name", name="name_in_study"),
        UniqueConstraint("study_id", "position", name="position_in_study"),
        CheckConstraint("size > 0", name="size"),
        CheckConstraint("dose_cells_per_kg > 0", name="dose"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    dose_cells_per_kg: Mapped[float] = mapped_column(Float, nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    # Kept by enrol_subject (under the cohort's row lock) and record_infusion (an atomic increment), so that drawing
    # the escalation reads the cohort rows, not every subject a large study ever enrolled (SPEC §15).
    enrolled_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    infused_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    study = relationship("Study", back_populates="cohorts")
    # Read when a study's cohorts are shown (four rows), not on every scan that loads a subject's cohort.
    review = relationship("SafetyReview", uselist=False, back_populates="cohort")

    @property
    def dose(self):
        return units.of(self.dose_cells_per_kg, "dose")

    def audit_dict(self):
        return {"study_id": self.study_id, "name": self.name, "dose_cells_per_kg": self.dose_cells_per_kg,
                "size": self.size}


class SafetyReview(db.Model):
    """The signed safety review that clears a cohort, and so opens the next one in sequential escalation."""
    __tablename__ = "safety_reviews"
    __table_args__ = (CheckConstraint("decision IN ('proceed', 'stop')", name="decision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), nullable=False, unique=True)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    reviewed_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signatures.id"), nullable=True)

    cohort = relationship("Cohort", back_populates="review")
    signature = relationship("Signature", lazy="joined")

    def audit_dict(self):
        return {"cohort_id": self.cohort_id, "decision": self.decision, "notes": self.notes}


class EligibilityVersion(db.Model):
    """One version of a study's entry criteria, versioned data like a release specification: a change of criteria is
    a new version, and each enrolment keeps the version it was judged by."""
    __tablename__ = "eligibility_versions"
    __table_args__ = (UniqueConstraint("study_id", "version", name="version_in_study"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    study = relationship("Study", back_populates="eligibility_versions")
    criteria = relationship("EligibilityCriterion", order_by="EligibilityCriterion.position", lazy="selectin",
                            back_populates="version_row")

    def audit_dict(self):
        return {"study_id": self.study_id, "version": self.version,
                "criteria": [c.audit_dict() for c in self.criteria]}


class EligibilityCriterion(db.Model):
    __tablename__ = "eligibility_criteria"
    __table_args__ = (
        UniqueConstraint("version_id", "name", name="name_in_version"),
        CheckConstraint("kind IN ('yes', 'min', 'max', 'months_before')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("eligibility_versions.id"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    value_json: Mapped[str] = mapped_column("value", Text, nullable=False)  # true, 6, 6 (months): JSON
    question: Mapped[str | None] = mapped_column(String(200), nullable=True)  # asked in words on the form
    # What a valid answer is, apart from meeting the criterion: NIHSS is an integer 0–42 (beyond it, a typing slip).
    integer: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    lowest: Mapped[float | None] = mapped_column(Float, nullable=True)
    highest: Mapped[float | None] = mapped_column(Float, nullable=True)

    version_row = relationship("EligibilityVersion", back_populates="criteria")

    @property
    def value(self):
        return json.loads(self.value_json)

    def audit_dict(self):
        return {"name": self.name, "kind": self.kind, "value": self.value, "question": self.question,
                "integer": self.integer, "lowest": self.lowest, "highest": self.highest}


class Subject(db.Model):
    __tablename__ = "subjects"
    # A wristband is unique without regard to case, as usernames are: MRN-0001 and mrn-0001 are one wristband to a
    # person reading it (migration 0012). The text is kept as typed.
    __table_args__ = (UniqueConstraint("study_id", "code", name="code_in_study"),
                      Index("uq_subjects_wristband_lower", func.lower("wristband"), unique=True))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), nullable=False)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    wristband: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    enrolled_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    enrolled_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    # When the subject's dose was infused (set with the infusion record): a subject receives one dose, so the
    # pharmacy's "to plan" list reads only subjects without it (a partial index), however many were ever treated.
    infused_at = mapped_column(UTCDateTime, nullable=True)

    # Loaded when asked for: a subject is read on every scan, and the study would bring its cohorts and reviews.
    study = relationship("Study")
    cohort = relationship("Cohort", lazy="joined")
    weights = relationship("SubjectWeight", order_by="(SubjectWeight.weighed_on, SubjectWeight.id)",
                           back_populates="subject")
    enrolment = relationship("SubjectEnrolment", uselist=False, back_populates="subject")
    follow_up_visits = relationship("FollowUpVisit", order_by="FollowUpVisit.day", back_populates="subject")

    @property
    def current_weights(self):
        """The weights that count (not struck), in weighing order."""
        return [w for w in self.weights if w.strike is None]

    @property
    def latest_current_weight(self):
        current = self.current_weights
        return current[-1] if current else None

    def audit_dict(self):
        return {"study_id": self.study_id, "cohort_id": self.cohort_id, "code": self.code,
                "wristband": self.wristband}


class SubjectWeight(db.Model):
    __tablename__ = "subject_weights"
    __table_args__ = (CheckConstraint("weight_kg >= 20 AND weight_kg <= 300", name="plausible"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), nullable=False, index=True)
    weight_kg: Mapped[float] = mapped_column(Float, nullable=False)
    entered: Mapped[str] = mapped_column(String(64), nullable=False)  # as typed ("160 lb"), for the record
    weighed_on = mapped_column(Date, nullable=False)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    recorded_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    subject = relationship("Subject", back_populates="weights")
    # Read with the weights (one statement for a page of them): a struck weight is shown struck, never hidden.
    strike = relationship("WeightStrike", uselist=False, lazy="selectin", back_populates="weight_row")

    @property
    def weight(self):
        return units.of(self.weight_kg, "mass")

    @property
    def struck(self):
        return self.strike is not None

    def audit_dict(self):
        return {"subject_id": self.subject_id, "weight_kg": self.weight_kg, "entered": self.entered,
                "weighed_on": self.weighed_on}


class SubjectEnrolment(db.Model):
    """What a subject was enrolled on: the informed consent date, the entry criteria version and the answers, signed
    by the enrolling investigator (meaning `enrolled`) over all of them (SPEC §6)."""
    __tablename__ = "subject_enrolments"

    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    eligibility_version_id: Mapped[int | None] = mapped_column(ForeignKey("eligibility_versions.id"), nullable=True)
    consent_signed_on = mapped_column(Date, nullable=True)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signatures.id"), nullable=True)

    subject = relationship("Subject", back_populates="enrolment")
    eligibility_version = relationship("EligibilityVersion")
    answers = relationship("EligibilityAnswer", order_by="EligibilityAnswer.id", lazy="selectin",
                           back_populates="enrolment")
    signature = relationship("Signature", lazy="joined")

    def audit_dict(self):
        return {"subject_id": self.subject_id, "eligibility_version_id": self.eligibility_version_id,
                "consent_signed_on": self.consent_signed_on,
                "answers": [a.audit_dict() for a in self.answers]}


class EligibilityAnswer(db.Model):
    """One criterion's answer at enrolment, as given, and whether it met the criterion."""
    __tablename__ = "eligibility_answers"
    __table_args__ = (UniqueConstraint("subject_id", "criterion_id", name="one_per_criterion"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject_enrolments.subject_id"), nullable=False)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("eligibility_criteria.id"), nullable=False)
    answer_json: Mapped[str] = mapped_column("answer", Text, nullable=False)
    met: Mapped[bool] = mapped_column(Boolean, nullable=False)

    enrolment = relationship("SubjectEnrolment", back_populates="answers")
    criterion = relationship("EligibilityCriterion", lazy="joined")

    @property
    def answer(self):
        return json.loads(self.answer_json)

    def audit_dict(self):
        return {"criterion": self.criterion.name if self.criterion else self.criterion_id, "answer": self.answer,
                "met": self.met}


class WeightStrike(db.Model):
    """A weight entered in error, struck through with the reason (SPEC §6): the weight row stays as it was typed, so
    the record shows what was entered and why it no longer counts; dose planning reads only weights without one."""
    __tablename__ = "subject_weight_strikes"

    weight_id: Mapped[int] = mapped_column(ForeignKey("subject_weights.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    struck_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    struck_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    weight_row = relationship("SubjectWeight", back_populates="strike")
    struck_by = relationship("User", lazy="joined")

    def audit_dict(self):
        return {"weight_id": self.weight_id, "reason": self.reason}


class FollowUpVisit(db.Model):
    """One visit of the follow-up schedule (SPEC §6), written with the infusion: due on the infusion's day plus `day`,
    within its window [opens_on, closes_on]; done once recorded with its date (lims.studies.follow_up)."""
    __tablename__ = "follow_up_visits"
    __table_args__ = (UniqueConstraint("subject_id", "day", name="day_of_subject"),
                      CheckConstraint("day > 0", name="day"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), nullable=False)
    day: Mapped[int] = mapped_column(Integer, nullable=False)
    opens_on = mapped_column(Date, nullable=False)
    due_on = mapped_column(Date, nullable=False)
    closes_on = mapped_column(Date, nullable=False)
    done_on = mapped_column(Date, nullable=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    recorded_at = mapped_column(UTCDateTime, nullable=True)

    # The home page names each visit's subject and study: read in the same statement.
    subject = relationship("Subject", back_populates="follow_up_visits", lazy="joined", innerjoin=True)

    def status(self, today):
        if self.done_on is not None:
            return "done"
        if today > self.closes_on:
            return "overdue"
        return "due" if today >= self.opens_on else "upcoming"

    def audit_dict(self):
        return {"subject_id": self.subject_id, "day": self.day, "due_on": self.due_on, "done_on": self.done_on}


# The pages' lists, worklists and searches (migration 0007, SPEC §15).
Index("ix_subjects_awaiting_infusion", Subject.id, postgresql_where=text("infused_at IS NULL"),
      sqlite_where=text("infused_at IS NULL"))
Index("ix_subjects_study_id", Subject.study_id, Subject.id)
Index("ix_subjects_study_cohort", Subject.study_id, Subject.cohort_id, Subject.id)
Index("ix_subjects_code", Subject.code)
# The follow-up visits that wait, by the day their window closes (the investigator's home page), and those done lately.
Index("ix_follow_up_visits_waiting", FollowUpVisit.closes_on, FollowUpVisit.id,
      postgresql_where=text("done_on IS NULL"), sqlite_where=text("done_on IS NULL"))
Index("ix_follow_up_visits_done_on", FollowUpVisit.done_on)
Index("ix_subjects_code_pattern", Subject.code, postgresql_ops={"code": "varchar_pattern_ops"})
Index("ix_subjects_wristband_pattern", Subject.wristband, postgresql_ops={"wristband": "varchar_pattern_ops"})
