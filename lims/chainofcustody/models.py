"""Custody events of bags and containers, bedside checks (near misses among them) and infusions (SPEC §10, §11)."""
from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.doses.models import entry_check
from lims.extensions import db
from lims.models_base import UTCDateTime
from lims.timeutil import utcnow


class CustodyEvent(db.Model):
    __tablename__ = "custody_events"
    __table_args__ = (Index("ix_custody_events_bag_at", "bag_id", "at", "id"), entry_check("scan_entry"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bag_id: Mapped[int] = mapped_column(ForeignKey("bags.id"), nullable=False)
    event: Mapped[str] = mapped_column(String(20), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20), nullable=False)
    at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    location: Mapped[str | None] = mapped_column(String(128), nullable=True)
    scanned: Mapped[str | None] = mapped_column(String(128), nullable=True)
    scan_entry: Mapped[str | None] = mapped_column(String(8), nullable=True)  # scanned or typed (doses.ENTRIES)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # why a bag was discarded (SPEC §10)

    bag = relationship("Bag")
    actor = relationship("User", foreign_keys=[actor_id], lazy="joined")
    holder = relationship("User", foreign_keys=[holder_id], lazy="joined")

    def audit_dict(self):
        return {"bag_id": self.bag_id, "event": self.event, "from": self.from_status, "to": self.to_status,
                "at": self.at, "location": self.location, "scanned": self.scanned, "scan_entry": self.scan_entry,
                "holder_id": self.holder_id, "reason": self.reason}


class ContainerEvent(db.Model):
    __tablename__ = "container_events"
    __table_args__ = (Index("ix_container_events_container_at", "container_id", "at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    container_id: Mapped[int] = mapped_column(ForeignKey("containers.id"), nullable=False)
    event: Mapped[str] = mapped_column(String(20), nullable=False)
    at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    location: Mapped[str | None] = mapped_column(String(128), nullable=True)

    actor = relationship("User", lazy="joined")

    def audit_dict(self):
        return {"container_id": self.container_id, "event": self.event, "at": self.at, "location": self.location}


class BedsideCheck(db.Model):
    """One bedside two-person check. A failed one is a near miss, kept for QA even though nothing moved."""
    __tablename__ = "bedside_checks"
    __table_args__ = (entry_check("bag_entry"), entry_check("wristband_entry"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bag_id: Mapped[int | None] = mapped_column(ForeignKey("bags.id"), nullable=True, index=True)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"), nullable=True)
    bag_scan: Mapped[str] = mapped_column(String(128), nullable=False)
    wristband_scan: Mapped[str] = mapped_column(String(128), nullable=False)
    bag_entry: Mapped[str | None] = mapped_column(String(8), nullable=True)  # scanned or typed (doses.ENTRIES)
    wristband_entry: Mapped[str | None] = mapped_column(String(8), nullable=True)
    nurse_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    # None for a STOP at the scans, before any witness was asked (the bedside page, SPEC §11)
    witness_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False, index=True)
    failures: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON list of {name, message}

    nurse = relationship("User", foreign_keys=[nurse_id], lazy="joined")
    witness = relationship("User", foreign_keys=[witness_id], lazy="joined")

    def audit_dict(self):
        return {"bag_id": self.bag_id, "subject_id": self.subject_id, "bag_scan": self.bag_scan,
                "wristband_scan": self.wristband_scan, "bag_entry": self.bag_entry,
                "wristband_entry": self.wristband_entry, "witness_id": self.witness_id, "ok": self.ok,
                "failures": self.failures}


class Infusion(db.Model):
    __tablename__ = "infusions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bag_id: Mapped[int] = mapped_column(ForeignKey("bags.id"), nullable=False, unique=True)
    # One infusion per subject (SPEC §6, §11): record_infusion refuses a second by name (409); this unique index is the
    # database's own guard, so two records for one subject can never both commit (migration 0012).
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), nullable=False, index=True, unique=True)
    bedside_check_id: Mapped[int] = mapped_column(ForeignKey("bedside_checks.id"), nullable=False)
    started_at = mapped_column(UTCDateTime, nullable=False)
    completed_at = mapped_column(UTCDateTime, nullable=False)
    volume_infused_ml: Mapped[float] = mapped_column(Float, nullable=False)
    reactions: Mapped[str] = mapped_column(Text, nullable=False, default="[]")  # JSON list of strings
    nurse_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signatures.id"), nullable=True)
    recorded_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    nurse = relationship("User", lazy="joined")
    signature = relationship("Signature", lazy="joined")

    def audit_dict(self):
        return {"bag_id": self.bag_id, "subject_id": self.subject_id, "started_at": self.started_at,
                "completed_at": self.completed_at, "volume_infused_ml": self.volume_infused_ml,
                "reactions": self.reactions}


# The pages' lists (migration 0007, SPEC §15).
Index("ix_bedside_checks_ok_at", BedsideCheck.ok, BedsideCheck.at, BedsideCheck.id)
Index("ix_custody_events_event_location", CustodyEvent.event, CustodyEvent.location)
Index("ix_custody_events_actor_event_at", CustodyEvent.actor_id, CustodyEvent.event, CustodyEvent.at, CustodyEvent.id)
