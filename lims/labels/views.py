"""The dose page's label print (issue 5, 17): the same print service as the API route, with the session.

Printing is counted, so on pages it is a POST form with its CSRF token (SPEC §9): no page GET prints. The answer
is a download (attachment) so the browser hands the PDF to the label printer's driver rather than replacing the
dose page. A refusal (a reprint without a reason) is the dose page with the refusal beside the form, never a PDF.
"""
from flask import Blueprint, Response, request

from lims.auth.access import current_user, roles_required
from lims.errors import LimsError
from lims.labels import services
from lims.labels.api import LabelQuerySchema
from lims.pages import load_form

bp = Blueprint("labels_pages", __name__)


@bp.route("/bags/<code>/label.pdf", methods=["POST"])
@roles_required("pharmacist")
def print_bag_label(code):
    try:
        query = load_form(LabelQuerySchema(), request.form)
        pdf = services.print_labels(current_user(), [code], query["reprint_reason"])
    except LimsError as e:
        return _refused_on_dose_page(e, code)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{code}.pdf"',
                             "Cache-Control": "no-store"})


def _refused_on_dose_page(error, code):
    from lims.doses.services import bag_by_code
    from lims.doses.views import refuse_on_dose_page
    try:
        dose_id = bag_by_code(code).dose_id
    except LimsError:
        raise error from None  # no such bag: the error page says so
    return refuse_on_dose_page(error, dose_id, "label")
