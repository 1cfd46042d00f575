"""Every label print: the first is the original; each later one a counted, reasoned reprint (SPEC §9)."""
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.extensions import db
from lims.models_base import UTCDateTime
from lims.timeutil import utcnow


class LabelPrint(db.Model):
    __tablename__ = "label_prints"
    __table_args__ = (UniqueConstraint("bag_id", "number", name="number_per_bag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bag_id: Mapped[int] = mapped_column(ForeignKey("bags.id"), nullable=False, index=True)
    number: Mapped[int] = mapped_column(Integer, nullable=False)  # 1 is the original
    output_format: Mapped[str] = mapped_column(String(8), nullable=False)
    reprint_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    printed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    printed_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # A later print voids this label: the bag carries one valid label, and the record says which replaced which.
    voided_at = mapped_column(UTCDateTime, nullable=True)
    voided_by_print_id: Mapped[int | None] = mapped_column(ForeignKey("label_prints.id"), nullable=True)

    printed_by = relationship("User", lazy="joined", foreign_keys=[printed_by_id])

    @property
    def is_reprint(self):
        return self.number > 1

    def audit_dict(self):
        return {"bag_id": self.bag_id, "number": self.number, "format": self.output_format,
                "reprint_reason": self.reprint_reason, "voided_at": self.voided_at,
                "voided_by_print_id": self.voided_by_print_id}
