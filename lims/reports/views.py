"""The records as pages and CSV (SPEC §17): the certificate of analysis from the lot page, and the reports."""
import csv
import io

from flask import Blueprint, Response, render_template, stream_with_context

from lims.auth.access import current_user, login_required, roles_required
from lims import spreadsheet
from lims.reports import services
from lims.reports.api import certificate_response
from lims.timeutil import iso

bp = Blueprint("reports_pages", __name__, template_folder="templates")

INFUSION_LOG_ROLES = ("investigator", "qa", "admin")
ACCOUNTABILITY_ROLES = ("qa", "technician", "pharmacist", "admin")
NEAR_MISS_ROLES = ("qa", "admin")


def _csv(filename, header, rows):
    """A report as CSV, written row by row; times in UTC (ISO 8601, Z), as an electronic copy keeps them. Text that a
    spreadsheet would run as a formula (a reaction typed as `=HYPERLINK(...)`) is neutralised (lims.spreadsheet)."""
    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(spreadsheet.row(row))
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()
    return Response(stream_with_context(lines()), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.route("/lots/<int:lot_id>/certificate.pdf")
@login_required
def lot_certificate(lot_id):
    return certificate_response(lot_id)


@bp.route("/reports")
@roles_required(*sorted(set(INFUSION_LOG_ROLES + ACCOUNTABILITY_ROLES + NEAR_MISS_ROLES)))
def reports_index():
    from sqlalchemy import select

    from lims.extensions import db
    from lims.studies.models import Study
    me = current_user()
    studies = db.session.execute(select(Study.id, Study.code, Study.title).order_by(Study.code)).all()
    return render_template("reports/index.html", studies=studies if me.has_role(*INFUSION_LOG_ROLES) else [],
                           accountability=me.has_role(*ACCOUNTABILITY_ROLES), near_misses=me.has_role(*NEAR_MISS_ROLES))


@bp.route("/reports/studies/<int:study_id>/infusions")
@roles_required(*INFUSION_LOG_ROLES)
def infusion_log(study_id):
    study, log = services.infusion_log(study_id)
    return render_template("reports/infusion_log.html", study=study, log=log)


INFUSION_COLUMNS = ("subject", "cohort", "bag", "lot", "cohort_dose_cells_per_kg", "dosing_weight_kg",
                    "planned_volume_ml", "volume_infused_ml", "delivered_cells", "started_at_utc",
                    "completed_at_utc", "nurse", "witness", "signed_at_utc", "reactions")


@bp.route("/reports/studies/<int:study_id>/infusions.csv")
@roles_required(*INFUSION_LOG_ROLES)
def infusion_log_csv(study_id):
    study, log = services.infusion_log(study_id)
    rows = ([r["subject"], r["cohort"], r["bag"], r["lot"], f"{r['cohort_dose_cells_per_kg']:g}",
             f"{r['dosing_weight_kg']:g}", f"{r['planned_volume_ml']:g}", f"{r['volume_infused_ml']:g}",
             f"{r['delivered_cells']:g}", iso(r["started_at"]), iso(r["completed_at"]), r["nurse"], r["witness"],
             iso(r["signed_at"]), "; ".join(r["reactions"])] for r in log)
    return _csv(f"infusion-log-{study.code}.csv", INFUSION_COLUMNS, rows)


ACCOUNTABILITY_COLUMNS = ("lot", "product", "status", "registered", "in_storage", "retrieved", "thawed",
                          "discarded", "thawed_infused", "thawed_in_circulation", "thawed_returned",
                          "thawed_bag_discarded", "accounted", "balanced")


@bp.route("/reports/accountability")
@roles_required(*ACCOUNTABILITY_ROLES)
def accountability():
    return render_template("reports/accountability.html", lots=services.accountability())


@bp.route("/reports/accountability.csv")
@roles_required(*ACCOUNTABILITY_ROLES)
def accountability_csv():
    rows = ([r[c] if c != "balanced" else ("yes" if r[c] else "NO") for c in ACCOUNTABILITY_COLUMNS]
            for r in services.accountability())
    return _csv("lot-accountability.csv", ACCOUNTABILITY_COLUMNS, rows)


@bp.route("/reports/near-misses")
@roles_required(*NEAR_MISS_ROLES)
def near_misses():
    months, checks = services.near_misses_by_month()
    return render_template("reports/near_misses.html", months=months, checks=checks)


@bp.route("/reports/near-misses.csv")
@roles_required(*NEAR_MISS_ROLES)
def near_misses_csv():
    months, checks = services.near_misses_by_month()
    rows = ([m["month"], m["total"], *(m["by_check"].get(c, 0) for c in checks)] for m in months)
    return _csv("near-misses-by-month.csv", ("month", "near_misses", *checks), rows)



