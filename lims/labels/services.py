"""Printing bag labels: only prepared or verified doses, the first print the original, every later one a reasoned,
counted reprint marked REPRINT, every print audited (SPEC §9)."""
from flask import current_app
from sqlalchemy import select

from lims import barcodes, units
from lims.audit import services as audit
from lims.doses.services import bag_by_code, bag_payload
from lims.errors import Conflict, NotFound, invalid
from lims.extensions import db
from lims.labels import render, wording, zpl
from lims.labels.models import LabelPrint
from lims.lots import isbt
from lims.lots.models import Container
from lims.timeutil import aware, local, utcnow


PRINTABLE = ("prepared", "verified")
# A label prints only for a bag in the pharmacy's hands that can still be given (SPEC §9, §10): prepared or
# verified, or returned to the pharmacy (its label may need replacing before it is issued again; it is a bag that
# can be dispensed again, so it needs a readable label). The dose's status stays `verified` for the bag's whole
# life, so the bag's own state is what decides. Each refused state has its own code and says what to do.
BAG_PRINTABLE = ("prepared", "verified", "returned")
BAG_REFUSALS = {
    "discarded": ("bag_discarded", "bag {code} was discarded: a discarded bag prints no label"),
    "infusing": ("bag_infused", "bag {code} is being infused: its label is the record of what the subject "
                                "receives; no new label prints"),
    "infused": ("bag_infused", "bag {code} was infused: its label is the record of what the subject received; "
                               "no new label prints"),
    "dispensed": ("bag_out_of_pharmacy", "bag {code} was dispensed and is out of the pharmacy: a label prints "
                                         "only for a bag in the pharmacy; return the bag to pharmacy first"),
    "received": ("bag_out_of_pharmacy", "bag {code} was received on the ward: a label prints only for a bag in "
                                        "the pharmacy; return the bag to pharmacy first"),
    "bedside_verified": ("bag_out_of_pharmacy", "bag {code} was checked at the bedside: a label prints only for a "
                                                "bag in the pharmacy; return the bag to pharmacy first"),
}


def refusal(bag):
    """Why this bag's label cannot print now, as (error code, message, extra), or None when it can: the one rule the
    label API enforces and the dose page reads (to show the reason instead of a form that would be refused)."""
    # The label prints once the dose is prepared, so it is on the bag when the second pharmacist checks (SPEC §8).
    if bag.dose.status not in PRINTABLE:
        return ("dose_not_printable", f"dose {bag.dose_id} is {bag.dose.status}: only a prepared or verified dose's "
                "label prints", {"status": bag.status})
    if bag.status not in BAG_PRINTABLE:
        # A fresh label on a bag that can no longer be given would make it look usable (and void the true label).
        error_code, message = BAG_REFUSALS.get(
            bag.status, ("bag_not_printable", "bag {code} is " + bag.status + ": it prints no label"))
        return error_code, message.format(code=bag.code), {"status": bag.status}
    if bag.lot.blocked:
        # A hold blocks every bag of the lot at once (SPEC §5): a fresh label would make a blocked bag look usable.
        return ("lot_blocked", f"lot {bag.lot.printed_number} is {bag.lot.status_text}: its bags are blocked and "
                "print no label until QA releases the lot", {"status": bag.status, "lot_status": bag.lot.status})
    if aware(bag.expires_at) <= utcnow():
        # After the post-thaw expiry the bag can be neither dispensed nor infused (SPEC §8): it is discarded, and a
        # label, which states the expiry, would only hide that. The time is the site's, as a person reads it.
        return ("bag_expired", f"bag {bag.code} passed its post-thaw expiry at {local(bag.expires_at)}: an expired "
                "bag prints no label; discard it", {"status": bag.status})
    return None


# What the dose page says instead of the print form, one line per refusal code of refusal() (SPEC §9).
PAGE_REASONS = {
    "dose_not_printable": "Dose {dose_status}: no label can be printed",
    "bag_discarded": "Bag discarded: no label can be printed",
    "bag_infused": "Bag {bag_status}: no label can be printed; its label is the record of the infusion",
    "bag_out_of_pharmacy": "Bag out of the pharmacy ({bag_status}): no label can be printed; return it to pharmacy "
                           "first",
    "lot_blocked": "Lot {lot_status}: no label can be printed until QA releases the lot",
    "bag_expired": "Bag expired at {expires_at}: no label can be printed; discard it",
    "bag_not_printable": "Bag {bag_status}: no label can be printed",
}


BAG_WORDS = {"infusing": "being infused", "bedside_verified": "checked at the bedside"}


def why_no_label(bag):
    """The one line a page shows instead of the print form when refusal() would refuse the print, else None."""
    refused = refusal(bag)
    if refused is None:
        return None
    return PAGE_REASONS[refused[0]].format(
        dose_status=bag.dose.status.replace("_", " "),
        bag_status=BAG_WORDS.get(bag.status, bag.status.replace("_", " ")), lot_status=bag.lot.status_text,
        expires_at=local(bag.expires_at))


def _bag_for_print(code):
    bag = bag_by_code(code, lock=True)
    refused = refusal(bag)
    if refused is not None:
        error_code, message, extra = refused
        raise Conflict(message, code=error_code, extra=extra)
    return bag


# The two Code 128 symbols as printed on each label stock (inches, quiet zones included).
BAG_CODE128_IN = (2.3, 0.3)
CONTAINER_CODE128_IN = (1.86, 0.15)
# The reason printed in the REPRINT band, at most this long (the full reason is in the record): a band of fixed
# height can never push the legal text off the label.
REASON_ON_LABEL = 50


def reason_on_label(reason):
    reason = " ".join((reason or "").split())
    return reason if len(reason) <= REASON_ON_LABEL else reason[:REASON_ON_LABEL - 1].rstrip() + "…"


def handling_text(bag):
    """What the label says about keeping the product: a thawed bag's after-thaw handling with its use-by time, the
    product's frozen storage text only for a bag not (yet) thawed (SPEC §9)."""
    if bag.thawed_at is None:
        return bag.lot.product.storage_text
    return current_app.config["LIMS_LABEL_AFTER_THAW_TEXT"].format(expires_at=local(bag.expires_at))


def product_code_data(product):
    return barcodes.product_code_data(product.code, current_app.config["LIMS_ISBT_DONATION_TYPE"])


def label_context(bag, number, reprint_reason):
    lot, dose = bag.lot, bag.dose
    din_text, check = isbt.display(lot.din, lot.check_character)
    din_data, product_data = isbt.code128_data(lot.din), product_code_data(lot.product)
    width, height = BAG_CODE128_IN
    return {
        "bag_code": bag.code, "product_name": lot.product.name, "product_code": lot.product.code,
        "din_display": din_text, "check_character": check, "subject_code": bag.subject.code,
        "wristband": bag.subject.wristband, "protocol": bag.subject.study.code,
        "cohort_dose": wording.cells_per_kg(units.of(dose.cohort_dose_cells_per_kg, "dose")),
        "delivered_cells": wording.cells(units.of(dose.delivered_cells, "cells")),
        "volume": f"{bag.volume_ml:.1f} mL", "thawed_at": local(bag.thawed_at), "expires_at": local(bag.expires_at),
        "handling_text": handling_text(bag), "scan": bag_payload(bag), "qr_svg": render.qr_svg(bag_payload(bag)),
        "code128_svg": render.code128_svg(din_data, width, height), "code128_text": din_data,
        "product_code128_svg": product_data and render.code128_svg(product_data, width, height),
        "product_code128_text": product_data,
        "reprint": number > 1, "number": number, "reprint_reason": reason_on_label(reprint_reason),
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
        _void_earlier_labels(bag, row, user)
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


def _void_earlier_labels(bag, row, user):
    """A reprint voids the label it replaces (SPEC §9): the bag carries one valid label, and the record says which
    print replaced which, so the old one is taken off the bag and destroyed, never used."""
    earlier = db.session.scalars(select(LabelPrint).where(LabelPrint.bag_id == bag.id, LabelPrint.voided_at.is_(None),
                                                          LabelPrint.number < row.number)).all()
    if not earlier:
        return
    db.session.flush()  # the new print's id, which the voided rows name
    for old in earlier:
        before = old.audit_dict()
        old.voided_at, old.voided_by_print_id = utcnow(), row.id
        audit.record("label.voided", old, before=before, reason=f"replaced by print {row.number}", actor=user)


def label_history(bag):
    """Every print of a bag's label, oldest first, each with whether it is void and by which print."""
    return db.session.scalars(select(LabelPrint).where(LabelPrint.bag_id == bag.id)
                              .order_by(LabelPrint.number)).all()


CONTAINER_LABEL_IN = (2, 1)


def container_label(code):
    """A 2 x 1 in cryovial label: the container code as QR and text, the DIN with its check character."""
    container = db.session.scalar(select(Container).where(Container.code == code))
    if container is None:
        raise NotFound(f"no container {code}", code="container_not_found")
    lot = container.lot
    din_text, check = isbt.display(lot.din, lot.check_character)
    din_data, product_data = isbt.code128_data(lot.din), product_code_data(lot.product)
    width, height = CONTAINER_CODE128_IN
    context = {"code": container.code, "product_name": lot.product.name, "product_code": lot.product.code,
               "din_display": din_text, "check_character": check, "fill_volume": f"{container.fill_volume_ml:.1f} mL",
               "expires_on": lot.expires_on.isoformat(), "qr_svg": render.qr_svg(container.code),
               "code128_svg": render.code128_svg(din_data, width, height), "code128_text": din_data,
               "product_code128_svg": product_data and render.code128_svg(product_data, width, height),
               "product_code128_text": product_data}
    width, height = CONTAINER_LABEL_IN
    return render.render_pdf(render.html_for("labels/container_label.html", c=context, width_in=width,
                                             height_in=height))
