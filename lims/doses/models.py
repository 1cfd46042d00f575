"""Dose plans, their preparation into bags and the containers each bag drew from (SPEC §7, §8)."""
from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims import units
from lims.extensions import db
from lims.models_base import UTCDateTime
from lims.timeutil import utcnow

DOSE_STATUSES = ("planned", "superseded", "prepared", "verified")
ENTRIES = ("scanned", "typed")  # how a code reached the record: a keyboard-wedge scan, or typed by a person
BAG_STATUSES = ("prepared", "verified", "dispensed", "received", "bedside_verified", "infusing", "infused",
                "returned", "discarded")


class Dose(db.Model):
    __tablename__ = "doses"
    __table_args__ = (CheckConstraint(f"status IN ({', '.join(repr(s) for s in DOSE_STATUSES)})", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), nullable=False, index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), nullable=False, index=True)
    weight_id: Mapped[int] = mapped_column(ForeignKey("subject_weights.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="planned", index=True)
    # The plan's figures, each in its canonical unit, kept as computed so the pharmacist checks what was signed.
    cohort_dose_cells_per_kg: Mapped[float] = mapped_column(Float, nullable=False)
    dosing_weight_kg: Mapped[float] = mapped_column(Float, nullable=False)
    target_cells: Mapped[float] = mapped_column(Float, nullable=False)
    viable_concentration_cells_per_ml: Mapped[float] = mapped_column(Float, nullable=False)
    volume_ml: Mapped[float] = mapped_column(Float, nullable=False)
    delivered_cells: Mapped[float] = mapped_column(Float, nullable=False)
    deviation_percent: Mapped[float] = mapped_column(Float, nullable=False)
    containers_needed: Mapped[int] = mapped_column(Integer, nullable=False)
    dmso_g_per_kg: Mapped[float] = mapped_column(Float, nullable=False)
    endotoxin_eu_per_kg: Mapped[float] = mapped_column(Float, nullable=False)
    planned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    planned_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    prepared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    prepared_at = mapped_column(UTCDateTime, nullable=True)
    thawed_at = mapped_column(UTCDateTime, nullable=True)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    verified_at = mapped_column(UTCDateTime, nullable=True)

    subject = relationship("Subject", lazy="joined")
    lot = relationship("Lot", lazy="joined")
    bag = relationship("Bag", uselist=False, back_populates="dose")
    allocations = relationship("DoseContainer", order_by="DoseContainer.id")
    prepared_by = relationship("User", foreign_keys=[prepared_by_id])
    verified_by = relationship("User", foreign_keys=[verified_by_id])

    def audit_dict(self):
        return {"subject_id": self.subject_id, "lot_id": self.lot_id, "status": self.status,
                "dosing_weight_kg": self.dosing_weight_kg, "target_cells": self.target_cells,
                "viable_concentration_cells_per_ml": self.viable_concentration_cells_per_ml,
                "volume_ml": self.volume_ml, "delivered_cells": self.delivered_cells,
                "deviation_percent": self.deviation_percent, "containers_needed": self.containers_needed,
                "dmso_g_per_kg": self.dmso_g_per_kg, "endotoxin_eu_per_kg": self.endotoxin_eu_per_kg,
                "thawed_at": self.thawed_at}


class DoseContainer(db.Model):
    """A container allocated to a dose. The unique container_id is the last guard: a container feeds one dose."""
    __tablename__ = "dose_containers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dose_id: Mapped[int] = mapped_column(ForeignKey("doses.id"), nullable=False, index=True)
    container_id: Mapped[int] = mapped_column(ForeignKey("containers.id"), nullable=False, unique=True)
    volume_used_ml: Mapped[float] = mapped_column(Float, nullable=False)
    volume_discarded_ml: Mapped[float] = mapped_column(Float, nullable=False)

    container = relationship("Container", lazy="joined")


class Bag(db.Model):
    __tablename__ = "bags"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in BAG_STATUSES)})", name="status"),
        UniqueConstraint("lot_id", "division", name="uq_bags_division_in_lot"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    division: Mapped[str] = mapped_column(String(8), nullable=False)
    dose_id: Mapped[int] = mapped_column(ForeignKey("doses.id"), nullable=False, unique=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), nullable=False, index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), nullable=False, index=True)
    volume_ml: Mapped[float] = mapped_column(Float, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="prepared", index=True)
    thawed_at = mapped_column(UTCDateTime, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    location: Mapped[str | None] = mapped_column(String(128), nullable=True)
    label_prints: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    dose = relationship("Dose", back_populates="bag")
    lot = relationship("Lot", lazy="joined")
    subject = relationship("Subject", lazy="joined")
    holder = relationship("User")  # shown on pages; a scan does not need it

    @property
    def volume(self):
        return units.of(self.volume_ml, "volume")

    def audit_dict(self):
        return {"code": self.code, "status": self.status, "volume_ml": self.volume_ml,
                "subject_id": self.subject_id, "lot_id": self.lot_id, "thawed_at": self.thawed_at,
                "expires_at": self.expires_at, "location": self.location, "label_prints": self.label_prints}


def entry_check(column):
    return CheckConstraint(f"{column} IS NULL OR {column} IN ({', '.join(repr(e) for e in ENTRIES)})", name=column)


class DoseVerification(db.Model):
    """One attempt at the second pharmacist's independent check (SPEC §8): the label scanned on the bag and the
    volume measured in it, before the plan's volume is shown. A refused attempt is kept (a wrong label on a bag,
    a volume off the plan): the dose stays prepared, and the pharmacy sees the near miss."""
    __tablename__ = "dose_verifications"
    __table_args__ = (entry_check("bag_entry"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dose_id: Mapped[int] = mapped_column(ForeignKey("doses.id"), nullable=False, index=True)
    bag_id: Mapped[int] = mapped_column(ForeignKey("bags.id"), nullable=False)
    verifier_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    bag_scan: Mapped[str] = mapped_column(String(128), nullable=False)
    bag_entry: Mapped[str | None] = mapped_column(String(8), nullable=True)
    scanned_bag_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    measured_volume_ml: Mapped[float] = mapped_column(Float, nullable=False)
    planned_volume_ml: Mapped[float] = mapped_column(Float, nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    failures: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON list of {name, message}

    verifier = relationship("User", lazy="joined")

    def audit_dict(self):
        return {"dose_id": self.dose_id, "bag_id": self.bag_id, "bag_scan": self.bag_scan,
                "bag_entry": self.bag_entry, "scanned_bag_code": self.scanned_bag_code,
                "measured_volume_ml": self.measured_volume_ml, "planned_volume_ml": self.planned_volume_ml,
                "ok": self.ok, "failures": self.failures}


# The pages' lists, worklists and searches (migration 0007, SPEC §15).
Index("ix_doses_subject_status", Dose.subject_id, Dose.status, Dose.id)
Index("ix_bags_status_expires", Bag.status, Bag.expires_at, Bag.id)
Index("ix_bags_code_pattern", Bag.code, postgresql_ops={"code": "varchar_pattern_ops"})
