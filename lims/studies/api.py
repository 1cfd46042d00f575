from flask_smorest import Blueprint

from lims.auth.access import current_user, login_required, roles_required
from lims.studies import follow_up, schemas, services

blp = Blueprint("studies", __name__, url_prefix="/api/v1", description="Studies, cohorts and subjects")


@blp.route("/studies", methods=["POST"])
@roles_required("admin")
@blp.arguments(schemas.StudyCreateSchema)
@blp.response(201, schemas.StudySchema)
def create_study(body):
    return services.create_study(body["code"], body["title"], body["escalation"], body["cohorts"],
                                 body["weight_cap"], body["eligibility"], body["follow_up_days"])


@blp.route("/studies/<int:study_id>/eligibility", methods=["POST"])
@roles_required("admin")
@blp.arguments(schemas.EligibilityRevisionSchema)
@blp.response(201, schemas.StudySchema)
def revise_eligibility(body, study_id):
    """A new version of the study's entry criteria, signed with a reason (an amendment; the earlier versions stay
    with the subjects judged by them)."""
    return services.revise_eligibility(current_user(), study_id, body["eligibility"], body["reason"],
                                       body["signature"])


@blp.route("/studies", methods=["GET"])
@login_required
@blp.response(200, schemas.StudySchema(many=True))
def list_studies():
    return services.list_studies()


@blp.route("/studies/<int:study_id>", methods=["GET"])
@login_required
@blp.response(200, schemas.StudySchema)
def get_study(study_id):
    return services.get_study(study_id)


@blp.route("/studies/<int:study_id>/cohorts/<path:cohort_name>/safety-review", methods=["POST"])
@roles_required("investigator")
@blp.arguments(schemas.SafetyReviewCreateSchema)
@blp.response(201, schemas.SafetyReviewSchema)
def sign_safety_review(body, study_id, cohort_name):
    return services.sign_safety_review(current_user(), study_id, cohort_name, body["signature"], body["decision"],
                                       body["notes"])


@blp.route("/subjects", methods=["POST"])
@roles_required("investigator")
@blp.arguments(schemas.SubjectCreateSchema)
@blp.response(201, schemas.SubjectSchema)
def enrol_subject(body):
    return services.enrol_subject(current_user(), body["study_id"], body["code"], body["wristband"], body["cohort"],
                                  body["weight"], body["weighed_on"], body["eligibility"], body["consent_signed_on"],
                                  body["signature"])


@blp.route("/subjects/<int:subject_id>", methods=["GET"])
@login_required
@blp.response(200, schemas.SubjectSchema)
def get_subject(subject_id):
    return services.get_subject(subject_id)


@blp.route("/subjects/<int:subject_id>/weights", methods=["POST"])
@roles_required("investigator")
@blp.arguments(schemas.WeightCreateSchema)
@blp.response(201, schemas.WeightSchema)
def record_weight(body, subject_id):
    return services.record_weight(current_user(), subject_id, body["weight"], body["weighed_on"],
                                  body["confirm_change"], body["reason"])


@blp.route("/subjects/<int:subject_id>/weights/<int:weight_id>/strike", methods=["POST"])
@roles_required("investigator")
@blp.arguments(schemas.WeightStrikeSchema)
@blp.response(200, schemas.WeightSchema)
def strike_weight(body, subject_id, weight_id):
    return services.strike_weight(current_user(), subject_id, weight_id, body["reason"])


@blp.route("/subjects/<int:subject_id>/follow-up-visits", methods=["POST"])
@roles_required("investigator")
@blp.arguments(schemas.FollowUpVisitCreateSchema)
@blp.response(201, schemas.FollowUpVisitSchema)
def record_follow_up_visit(body, subject_id):
    return follow_up.record_visit(current_user(), subject_id, body["day"], body["done_on"])


@blp.route("/subjects/<int:subject_id>/follow-up-visits", methods=["GET"])
@login_required
@blp.response(200, schemas.FollowUpVisitSchema(many=True))
def follow_up_visits(subject_id):
    return follow_up.visits_of(services.get_subject(subject_id))
