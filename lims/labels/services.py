"""Printing bag labels: only prepared or verified doses, the first print the original, every later one a reasoned,
counted reprint marked REPRINT, every print audited (SPEC §9)."""
from flask import current_app
from sqlalchemy import select

from lims import units
from lims.audit import services as audit
from lims.doses.services import bag_by_code, bag_payload
from lims.errors import Conflict, NotFound, invalid
from lims.extensions import db
from lims.labels import render, zpl
from lims.labels.models import LabelPrint
from lims.lots import isbt
from lims.lots.models import Container
from lims.timeutil import local


PRINTABLE = ("prepared", "verified")


def _bag_for_print(code):
    # The label prints once the dose is prepared, so it is on the bag when the second pharmacist checks (SPEC §8).
    bag = bag_by_code(code, lock=True)
    if bag.dose.status not in PRINTABLE:
        raise Conflict(f"dose {bag.dose_id} is {bag.dose.status}: only a prepared or verified dose's label prints",
                       code="dose_not_printable", extra={"status": bag.status})
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
        "storage_text": lot.product.storage_text, "scan": bag_payload(bag), "qr_svg": render.qr_svg(bag_payload(bag)),
        "code128_svg": render.code128_svg(isbt.code128_data(lot.din)), "code128_text": isbt.code128_data(lot.din),
        "reprint": number > 1, "number": number, "reprint_reason": reprint_reason,
    }


FORMATS = ("pdf", "zpl")


def _check_batch_size(codes):
    # Checked before any bag is locked or counted: a refused batch prints, records and audits nothing.
    limit = current_app.config["LIMS_LABEL_BATCH_MAX"]
    if not codes:
        raise invalid("bags", "an empty batch prints nothing: name at least one bag")
    if len(codes) > limit:
        raise invalid("bags", f"{len(codes)} labels asked for: at most {limit} labels a request; "
                              "split the batch")


def print_labels(user, codes, reprint_reason=None, output_format="pdf", progress=None):
    """Record one print per bag and render them all into one document (PDF bytes or ZPL text). Nothing is
    recorded if any bag refuses or rendering fails. progress(bag_code) is called as each label is laid out."""
    if output_format not in FORMATS:
        raise invalid("format", f"labels print as {' or '.join(FORMATS)}")
    _check_batch_size(codes)
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
        audit.record("label.reprinted" if number > 1 else "label.printed", row, reason=reason, actor=user)
        contexts.append(label_context(bag, number, reason))
        if progress is not None:
            progress(bag.code)
    cfg = current_app.config
    size = {"width_in": cfg["LIMS_LABEL_WIDTH_IN"], "height_in": cfg["LIMS_LABEL_HEIGHT_IN"]}
    if output_format == "zpl":
        document = zpl.bag_labels(contexts, **size)
    else:
        document = render.render_pdf(render.html_for("labels/bag_label.html", labels=contexts, **size))
    db.session.commit()
    return document


CONTAINER_LABEL_IN = (2, 1)


def container_label(code):
    """A 2 x 1 in cryovial label: the container code as QR and text, the DIN with its check character."""
    container = db.session.scalar(select(Container).where(Container.code == code))
    if container is None:
        raise NotFound(f"no container {code}", code="container_not_found")
    lot = container.lot
    din_text, check = isbt.display(lot.din, lot.check_character)
    context = {"code": container.code, "product_name": lot.product.name, "product_code": lot.product.code,
               "din_display": din_text, "check_character": check, "fill_volume": f"{container.fill_volume_ml:.1f} mL",
               "expires_on": lot.expires_on.isoformat(), "qr_svg": render.qr_svg(container.code)}
    width, height = CONTAINER_LABEL_IN
    return render.render_pdf(render.html_for("labels/container_label.html", c=context, width_in=width,
                                             height_in=height))
