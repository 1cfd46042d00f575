"""Adverse events of subjects, linked to the bag, lot and donor they received (SPEC §6, biovigilance)."""
from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, or_, text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.extensions import db
from lims.models_base import UTCDateTime
from lims.timeutil import utcnow

RELATEDNESS = ("unrelated", "unlikely", "possible", "probable", "definite")
# "Possible" or stronger: a serious event so related halts escalation (SPEC §6).
RELATED = ("possible", "probable", "definite")
# The ICH E2B / CTCAE outcome vocabulary, in words a ward uses.
OUTCOMES = ("recovered", "recovering", "not_recovered", "recovered_with_sequelae", "fatal", "unknown")


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class AdverseEvent(db.Model):
    """One version of an adverse event. A correction is a new row; the old one keeps its values and points at it."""
    __tablename__ = "adverse_events"
    __table_args__ = (
        CheckConstraint("grade >= 1 AND grade <= 5", name="grade"),
        CheckConstraint(_in("relatedness", RELATEDNESS), name="relatedness"),
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), nullable=False)
    # The bag the subject was infused with, when the onset is on or after the infusion's day; else null (pre-treatment).
    bag_id: Mapped[int | None] = mapped_column(ForeignKey("bags.id"), nullable=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), nullable=True)
    donor_id: Mapped[int | None] = mapped_column(ForeignKey("donors.id"), nullable=True)
    term: Mapped[str] = mapped_column(String(200), nullable=False)
    onset_on = mapped_column(Date, nullable=False)
    grade: Mapped[int] = mapped_column(Integer, nullable=False)
    serious: Mapped[bool] = mapped_column(Boolean, nullable=False)
    relatedness: Mapped[str] = mapped_column(String(16), nullable=False)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Made from a reaction on the infusion record, with default grading for the investigator to complete.
    from_infusion: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    recorded_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("adverse_events.id"), nullable=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("adverse_events.id"), nullable=True)
    supersede_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    subject = relationship("Subject", lazy="joined")
    recorded_by = relationship("User")

    @hybrid_property
    def counts_as_serious(self):
        """Serious as recorded, or by definition (ICH E2A): life-threatening (CTCAE grade 4), death (grade 5) or a
        fatal outcome. The one rule every reader of seriousness uses (the `proceed` gate, the home pages' lists, the
        tables' Serious column), in Python and, below, in SQL. Since 0ed6ec1 a new row graded so must be marked
        serious, but a row recorded before it may say serious=false: it still counts, and the row is not rewritten
        (a record is corrected by superseding, never behind its recorder's back)."""
        return self.serious or self.grade >= 4 or self.outcome == "fatal"

    @counts_as_serious.expression
    def counts_as_serious(cls):
        return or_(cls.serious.is_(True), cls.grade >= 4, cls.outcome == "fatal")

    @property
    def serious_by_definition_only(self):
        """Counts as serious though recorded not serious (a row from before the rule): the tables say why."""
        return self.counts_as_serious and not self.serious

    @property
    def current(self):
        return self.superseded_by_id is None

    @property
    def pre_treatment(self):
        """Not linked to a lot: the subject was not infused yet, or the onset precedes the infusion's day."""
        return self.lot_id is None

    def audit_dict(self):
        return {"subject_id": self.subject_id, "bag_id": self.bag_id, "lot_id": self.lot_id,
                "donor_id": self.donor_id, "term": self.term, "onset_on": self.onset_on, "grade": self.grade,
                "serious": self.serious, "relatedness": self.relatedness, "outcome": self.outcome,
                "description": self.description, "from_infusion": self.from_infusion,
                "supersedes_id": self.supersedes_id, "superseded_by_id": self.superseded_by_id}


# A subject's and a lot's events; the home pages' serious current events. The home pages now read
# `counts_as_serious` (grade and outcome too), which this predicate does not cover: the list scans the current events
# (a trial's few hundred). Widening the predicate is a migration, left to the migrations' owner.
Index("ix_adverse_events_subject", AdverseEvent.subject_id, AdverseEvent.id)
Index("ix_adverse_events_lot", AdverseEvent.lot_id, AdverseEvent.id)
Index("ix_adverse_events_serious_current", AdverseEvent.id,
      postgresql_where=text("serious AND superseded_by_id IS NULL"),
      sqlite_where=text("serious AND superseded_by_id IS NULL"))
