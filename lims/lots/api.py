from flask_smorest import Blueprint

from lims.auth.access import current_user, login_required, roles_required
from lims.lots import lookback, notifications, qc_review, schemas, services

blp = Blueprint("lots", __name__, url_prefix="/api/v1", description="Products, donors, lots, QC and release")


@blp.route("/products", methods=["POST"])
@roles_required("admin")
@blp.arguments(schemas.ProductCreateSchema)
@blp.response(201, schemas.ProductSchema)
def create_product(body):
    return services.create_product(body["code"], body["name"], body["post_thaw_stability"], body["storage_text"])


@blp.route("/donors", methods=["POST"])
@roles_required("technician")
@blp.arguments(schemas.DonorCreateSchema)
@blp.response(201, schemas.DonorSchema)
def register_donor(body):
    return services.register_donor(body["code"], body["eligibility"])


@blp.route("/donors/<int:donor_id>/eligibility", methods=["POST"])
@roles_required("qa")
@blp.arguments(schemas.DonorEligibilityRequestSchema)
@blp.response(200)
def determine_donor_eligibility(body, donor_id):
    """Donor look-back (SPEC §5): the signed change, every released lot of the donor put on hold in the same
    transaction; answers {donor, lots_held, lots_unreleasable, subjects_to_notify}."""
    return lookback.determine_donor_eligibility(current_user(), donor_id, body["eligibility"], body["reason"],
                                                body["signature"])


@blp.route("/lots", methods=["POST"])
@roles_required("technician")
@blp.arguments(schemas.LotCreateSchema)
@blp.response(201, schemas.LotSchema)
def register_lot(body):
    return services.register_lot(current_user(), body["product_code"], body["donor_id"], body["manufactured_on"],
                                 body["expires_on"], body["container_count"], body["fill_volume"],
                                 body["dmso_fraction"], body["storage"])


@blp.route("/lots/<int:lot_id>", methods=["GET"])
@login_required
@blp.response(200, schemas.LotSchema)
def get_lot(lot_id):
    return services.get_lot(lot_id)


@blp.route("/lots/<int:lot_id>/qc-results", methods=["POST"])
@roles_required("technician")
@blp.arguments(schemas.QcCreateSchema)
@blp.response(201, schemas.QcResultSchema)
def record_qc_result(body, lot_id):
    return services.record_qc_result(current_user(), lot_id, body["test"], body["result"], body["method"],
                                     body["reason"])


@blp.route("/lots/<int:lot_id>/qc-results", methods=["GET"])
@login_required
@blp.response(200, schemas.QcResultSchema(many=True))
def qc_history(lot_id):
    return services.qc_history(services.get_lot(lot_id))


@blp.route("/lots/<int:lot_id>/evaluation", methods=["GET"])
@login_required
@blp.response(200, schemas.EvaluationSchema)
def evaluation(lot_id):
    return services.evaluate(services.get_lot(lot_id))


@blp.route("/lots/<int:lot_id>/qc-review", methods=["POST"])
@roles_required("qa")
@blp.arguments(schemas.LateQcReviewRequestSchema)
@blp.response(200)
def review_late_qc(body, lot_id):
    """QA signs (meaning `reviewed`) that it read the QC results recorded after release; 409 when none waits."""
    return qc_review.review_late_qc(current_user(), lot_id, body["signature"], body["note"])


@blp.route("/lots/<int:lot_id>/qc-review", methods=["GET"])
@login_required
@blp.response(200)
def late_qc_results(lot_id):
    """Every QC result recorded on the lot after its release, with its review (reviewed_at null while open)."""
    return [qc_review.review_view(f) for f in qc_review.reviews_of(services.get_lot(lot_id))]


@blp.route("/lots/<int:lot_id>/notifications", methods=["POST"])
@roles_required("qa", "investigator")
@blp.arguments(schemas.NotificationRequestSchema)
@blp.response(201)
def record_notification(body, lot_id):
    """A subject infused from a held or recalled lot was told (who: the caller; when: notified_at or now; how)."""
    return notifications.record_notification(current_user(), lot_id, body["subject_id"], body["method"],
                                             body["notified_at"], body["note"])


@blp.route("/lots/<int:lot_id>/notifications", methods=["GET"])
@login_required
@blp.response(200)
def lot_notifications(lot_id):
    return notifications.notifications_of_lot(lot_id)


def _disposition_route(action):
    @roles_required("qa")
    @blp.arguments(schemas.DispositionRequestSchema)
    @blp.response(200, schemas.LotSchema)
    def route(body, lot_id):
        return services.dispose(current_user(), lot_id, action, body["signature"], body["reason"])

    route.__name__ = f"{action}_lot"
    route.__doc__ = f"QA's signed {action} of a lot (SPEC §5)."
    blp.route(f"/lots/<int:lot_id>/{action}", methods=["POST"], endpoint=f"{action}_lot")(route)


for _action in services.TRANSITIONS:
    _disposition_route(_action)
