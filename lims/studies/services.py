"""Studies, cohorts and their escalation gates, enrolment and weights (SPEC §6)."""
import json

from flask import current_app
from sqlalchemy import exists, func, select
from sqlalchemy.orm import selectinload

from lims import units
from lims.audit import services as audit
from lims.auth import services as auth
from lims.errors import Conflict, NotFound, invalid
from lims.extensions import db
from lims.studies import eligibility as criteria_rules
from lims.studies.models import (DEFAULT_FOLLOW_UP_DAYS, Cohort, EligibilityAnswer, EligibilityCriterion,
                                 EligibilityVersion, SafetyReview, Study, Subject, SubjectEnrolment, SubjectWeight,
                                 WeightStrike)
from lims.timeutil import aware, site_today, site_zone


def _criteria_version(study, number, criteria, reason=None):
    names = [c["name"] for c in criteria]
    if len(set(names)) != len(names):
        raise invalid("eligibility", "each criterion name once")
    version = EligibilityVersion(study=study, version=number)
    version.criteria = [
        EligibilityCriterion(position=i, name=c["name"], kind=c["kind"], value_json=json.dumps(c["value"]),
                             question=c.get("question"), integer=bool(c.get("integer")), lowest=c.get("lowest"),
                             highest=c.get("highest"))
        for i, c in enumerate(criteria, start=1)]
    db.session.add(version)
    audit.record("study.eligibility_versioned", version, reason=reason)
    return version


def create_study(code, title, escalation, cohorts, weight_cap=None, eligibility=None, follow_up_days=None):
    """A study with its cohorts in order, its entry criteria (version 1, if any) and its follow-up schedule."""
    if db.session.scalar(select(Study.id).where(Study.code == code)) is not None:
        raise Conflict(f"study {code} exists", code="study_exists")
    names = [c["name"] for c in cohorts]
    if len(set(names)) != len(names):
        raise invalid("cohorts", "cohort names must be unique within a study")
    study = Study(code=code, title=title, escalation=escalation,
                  weight_cap_kg=units.magnitude(weight_cap, "mass") if weight_cap is not None else None,
                  follow_up_days_json=json.dumps(sorted(follow_up_days or DEFAULT_FOLLOW_UP_DAYS)))
    study.cohorts = [Cohort(position=i, name=c["name"], dose_cells_per_kg=units.magnitude(c["dose"], "dose"),
                            size=c["size"]) for i, c in enumerate(cohorts, start=1)]
    db.session.add(study)
    audit.record("study.created", study)
    if eligibility:
        _criteria_version(study, 1, eligibility)
    db.session.commit()
    return study


def revise_eligibility(user, study_id, criteria, reason, signature):
    """A new version of the study's entry criteria, a protocol amendment (GCP): it says why, and the administrator
    signs it (`amended`) after re-entering the password; subjects enrolled before keep the version they were judged
    by. Also for a study's first criteria set after its registration: from then on enrolment is judged and signed."""
    if not (reason and reason.strip()):
        raise invalid("reason", "an amendment of the entry criteria needs a reason (the protocol amendment behind it)")
    auth.authenticate_signer(user, signature)
    study = get_study(study_id)
    current = study.eligibility
    version = _criteria_version(study, (current.version if current else 0) + 1, criteria, reason=reason)
    auth.record_signature(user, "amended", version)
    db.session.commit()
    db.session.expire(study, ["eligibility_versions"])
    return study


def _with_cohorts():
    # A study is shown with its cohorts and their reviews: read together, not one review per cohort. Its criteria
    # versions come in one more statement (their criteria in one more).
    return selectinload(Study.cohorts).selectinload(Cohort.review)


def get_study(study_id):
    study = db.session.get(Study, study_id, options=[_with_cohorts(), selectinload(Study.eligibility_versions)])
    if study is None:
        raise NotFound(f"no study {study_id}", code="study_not_found")
    return study


def list_studies():
    return db.session.scalars(select(Study).options(_with_cohorts(), selectinload(Study.eligibility_versions))
                              .order_by(Study.id)).all()


def judge_eligibility(study, answers, consent_signed_on):
    """Every entry criterion of the study's current version, and informed consent, judged against the answers
    (SPEC §6): [{name, question, requirement, answer, met, message}]. Writes nothing; a malformed answer is 422.

    Consent is required for every study with criteria; for a study without, it is optional and judged if given."""
    version = study.eligibility
    if version is None and answers:
        raise invalid("eligibility", f"study {study.code} has no entry criteria to answer")
    criteria = [criteria_rules.Criterion.of(c) for c in version.criteria] if version else []
    registered_on = aware(study.created_at).astimezone(site_zone()).date()
    if consent_signed_on is not None and consent_signed_on < registered_on:
        # Not an unmet criterion but an impossible date (1990 for 2026, a slip of the year): 422, to be corrected.
        raise invalid("consent_signed_on", f"informed consent signed on {consent_signed_on.isoformat()} is before "
                                           f"study {study.code} was registered ({registered_on.isoformat()}): a "
                                           f"subject cannot consent to a study that did not exist; check the date")
    return criteria_rules.evaluate(criteria, answers, consent_signed_on, site_today(),
                                   consent_required=version is not None)


def check_enrolment(study_id, answers, consent_signed_on):
    return judge_eligibility(get_study(study_id), answers, consent_signed_on)


def _refuse_unmet(results):
    unmet = [r for r in results if not r["met"]]
    if unmet:
        raise Conflict("enrolment refused: " + "; ".join(u["message"] for u in unmet), code="eligibility_unmet",
                       fields={u["name"]: [u["message"]] for u in unmet},
                       extra={"unmet": [{"name": u["name"], "message": u["message"]} for u in unmet]})


def _record_enrolment(user, subject, study, results, consent_signed_on, signature):
    version = study.eligibility
    if version is None and consent_signed_on is None and signature is None:
        return None
    enrolment = SubjectEnrolment(subject=subject, eligibility_version=version, consent_signed_on=consent_signed_on)
    by_name = {r["name"]: r for r in results}
    enrolment.answers = [EligibilityAnswer(criterion=c, met=by_name[c.name]["met"],
                                           answer_json=json.dumps(criteria_rules.stored(by_name[c.name]["answer"])))
                         for c in (version.criteria if version else [])]
    db.session.add(enrolment)
    audit.record("subject.eligibility_recorded", enrolment)
    if signature is not None:
        # The enrolling investigator signs the answers and the consent date as they stand (SPEC §6, §4).
        enrolment.signature = auth.record_signature(user, "enrolled", enrolment)
    return enrolment


def cohort_by_name(study, name, lock=False):
    query = select(Cohort).where(Cohort.study_id == study.id, Cohort.name == name)
    # Locked, the row is read again as it now stands (populate_existing): the study, read before the lock, holds the
    # count as it was, and another enrolment may have taken the last place while this one waited for the lock.
    cohort = db.session.scalar(query.with_for_update().execution_options(populate_existing=True) if lock else query)
    if cohort is None:
        raise NotFound(f"study {study.code} has no cohort {name!r}", code="cohort_not_found")
    return cohort


def _counts(study):
    """Enrolled and infused subjects of each cohort, from the cohorts' own counters (no statement: the study's
    cohorts are loaded with it)."""
    return ({c.id: c.enrolled_count for c in study.cohorts}, {c.id: c.infused_count for c in study.cohorts})


def cohort_states(study):
    """Each cohort with its enrolment and status: not_open, open, full, awaiting_review, reviewed or stopped.

    Sequential escalation opens a cohort only when the one before it is full, every subject in it infused and its
    safety review signed with the decision to proceed.
    """
    enrolled, infused = _counts(study)
    states, previous = [], None
    for cohort in study.cohorts:
        n, done = enrolled.get(cohort.id, 0), infused.get(cohort.id, 0)
        opened = study.escalation == "none" or previous is None or (
            previous["review"] is not None and previous["review"].decision == "proceed")
        full, wholly_infused = n >= cohort.size, n >= cohort.size and done >= cohort.size
        if not opened:
            status = "not_open"
        elif cohort.review is not None:
            status = "reviewed" if cohort.review.decision == "proceed" else "stopped"
        elif full and wholly_infused and study.escalation == "sequential":
            status = "awaiting_review"
        elif full:
            status = "full"
        else:
            status = "open"
        state = {"cohort": cohort, "name": cohort.name, "dose": cohort.dose, "size": cohort.size, "enrolled": n,
                 "infused": done, "status": status, "review": cohort.review, "wholly_infused": wholly_infused}
        states.append(state)
        previous = state
    return states


def state_of(study, cohort):
    return next(s for s in cohort_states(study) if s["cohort"].id == cohort.id)


def enrol_subject(user, study_id, code, wristband, cohort_name, weight, weighed_on, answers=None,
                  consent_signed_on=None, signature=None):
    """Enrols a subject into an open cohort. Into a study with entry criteria, every criterion is judged and the
    answers kept, signed by the investigator (`enrolled`); any not met or not answered refuses it (409, each listed)."""
    study = get_study(study_id)
    if study.eligibility is not None and signature is None:
        raise invalid("signature", "an enrolment into a study with entry criteria is signed: re-enter your password")
    if signature is not None:
        auth.authenticate_signer(user, signature)
    results = judge_eligibility(study, answers, consent_signed_on)
    _refuse_unmet(results)
    cohort = cohort_by_name(study, cohort_name, lock=True)  # the lock makes "one place left" hold for one subject
    state = state_of(study, cohort)
    if state["status"] != "open":
        reason = {"not_open": "is not open yet (the previous cohort must be full, infused and reviewed)",
                  "stopped": "was stopped by its safety review"}.get(state["status"], "is full")
        raise Conflict(f"cohort {cohort.name} {reason}", code="cohort_not_open",
                       extra={"cohort_status": state["status"]})
    # Whatever its case (the unique index's expression, lower() of each database): mrn-0001 is MRN-0001 on a wrist.
    taken = db.session.scalar(select(Subject.wristband).where(func.lower(Subject.wristband) == func.lower(wristband)))
    if taken is not None:
        raise Conflict(f"wristband {wristband} is already enrolled"
                       + ("" if taken == wristband else f" (as {taken}: wristbands are the same whatever their case)"),
                       code="wristband_taken")
    if db.session.scalar(select(Subject.id).where(Subject.study_id == study.id, Subject.code == code)) is not None:
        raise Conflict(f"subject {code} is already enrolled in {study.code}", code="subject_exists")
    subject = Subject(study=study, cohort=cohort, code=code, wristband=wristband, enrolled_by_id=user.id)
    db.session.add(subject)
    cohort.enrolled_count = Cohort.enrolled_count + 1  # in SQL: the row is locked, the count cannot be stale
    audit.record("subject.enrolled", subject)
    _add_weight(user, subject, weight, weighed_on)
    _record_enrolment(user, subject, study, results, consent_signed_on, signature)
    db.session.commit()
    return subject


def get_subject(subject_id):
    subject = db.session.get(Subject, subject_id)
    if subject is None:
        raise NotFound(f"no subject {subject_id}", code="subject_not_found")
    return subject


def subject_by_wristband(wristband):
    return db.session.scalar(select(Subject).where(Subject.wristband == wristband))


def _add_weight(user, subject, weight, weighed_on, reason=None):
    q, entered = weight
    kg = units.magnitude(q, "mass")
    if not 20 <= kg <= 300:
        # Say what was typed as well: "72 mg" is a slip of the unit, and "0.0 kg" alone would hide it.
        raise invalid("weight", f"{entered} ({units.scientific(kg, 4)} kg) is outside the plausible 20–300 kg for "
                                f"a body weight; check the unit (kg or lb)")
    if weighed_on > site_today():
        raise invalid("weighed_on", "a weighing date cannot be after today")
    row = SubjectWeight(subject=subject, weight_kg=kg, entered=entered, weighed_on=weighed_on,
                        recorded_by_id=user.id)
    db.session.add(row)
    audit.record("subject.weighed", row, reason=reason)
    return row


def _tenth(value):
    return f"{value:.1f}".removesuffix(".0")


def in_kg_and_lb(kg):
    """72.6 kg (160 lb): both units, because the slip this check catches is the one between them."""
    return f"{_tenth(kg)} kg ({_tenth(units.of(kg, 'mass').to('lb').magnitude)} lb)"


def weight_change(previous, kg):
    """The change from the latest weight that counts, in percent of it, and whether it needs confirming."""
    change = 100 * (kg - previous.weight_kg) / previous.weight_kg
    return change, abs(change) > float(current_app.config["LIMS_WEIGHT_CHANGE_CONFIRM_PERCENT"])


def record_weight(user, subject_id, weight, weighed_on, confirm_change=False, reason=None):
    """A new dated weight. One more than 10 % (setting) from the latest weight that counts is the classic lb/kg slip
    (160 lb typed as 160 kg doubles the dose): refused (409) naming both weights, unless the request confirms the
    change and says why; the reason is kept in the audit row."""
    subject = get_subject(subject_id)
    if confirm_change and not reason:
        raise invalid("reason", "say why the weight changed so much (for example: re-weighed after admission)")
    previous = latest_weight(subject)
    kg = units.magnitude(weight[0], "mass")
    if previous is not None and 20 <= kg <= 300:
        change, needs_confirming = weight_change(previous, kg)
        if needs_confirming and not confirm_change:
            limit = current_app.config["LIMS_WEIGHT_CHANGE_CONFIRM_PERCENT"]
            raise Conflict(
                f"{_tenth(previous.weight_kg)} kg → {_tenth(kg)} kg: the new weight differs from the latest "
                f"({in_kg_and_lb(previous.weight_kg)} on {previous.weighed_on.isoformat()}) by {change:+.0f} %, more "
                f"than {limit:g} %; check the unit, or confirm the change with a reason",
                code="weight_change_unconfirmed",
                extra={"previous_weight": units.dump(previous.weight, "mass"),
                       "previous_weighed_on": previous.weighed_on.isoformat(),
                       "new_weight": units.dump(weight[0], "mass"), "change_percent": round(change, 1)})
    row = _add_weight(user, subject, weight, weighed_on, reason=reason if confirm_change else None)
    db.session.commit()
    return row


def _current(query):
    return query.where(~exists().where(WeightStrike.weight_id == SubjectWeight.id))


def latest_weight(subject):
    """The latest weight that counts: a struck weight (entered in error) is never a dose's basis (SPEC §6, §7)."""
    return db.session.scalar(_current(select(SubjectWeight).where(SubjectWeight.subject_id == subject.id))
                             .order_by(SubjectWeight.weighed_on.desc(), SubjectWeight.id.desc()).limit(1))


def strike_weight(user, subject_id, weight_id, reason):
    """Strikes through a weight entered in error, with the reason; the row stays (never deleted). A weight a current
    dose was computed from is refused: the pharmacy plans again from the right weight first, so no dose stands on a
    weight the record says was wrong."""
    from lims.doses.models import Dose
    subject = get_subject(subject_id)
    row = db.session.scalar(select(SubjectWeight).where(SubjectWeight.id == weight_id,
                                                         SubjectWeight.subject_id == subject.id).with_for_update())
    if row is None:
        raise NotFound(f"subject {subject.code} has no weight {weight_id}", code="weight_not_found")
    if row.strike is not None:
        raise Conflict(f"the weight of {row.weighed_on.isoformat()} ({row.entered}) is already struck through",
                       code="weight_already_struck")
    dose = db.session.scalar(select(Dose.id).where(Dose.weight_id == row.id, Dose.status != "superseded").limit(1))
    if dose is not None:
        raise Conflict(f"dose {dose} was planned from this weight ({row.entered}); record the right weight and have "
                       f"the pharmacy plan the dose again before striking it", code="weight_in_use",
                       extra={"dose_id": dose})
    strike = WeightStrike(weight_row=row, reason=reason, struck_by_id=user.id)
    db.session.add(strike)
    audit.record("subject.weight_struck", entity="subject_weights", entity_id=row.id,
                 before={**row.audit_dict(), "struck": False}, after={**row.audit_dict(), "struck": True},
                 reason=reason)
    db.session.commit()
    return row


def sign_safety_review(user, study_id, cohort_name, signature, decision="proceed", notes=None):
    auth.authenticate_signer(user, signature)
    study = get_study(study_id)
    cohort = cohort_by_name(study, cohort_name, lock=True)
    state = state_of(study, cohort)
    if cohort.review is not None:
        raise Conflict(f"cohort {cohort.name} was already reviewed", code="already_reviewed")
    if not state["wholly_infused"]:
        raise Conflict(f"cohort {cohort.name} is not yet full and wholly infused "
                       f"({state['enrolled']}/{cohort.size} enrolled, {state['infused']} infused)",
                       code="cohort_not_complete", extra={"cohort_status": state["status"]})
    if decision == "proceed":
        # A serious event possibly (or more) related to the product stands in the cohort: the board may stop, not
        # proceed (SPEC §6). Superseded versions do not count; a correction to "unrelated" lifts the bar.
        from lims.safety.services import blocking_events
        blocking = blocking_events(cohort.id)
        if blocking:
            named = "; ".join(f"#{e.id} {e.term} (subject {e.subject.code}, grade {e.grade}, {e.relatedness})"
                              for e in blocking)
            raise Conflict(f"cohort {cohort.name} cannot proceed: serious related adverse event(s) stand: {named}",
                           code="serious_related_events",
                           extra={"adverse_events": [{"id": e.id, "term": e.term, "subject": e.subject.code,
                                                      "grade": e.grade, "relatedness": e.relatedness}
                                                     for e in blocking]})
    review = SafetyReview(cohort=cohort, decision=decision, notes=notes, reviewed_by_id=user.id)
    db.session.add(review)
    review.signature = auth.record_signature(user, "reviewed", review)
    audit.record("cohort.reviewed", review)
    db.session.commit()
    return review


# --- reads for the investigator's pages ------------------------------------------------------------------------

def subjects_in(study):
    """The study's subjects in enrolment order (every one: for exports and tests, not for a page)."""
    return db.session.scalars(select(Subject).where(Subject.study_id == study.id).order_by(Subject.id)).all()


SUBJECT_STAGES = ("awaiting_infusion", "infused")


def subjects_page(study, cursor=None, cohort_id=None, stage=None, since=None, until=None, limit=50):
    """One page of the study's subjects in enrolment order (paging.Page), each with its weights; filtered by cohort,
    by stage (awaiting infusion or infused) and by enrolment period ([since, until) in UTC)."""
    from sqlalchemy.orm import selectinload

    from lims.paging import keyset_page
    query = select(Subject).where(Subject.study_id == study.id).options(selectinload(Subject.weights))
    if cohort_id is not None:
        query = query.where(Subject.cohort_id == cohort_id)
    if stage == "infused":
        query = query.where(Subject.infused_at.is_not(None))
    elif stage == "awaiting_infusion":
        query = query.where(Subject.infused_at.is_(None))
    if since is not None:
        query = query.where(Subject.enrolled_at >= since)
    if until is not None:
        query = query.where(Subject.enrolled_at < until)
    return keyset_page(query, (Subject.id,), cursor=cursor, limit=limit)
