from flask import jsonify
from flask_smorest import Blueprint

from lims.auth.access import current_user, login_required, roles_required
from lims.chainofcustody import schemas, services, trace
from lims.doses.services import bag_by_code, bag_view
from lims.errors import error_body
from lims.lots import services as lots
from lims.studies import services as studies
from lims.timeutil import iso

blp = Blueprint("custody", __name__, url_prefix="/api/v1", description="Chain of custody, bedside and infusion")


@blp.route("/custody/events", methods=["POST"])
@roles_required("pharmacist", "nurse")
@blp.arguments(schemas.CustodyEventRequestSchema)
@blp.response(201)
def record_custody_event(body):
    """A scanned move; who may make it depends on the event (SPEC §10)."""
    bag = services.move_bag(current_user(), body["bag"], body["event"], body["location"], body["scan_entry"],
                            reason=body["reason"])
    return bag_view(bag)


@blp.route("/bags/<code>/custody", methods=["GET"])
@login_required
@blp.response(200)
def bag_custody(code):
    return [trace.event_view(e) for e in services.custody_timeline(bag_by_code(code))]


@blp.route("/bags/<code>", methods=["GET"])
@login_required
@blp.response(200)
def get_bag(code):
    return bag_view(bag_by_code(code))


@blp.route("/bedside/verify", methods=["POST"])
@roles_required("nurse")
@blp.arguments(schemas.BedsideRequestSchema)
@blp.response(200)
@blp.alt_response(409, description="a failed check: {ok: false, failures: [...]}")
def bedside_verify(body):
    result = services.verify_at_bedside(current_user(), body["bag"], body["wristband"], body["witness"]["username"],
                                        body["witness"]["password"], body["location"],
                                        entries={"bag": body["bag_entry"], "wristband": body["wristband_entry"]})
    if not result["ok"]:
        stop = "STOP: " + "; ".join(f["message"] for f in result["failures"])
        return jsonify(dict(result, **error_body(409, "bedside_check_failed", stop))), 409
    return result


@blp.route("/bags/<code>/infusion", methods=["POST"])
@roles_required("nurse")
@blp.arguments(schemas.InfusionRequestSchema)
@blp.response(201)
def record_infusion(body, code):
    infusion = services.record_infusion(current_user(), code, body["started_at"], body["completed_at"],
                                        body["volume_infused"], body["reactions"], body["signature"])
    return {"id": infusion.id, "bag": code, "started_at": iso(infusion.started_at),
            "completed_at": iso(infusion.completed_at),
            "volume_infused": {"value": infusion.volume_infused_ml, "unit": "mL"},
            "signature": {"printed_name": infusion.signature.printed_name, "meaning": "administered",
                          "signed_at": iso(infusion.signature.signed_at)}}


@blp.route("/lots/<int:lot_id>/trace", methods=["GET"])
@login_required
@blp.response(200)
def lot_trace(lot_id):
    return trace.lot_trace(lots.get_lot(lot_id))


@blp.route("/subjects/<int:subject_id>/trace", methods=["GET"])
@login_required
@blp.response(200)
def subject_trace(subject_id):
    return trace.subject_trace(studies.get_subject(subject_id))
