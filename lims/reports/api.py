"""The certificate of analysis over the API (SPEC §13): any signed-in user, released lots only (409 otherwise)."""
from flask import Response
from flask_smorest import Blueprint

from lims.auth.access import current_user, login_required
from lims.reports.certificate import certificate_pdf

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Records: certificates of analysis")


def certificate_response(lot_id):
    pdf, lot = certificate_pdf(lot_id, current_user())
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="certificate-{lot.din}.pdf"'})


@blp.route("/lots/<int:lot_id>/certificate.pdf", methods=["GET"])
@login_required
@blp.response(200, content_type="application/pdf")
def lot_certificate(lot_id):
    return certificate_response(lot_id)
