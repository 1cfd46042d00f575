from flask_smorest import Blueprint

from lims.auth.access import current_user, login_required, roles_required
from lims.doses import schemas, services

blp = Blueprint("doses", __name__, url_prefix="/api/v1", description="Dose plans, preparation and verification")


@blp.route("/doses", methods=["POST"])
@roles_required("pharmacist")
@blp.arguments(schemas.DosePlanRequestSchema)
@blp.response(201, schemas.DoseSchema)
def plan_dose(body):
    return services.plan_dose(current_user(), body["subject_id"], body["lot_id"])


@blp.route("/doses/<int:dose_id>", methods=["GET"])
@login_required
@blp.response(200, schemas.DoseSchema)
def get_dose(dose_id):
    return services.get_dose(dose_id)


@blp.route("/doses/<int:dose_id>/prepare", methods=["POST"])
@roles_required("pharmacist")
@blp.arguments(schemas.PrepareRequestSchema)
@blp.response(200, schemas.DoseSchema)
def prepare_dose(body, dose_id):
    return services.prepare_dose(current_user(), dose_id, body["signature"], body["thawed_at"])


@blp.route("/doses/<int:dose_id>/verify", methods=["POST"])
@roles_required("pharmacist")
@blp.arguments(schemas.VerifyRequestSchema)
@blp.response(200, schemas.DoseSchema)
def verify_dose(body, dose_id):
    """The second pharmacist scans the label on the bag and gives the volume measured in it (SPEC §8): a label
    naming another bag, or a volume more than one step from the plan, is 409 and the attempt is recorded."""
    return services.verify_dose(current_user(), dose_id, body["signature"], body["bag"], body["measured_volume"],
                                body["bag_entry"])
