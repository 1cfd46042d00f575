"""The certificate of analysis of a released lot (SPEC §5): product, DIN with its check character, donor, dates,
the specification version, every test with its requirement, result, method, who recorded it and when, met or not,
and QA's release signature. Built from the same evaluation the release was signed on, never typed again."""
from flask import render_template
from sqlalchemy import select

from lims.errors import Conflict
from lims.extensions import db
from lims.lots import services as lots
from lims.lots.models import LotDisposition
from lims.reports.render import render_pdf
from lims.timeutil import utcnow


def _shown(result):
    if result is None:
        return None
    return f"{result['value']:g} {result['unit']}" if isinstance(result, dict) else str(result)


def _release_signature(lot):
    """The signature of the release that put the lot where it is now (a lot released again after a hold has the
    later one)."""
    disposition = db.session.scalar(select(LotDisposition).where(LotDisposition.lot_id == lot.id,
                                                                 LotDisposition.to_status == "released")
                                    .order_by(LotDisposition.id.desc()).limit(1))
    return disposition.signature if disposition is not None else None


def certificate_of_analysis(lot_id):
    """What the certificate states, as a dict; 409 for a lot that is not released (a certificate of a lot in
    quarantine, on hold, rejected or recalled would certify what QA has not, or no longer)."""
    lot = lots.get_lot(lot_id)
    if lot.status != "released":
        raise Conflict(f"lot {lot.printed_number} is {lot.status.replace('_', ' ')}: only a released lot has a "
                       f"certificate of analysis", code="lot_not_released", extra={"status": lot.status})
    evaluation = lots.evaluate(lot)
    results = lots.current_results(lot)
    tests = []
    for requirement, criterion in zip(lot.spec.requirements, evaluation["criteria"], strict=True):
        result = results.get(requirement.test)
        tests.append({"test": requirement.test, "requirement": criterion["requirement"],
                      "result": _shown(criterion["result"]),
                      "method": result.method if result else None,
                      "recorded_by": result.recorded_by.full_name if result else None,
                      "recorded_at": result.recorded_at if result else None,
                      "correction": result.reason if result and result.supersedes_id else None,
                      "met": criterion["met"]})
    return {"lot": lot, "printed_number": lot.printed_number, "product": lot.product, "donor": lot.donor,
            "spec": lot.spec, "evaluation": evaluation["status"], "tests": tests,
            "release": _release_signature(lot)}


def certificate_pdf(lot_id, user):
    certificate = certificate_of_analysis(lot_id)
    html = render_template("reports/certificate.html", c=certificate, made_by=user, made_at=utcnow())
    return render_pdf(html), certificate["lot"]
