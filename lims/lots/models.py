"""Donors, products, lots with ISBT 128 DINs, containers, QC results and versioned release specifications
(SPEC §3, §5)."""
from sqlalchemy import (CheckConstraint, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims import units
from lims.extensions import db
from lims.models_base import UTCDateTime
from lims.timeutil import utcnow

ELIGIBILITY = ("eligible", "ineligible", "incomplete")
LOT_STATUSES = ("quarantine", "released", "rejected", "on_hold", "recalled")
CONTAINER_STATUSES = ("in_storage", "retrieved", "thawed", "discarded")


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Product(db.Model):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    post_thaw_stability_h: Mapped[float] = mapped_column(Float, nullable=False)
    storage_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    @property
    def post_thaw_stability(self):
        return units.of(self.post_thaw_stability_h, "duration")

    def audit_dict(self):
        return {"code": self.code, "name": self.name, "post_thaw_stability_h": self.post_thaw_stability_h}


class Donor(db.Model):
    __tablename__ = "donors"
    __table_args__ = (CheckConstraint(_in("eligibility", ELIGIBILITY), name="eligibility"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    eligibility: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    def audit_dict(self):
        return {"code": self.code, "eligibility": self.eligibility}


class ReleaseSpec(db.Model):
    """A version of a product's release specification. Data, not code: a new version is a new row."""
    __tablename__ = "release_specs"
    __table_args__ = (UniqueConstraint("name", "version", name="name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    effective_from = mapped_column(UTCDateTime, nullable=False)
    requirements = relationship("SpecRequirement", order_by="SpecRequirement.position", lazy="selectin")


class SpecRequirement(db.Model):
    __tablename__ = "spec_requirements"
    __table_args__ = (
        UniqueConstraint("spec_id", "test", name="one_per_test"),
        CheckConstraint(_in("rule", ("min", "max", "equals", "positive")), name="rule"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec_id: Mapped[int] = mapped_column(ForeignKey("release_specs.id"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    test: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)  # units kind, or "categorical"
    rule: Mapped[str] = mapped_column(String(16), nullable=False)
    limit_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    expected_text: Mapped[str | None] = mapped_column(String(32), nullable=True)


class DinSequence(db.Model):
    """The yearly DIN sequence of a facility; its row is locked while a lot number is taken."""
    __tablename__ = "din_sequences"

    fin: Mapped[str] = mapped_column(String(5), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Lot(db.Model):
    __tablename__ = "lots"
    __table_args__ = (
        CheckConstraint(_in("status", LOT_STATUSES), name="status"),
        CheckConstraint("length(din) = 13", name="din_length"),
        CheckConstraint("container_count > 0", name="container_count"),
        CheckConstraint("fill_volume_ml > 0", name="fill_volume"),
        CheckConstraint("dmso_fraction_percent >= 0 AND dmso_fraction_percent <= 100", name="dmso_fraction"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    din: Mapped[str] = mapped_column(String(13), unique=True, nullable=False)
    check_character: Mapped[str] = mapped_column(String(1), nullable=False)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), nullable=False)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), nullable=False)
    spec_id: Mapped[int] = mapped_column(ForeignKey("release_specs.id"), nullable=False)
    manufactured_on = mapped_column(Date, nullable=False)
    expires_on = mapped_column(Date, nullable=False)
    container_count: Mapped[int] = mapped_column(Integer, nullable=False)
    fill_volume_ml: Mapped[float] = mapped_column(Float, nullable=False)
    dmso_fraction_percent: Mapped[float] = mapped_column(Float, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="quarantine", index=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)

    product = relationship("Product", lazy="joined")
    donor = relationship("Donor", lazy="joined")
    spec = relationship("ReleaseSpec")
    containers = relationship("Container", order_by="Container.id", back_populates="lot")

    @property
    def fill_volume(self):
        return units.of(self.fill_volume_ml, "volume")

    @property
    def dmso_fraction(self):
        return units.of(self.dmso_fraction_percent, "percent")

    @property
    def printed_number(self):
        """The lot number as labels print it and people read it: "W1234 26 000123 3"."""
        from lims.lots.isbt import printed
        return printed(self.din, self.check_character)

    @property
    def status_text(self):
        """The status as a sentence says it: "on hold", not the enum "on_hold"."""
        return self.status.replace("_", " ")

    @property
    def blocked(self):
        """A hold or recall blocks every container and bag of the lot at once (SPEC §5)."""
        return self.status in ("on_hold", "recalled")

    def audit_dict(self):
        return {"din": self.din, "check_character": self.check_character, "product_id": self.product_id,
                "donor_id": self.donor_id, "spec_id": self.spec_id, "status": self.status,
                "manufactured_on": self.manufactured_on, "expires_on": self.expires_on,
                "container_count": self.container_count, "fill_volume_ml": self.fill_volume_ml,
                "dmso_fraction_percent": self.dmso_fraction_percent}

    def __repr__(self):
        return f"<Lot {self.din} {self.status}>"


class Container(db.Model):
    __tablename__ = "containers"
    __table_args__ = (
        CheckConstraint(_in("status", CONTAINER_STATUSES), name="status"),
        UniqueConstraint("lot_id", "division", name="uq_containers_division_in_lot"),
        UniqueConstraint("freezer", "rack", "box", "position", name="one_per_position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    division: Mapped[str] = mapped_column(String(8), nullable=False)
    fill_volume_ml: Mapped[float] = mapped_column(Float, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="in_storage")
    freezer: Mapped[str | None] = mapped_column(String(32), nullable=True)
    rack: Mapped[str | None] = mapped_column(String(32), nullable=True)
    box: Mapped[str | None] = mapped_column(String(32), nullable=True)
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)

    lot = relationship("Lot", back_populates="containers")

    @property
    def location(self):
        if self.freezer is None:
            return None
        return f"{self.freezer} / {self.rack} / {self.box} / {self.position}"

    def audit_dict(self):
        return {"code": self.code, "status": self.status, "location": self.location}


class QcResult(db.Model):
    """A QC result. A correction is a new row that supersedes the earlier one; nothing is ever overwritten."""
    __tablename__ = "qc_results"
    __table_args__ = (CheckConstraint("(numeric_value IS NULL) <> (text_value IS NULL)", name="one_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), nullable=False, index=True)
    test: Mapped[str] = mapped_column(String(32), nullable=False)
    numeric_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit: Mapped[str | None] = mapped_column(String(16), nullable=True)
    text_value: Mapped[str | None] = mapped_column(String(32), nullable=True)
    method: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("qc_results.id"), nullable=True, unique=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    recorded_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    recorded_by = relationship("User", lazy="joined")

    def audit_dict(self):
        return {"lot_id": self.lot_id, "test": self.test, "value": self.numeric_value, "unit": self.unit,
                "text": self.text_value, "method": self.method, "reason": self.reason,
                "supersedes_id": self.supersedes_id}


class LotDisposition(db.Model):
    """Each status change of a lot, with its QA signature and reason."""
    __tablename__ = "lot_dispositions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), nullable=False, index=True)
    from_status: Mapped[str] = mapped_column(String(16), nullable=False)
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    automatic: Mapped[bool] = mapped_column(default=False, nullable=False)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signatures.id"), nullable=True)
    at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)

    signature = relationship("Signature", lazy="joined")

    def audit_dict(self):
        return {"lot_id": self.lot_id, "from": self.from_status, "to": self.to_status, "reason": self.reason,
                "automatic": self.automatic}


class LateQcReview(db.Model):
    """A QC result recorded or corrected after the lot's release, which QA must read (SPEC §5): the flag stays open,
    and on QA's home page, until QA signs that the lot's late results were reviewed. One row per late result; the
    review fills in who signed, when, and the note."""
    __tablename__ = "late_qc_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), nullable=False, index=True)
    qc_result_id: Mapped[int] = mapped_column(ForeignKey("qc_results.id"), nullable=False, unique=True)
    flagged_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    reviewed_at = mapped_column(UTCDateTime, nullable=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signatures.id"), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    qc_result = relationship("QcResult", lazy="joined")
    signature = relationship("Signature", lazy="joined")

    def audit_dict(self):
        return {"lot_id": self.lot_id, "qc_result_id": self.qc_result_id, "reviewed_at": self.reviewed_at,
                "reviewed_by_id": self.reviewed_by_id, "note": self.note}


NOTIFICATION_METHODS = ("phone", "letter", "in_person", "other")


class SubjectNotification(db.Model):
    """A subject told of a recall or a donor look-back of a lot they received (SPEC §5): who told them, when, how."""
    __tablename__ = "subject_notifications"
    __table_args__ = (CheckConstraint(_in("method", NOTIFICATION_METHODS), name="method"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), nullable=False)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), nullable=False, index=True)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    notified_at = mapped_column(UTCDateTime, nullable=False)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    recorded_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    recorded_by = relationship("User", lazy="joined")

    def audit_dict(self):
        return {"lot_id": self.lot_id, "subject_id": self.subject_id, "method": self.method,
                "notified_at": self.notified_at, "note": self.note}


# The pages' lists, worklists and searches (migration 0007, SPEC §15).
Index("ix_lots_status_id", Lot.status, Lot.id)
Index("ix_lots_manufactured_on_id", Lot.manufactured_on, Lot.id)
Index("ix_lots_product_manufactured", Lot.product_id, Lot.manufactured_on, Lot.id)
Index("ix_lots_status_expires", Lot.status, Lot.expires_on, Lot.id)
Index("ix_lots_din_pattern", Lot.din, postgresql_ops={"din": "varchar_pattern_ops"})
Index("ix_containers_lot_status", Container.lot_id, Container.status)
Index("ix_lot_dispositions_lot_to", LotDisposition.lot_id, LotDisposition.to_status, LotDisposition.id)
Index("ix_qc_results_recorded_at", QcResult.recorded_at)
# QA's home page reads the open flags, oldest first (migration 0009).
Index("ix_late_qc_reviews_open", LateQcReview.reviewed_at, LateQcReview.id)
Index("ix_subject_notifications_lot_subject", SubjectNotification.lot_id, SubjectNotification.subject_id,
      SubjectNotification.id)
