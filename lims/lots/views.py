"""Lot pages for technicians and QA (issue 3): thin handlers over lims.lots.services."""
from flask import Blueprint

from lims.lots import services

bp = Blueprint("lots_pages", __name__, template_folder="templates")


def technician_dashboard(user):
    quarantined = services.lots_in_status("quarantine")
    return {"role": "technician", "title": "Lots in quarantine",
            "empty": "No lot is waiting in quarantine.",
            "rows": [{"text": f"{lot.din} {lot.check_character} — {lot.product.name}",
                      "detail": f"{len(services.missing_tests(lot))} QC result(s) missing",
                      "href": f"/lots/{lot.id}"} for lot in quarantined]}


def qa_dashboard(user):
    rows = []
    for lot in services.lots_in_status("quarantine", "on_hold"):
        rows.append({"text": f"{lot.din} {lot.check_character} — {lot.status}",
                     "detail": services.evaluate(lot)["status"], "href": f"/lots/{lot.id}"})
    return {"role": "qa", "title": "Release queue and holds", "empty": "Nothing waits for QA.", "rows": rows}
