from flask_smorest import Blueprint

from lims.auth.access import current_user, login_required, roles_required
from lims.safety import schemas, services

blp = Blueprint("safety", __name__, url_prefix="/api/v1", description="Adverse events (biovigilance)")


@blp.route("/subjects/<int:subject_id>/adverse-events", methods=["POST"])
@roles_required("investigator", "nurse")
@blp.arguments(schemas.AdverseEventCreateSchema)
@blp.response(201, schemas.AdverseEventSchema)
def record_event(body, subject_id):
    return services.record_event(current_user(), subject_id, body)


@blp.route("/adverse-events/<int:event_id>/supersede", methods=["POST"])
@roles_required("investigator", "nurse")
@blp.arguments(schemas.AdverseEventSupersedeSchema)
@blp.response(201, schemas.AdverseEventSchema)
def supersede_event(body, event_id):
    reason = body.pop("reason")
    return services.supersede_event(current_user(), event_id, body, reason)


@blp.route("/subjects/<int:subject_id>/adverse-events", methods=["GET"])
@login_required
@blp.response(200, schemas.AdverseEventListSchema)
def subject_events(subject_id):
    return services.subject_events(subject_id)


@blp.route("/lots/<int:lot_id>/adverse-events", methods=["GET"])
@login_required
@blp.response(200, schemas.AdverseEventListSchema)
def lot_events(lot_id):
    return services.lot_events(lot_id)
