"""The label print button of the dose page (issue 5): the same print service as the API route, with the session.

A print is a download (attachment) so the browser hands the PDF to the label printer's driver rather than replacing
the dose page. A refusal (not verified, a reprint without a reason) is an HTML error page, never a PDF.
"""
from flask import Blueprint, Response, request

from lims.auth.access import current_user, roles_required
from lims.extensions import writes_on_read
from lims.labels import services
from lims.labels.api import LabelQuerySchema
from lims.pages import load_form

bp = Blueprint("labels_pages", __name__)


@bp.route("/bags/<code>/label.pdf", methods=["GET"])
@writes_on_read
@roles_required("pharmacist")
def print_bag_label(code):
    query = load_form(LabelQuerySchema(), request.args)
    pdf = services.print_labels(current_user(), [code], query["reprint_reason"])
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{code}.pdf"',
                             "Cache-Control": "no-store"})
