"""Printing bag labels: only verified doses, the first print the original, every later one a reasoned, counted
reprint marked REPRINT, every print audited (SPEC §9)."""
from flask import current_app
from sqlalchemy import select

from lims import units
from lims.audit import services as audit
from lims.doses.models import Bag
from lims.doses.services import bag_payload
from lims.errors import Conflict, NotFound, invalid
from lims.extensions import db
from lims.labels import render
from lims.labels.models import LabelPrint
from lims.lots import isbt
from lims.timeutil import local


def _bag_for_print(code):
    bag = db.session.scalar(select(Bag).where(Bag.code == code).with_for_update())
    if bag is None:
        raise NotFound(f"no bag {code}", code="bag_not_found")
    if bag.dose.status != "verified":
        raise Conflict(f"dose {bag.dose_id} is {bag.dose.status}: only a verified dose's label prints",
                       code="dose_not_verified", extra={"status": bag.status})
    return bag


def label_context(bag, number, reprint_reason):
    lot, dose = bag.lot, bag.dose
    din_text, check = isbt.display(lot.din, lot.check_character)
    return {
        "bag_code": bag.code, "product_name": lot.product.name, "product_code": lot.product.code,
        "din_display": din_text, "check_character": check, "subject_code": bag.subject.code,
        "wristband": bag.subject.wristband,
        "cohort_dose": units.display(units.of(dose.cohort_dose_cells_per_kg, "dose"), "dose"),
        "delivered_cells": units.display(units.of(dose.delivered_cells, "cells"), "cells"),
        "volume": f"{bag.volume_ml:.1f} mL", "thawed_at": local(bag.thawed_at), "expires_at": local(bag.expires_at),
        "storage_text": lot.product.storage_text, "qr_svg": render.qr_svg(bag_payload(bag)),
        "code128_svg": render.code128_svg(isbt.code128_data(lot.din)), "code128_text": isbt.code128_data(lot.din),
        "reprint": number > 1, "number": number, "reprint_reason": reprint_reason,
    }


def print_labels(user, codes, reprint_reason=None, output_format="pdf"):
    """Record one print per bag and render them all into one document. Nothing is recorded if rendering fails."""
    contexts = []
    for code in codes:
        bag = _bag_for_print(code)
        number = bag.label_prints + 1
        reason = (reprint_reason or "").strip() or None
        if number > 1 and reason is None:
            raise invalid("reprint_reason", f"bag {bag.code} was printed {bag.label_prints} time(s); "
                                            "a reprint needs a reason")
        row = LabelPrint(bag_id=bag.id, number=number, output_format=output_format,
                         reprint_reason=reason if number > 1 else None, printed_by_id=user.id)
        bag.label_prints = number
        db.session.add(row)
        audit.record("label.reprinted" if number > 1 else "label.printed", row, reason=reason)
        contexts.append(label_context(bag, number, reason))
    cfg = current_app.config
    html = render.html_for("labels/bag_label.html", labels=contexts, width_in=cfg["LIMS_LABEL_WIDTH_IN"],
                           height_in=cfg["LIMS_LABEL_HEIGHT_IN"])
    document = render.render_pdf(html)
    db.session.commit()
    return document
