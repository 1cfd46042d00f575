from flask import Response
from flask_smorest import Blueprint
from marshmallow import fields

from lims.auth.access import current_user, roles_required
from lims.extensions import writes_on_read
from lims.labels import services
from lims.schemas import StrictSchema, identifier, text

blp = Blueprint("labels", __name__, url_prefix="/api/v1", description="Bag labels", template_folder="templates")


class LabelQuerySchema(StrictSchema):
    reprint_reason = text(500, load_default=None)


class BatchSchema(StrictSchema):
    bags = fields.List(identifier(128), required=True)
    reprint_reason = text(500, load_default=None)


@blp.route("/bags/<code>/label.pdf", methods=["GET"])
@writes_on_read
@roles_required("pharmacist")
@blp.arguments(LabelQuerySchema, location="query")
@blp.response(200, content_type="application/pdf")
def bag_label(query, code):
    pdf = services.print_labels(current_user(), [code], query["reprint_reason"])
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{code}.pdf"'})


@blp.route("/bags/<code>/label.zpl", methods=["GET"])
@writes_on_read
@roles_required("pharmacist")
@blp.arguments(LabelQuerySchema, location="query")
@blp.response(200, content_type="application/zpl")
def bag_label_zpl(query, code):
    """The same label as ZPL II for Zebra printers: printed and counted exactly as the PDF is (issue 5)."""
    document = services.print_labels(current_user(), [code], query["reprint_reason"], output_format="zpl")
    return Response(document, mimetype="application/zpl",
                    headers={"Content-Disposition": f'attachment; filename="{code}.zpl"'})


@blp.route("/containers/<code>/label.pdf", methods=["GET"])
@roles_required("technician", "pharmacist")
@blp.response(200, content_type="application/pdf")
def container_label(code):
    """A 2 x 1 in container label with the container code as QR (issue 5)."""
    return Response(services.container_label(code), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{code}.pdf"'})


@blp.route("/labels/batch.pdf", methods=["POST"])
@roles_required("pharmacist")
@blp.arguments(BatchSchema)
@blp.response(200, content_type="application/pdf")
def batch_labels(body):
    pdf = services.print_labels(current_user(), body["bags"], body["reprint_reason"])
    return Response(pdf, mimetype="application/pdf")
