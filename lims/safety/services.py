"""Adverse events (SPEC §6): recorded by an investigator or a nurse, corrected only by superseding with a reason,
each linked to the bag, lot and donor the subject received, so that a lot's events can be listed (biovigilance).

Seriousness is not free (ICH E2A): an event that is life-threatening (CTCAE grade 4) or results in death (grade 5,
outcome `fatal`) is serious by definition. An event graded so but not marked serious is refused (422 naming
`serious`) at recording and at superseding, rather than marked serious behind the recorder's back: the person
recording it corrects it, and the escalation gate cannot be walked past by an unticked box. Rows recorded before
that rule (commit 0ed6ec1) may still say serious=false at grade 4/5: every reader of seriousness (the gate, the
home pages, the tables) reads `AdverseEvent.counts_as_serious`, one rule in Python and SQL, not the bare flag.
Grade 5 is death, so it goes with the outcome `fatal` and only with it (422 naming `grade` or `outcome`): CTCAE
defines grade 5 as death related to the event, so a fatal outcome below grade 5 is refused too (a subject who
died of another cause has that other event graded 5; this one keeps the outcome it had).

Causality (relatedness) and seriousness are the investigator's judgement in a trial (ICH E6 4.11, E2A): a nurse
records an event with her first assessment of both, but a correction that changes the relatedness or the
seriousness of an event needs the investigator role (403 `investigator_judgement`). A nurse may still correct
the rest (term, onset, grade, outcome, description) so long as the seriousness stays consistent with it.

Linking: only to the bag the subject was infused with, and only for an onset on or after the infusion's day (see
`_received`). An onset before consent or enrolment is accepted as a pre-treatment event, unlinked, rather than
refused (a decision): the report is kept on the subject, and it can never be counted after a lot.
"""
from sqlalchemy import select

from lims.audit import services as audit
from lims.errors import Conflict, Forbidden, Invalid, NotFound
from lims.extensions import db
from lims.safety.models import RELATED, AdverseEvent
from lims.timeutil import aware, site_today, site_zone

FIELDS = ("term", "onset_on", "grade", "serious", "relatedness", "outcome", "description")
# A reaction typed on the infusion record is graded by nobody yet: the mildest grade, not serious, "possible"
# (it followed the infusion), outcome unknown, flagged for the investigator to complete by superseding.
REACTION_DEFAULTS = {"grade": 1, "serious": False, "relatedness": "possible", "outcome": "unknown"}


def _received(subject_id, onset_on):
    """The bag the subject was infused with, when the event began on or after the infusion's day (site zone); None
    otherwise. An event of a subject never infused, or one whose onset precedes the infusion, is a pre-treatment
    event: it stays on the subject, unlinked, and is not listed under a lot it cannot follow (SPEC §6, "every event
    after that lot"). A bag only prepared, dispensed or returned was not received."""
    from lims.chainofcustody.models import Infusion
    from lims.doses.models import Bag
    infusion = db.session.scalars(select(Infusion).where(Infusion.subject_id == subject_id)
                                  .order_by(Infusion.started_at.desc(), Infusion.id.desc()).limit(1)).first()
    if infusion is None or onset_on < aware(infusion.started_at).astimezone(site_zone()).date():
        return None
    return db.session.get(Bag, infusion.bag_id)


def _link(event, bag):
    event.bag_id, event.lot_id, event.donor_id = (bag.id, bag.lot_id, bag.lot.donor_id) if bag else (None, None, None)


def _subject(subject_id):
    from lims.studies.models import Subject
    subject = db.session.get(Subject, subject_id)
    if subject is None:
        raise NotFound(f"no subject {subject_id}", code="subject_not_found")
    return subject


SERIOUS_BY_DEFINITION = ("a grade 4 or 5 event, or a fatal outcome, is serious by definition (ICH E2A): "
                         "mark it serious")


def _check(values):
    """Every inconsistency of the values at once, each naming its field (422); none writes a row."""
    problems = {}
    if values["onset_on"] > site_today():
        problems["onset_on"] = "an onset date cannot be after today"
    grade, outcome = values["grade"], values["outcome"]
    if grade == 5 and outcome != "fatal":
        problems["outcome"] = ("grade 5 is death (CTCAE): its outcome is fatal; "
                               "an event the subject survived is graded 1 to 4")
    if outcome == "fatal" and grade != 5:
        problems["grade"] = f"a fatal outcome is grade 5 (CTCAE: death), not grade {grade}"
    if (grade >= 4 or outcome == "fatal") and not values["serious"]:
        problems["serious"] = SERIOUS_BY_DEFINITION
    if problems:
        raise Invalid("; ".join(f"{field}: {message}" for field, message in problems.items()),
                      fields={field: [message] for field, message in problems.items()})


def _check_judgement(user, old, values):
    """A change of causality or seriousness is the investigator's (see the module's docstring)."""
    # Seriousness as it counts, not the stored flag: ticking the box of an old grade 4 row recorded unticked
    # changes nothing anybody reads, so a nurse correcting its term may (must) tick it.
    judged = {"relatedness": (old.relatedness, values["relatedness"]),
              "serious": (old.counts_as_serious, values["serious"] or values["grade"] >= 4
                          or values["outcome"] == "fatal")}
    changed = [name for name, (was, now) in judged.items() if was != now]
    if changed and not user.has_role("investigator"):
        words = " and ".join("relatedness (causality)" if n == "relatedness" else "seriousness" for n in changed)
        raise Forbidden(f"only an investigator may change the {words} of an adverse event: it is the "
                        "investigator's judgement; ask the investigator to record the correction",
                        code="investigator_judgement", fields={n: ["an investigator's judgement"] for n in changed})


def add_event(user, subject, values, from_infusion=False, bag=None):
    """Queue one event in the caller's transaction (the infusion record adds its reactions this way)."""
    event = AdverseEvent(subject_id=subject.id, recorded_by_id=user.id, from_infusion=from_infusion,
                         **{k: values.get(k) for k in FIELDS})
    _link(event, bag if bag is not None else _received(subject.id, values["onset_on"]))
    db.session.add(event)
    audit.record("adverse_event.recorded", event)
    return event


def record_event(user, subject_id, values):
    subject = _subject(subject_id)
    _check(values)
    event = add_event(user, subject, values)
    db.session.commit()
    return event


def record_reactions(user, subject, bag, reactions, onset_on):
    """The infusion's reactions as adverse events, in the infusion's transaction (the caller commits)."""
    for reaction in reactions or ():
        add_event(user, subject, dict(REACTION_DEFAULTS, term=reaction[:200], onset_on=onset_on,
                                      description=reaction), from_infusion=True, bag=bag)


def get_event(event_id, lock=False):
    query = select(AdverseEvent).where(AdverseEvent.id == event_id)
    event = db.session.scalar(query.with_for_update(of=AdverseEvent) if lock else query)
    if event is None:
        raise NotFound(f"no adverse event {event_id}", code="adverse_event_not_found")
    return event


def supersede_event(user, event_id, values, reason, subject_id=None):
    """A correction: a new current version, the old one kept and pointing at it. `subject_id`, when given (a page's
    form under a subject), must be the event's: a form cannot correct another subject's event."""
    old = get_event(event_id, lock=True)
    if subject_id is not None and old.subject_id != subject_id:
        raise NotFound(f"no adverse event {event_id} for subject {subject_id}", code="adverse_event_not_found")
    if old.superseded_by_id is not None:
        raise Conflict(f"adverse event {event_id} was already superseded by {old.superseded_by_id}",
                       code="already_superseded")
    _check(values)
    _check_judgement(user, old, values)
    new = AdverseEvent(subject_id=old.subject_id, recorded_by_id=user.id, supersedes_id=old.id,
                       supersede_reason=reason, **{k: values.get(k) for k in FIELDS})
    # Linked afresh by its onset: a corrected onset may move the event before or after the infusion.
    _link(new, _received(old.subject_id, values["onset_on"]))
    db.session.add(new)
    db.session.flush()
    before = audit.snapshot(old)
    old.superseded_by_id = new.id
    audit.record("adverse_event.recorded", new, reason=reason)
    audit.record("adverse_event.superseded", old, before=before, reason=reason)
    db.session.commit()
    return new


def versions_of(event_id):
    """The ids of every version of an event, first to current: a correction chain is walked both ways (it is a few
    versions long). An unknown event: 404."""
    first = get_event(event_id)
    while first.supersedes_id is not None:
        first = get_event(first.supersedes_id)
    ids, event = [first.id], first
    while event.superseded_by_id is not None:
        event = get_event(event.superseded_by_id)
        ids.append(event.id)
    return ids


def _listing(query):
    rows = db.session.scalars(query.order_by(AdverseEvent.onset_on.desc(), AdverseEvent.id.desc())).all()
    return {"events": [e for e in rows if e.current], "superseded": [e for e in rows if not e.current]}


def subject_events(subject_id):
    _subject(subject_id)
    return _listing(select(AdverseEvent).where(AdverseEvent.subject_id == subject_id))


def lot_events(lot_id):
    from lims.lots.models import Lot
    if db.session.get(Lot, lot_id) is None:
        raise NotFound(f"no lot {lot_id}", code="lot_not_found")
    return _listing(select(AdverseEvent).where(AdverseEvent.lot_id == lot_id))


def cohort_events(cohort_id):
    from lims.studies.models import Subject
    return _listing(select(AdverseEvent).join(Subject, Subject.id == AdverseEvent.subject_id)
                    .where(Subject.cohort_id == cohort_id))


def blocking_events(cohort_id):
    """The cohort's current events that count as serious, of relatedness possible or stronger: each bars `proceed`."""
    from lims.studies.models import Subject
    return db.session.scalars(
        select(AdverseEvent).join(Subject, Subject.id == AdverseEvent.subject_id)
        .where(Subject.cohort_id == cohort_id, AdverseEvent.superseded_by_id.is_(None),
               AdverseEvent.counts_as_serious, AdverseEvent.relatedness.in_(RELATED))
        .order_by(AdverseEvent.onset_on.desc(), AdverseEvent.id.desc())).all()


def lot_events_page(lot_id, limit=20):
    """The lot page's section: the newest current events after the lot (bounded) and how many there are in all."""
    from sqlalchemy import func
    where = (AdverseEvent.lot_id == lot_id, AdverseEvent.superseded_by_id.is_(None))
    count = db.session.scalar(select(func.count()).select_from(AdverseEvent).where(*where))
    rows = db.session.scalars(select(AdverseEvent).where(*where)
                              .order_by(AdverseEvent.onset_on.desc(), AdverseEvent.id.desc()).limit(limit)).all()
    return count, rows


def serious_current(limit=20):
    """The newest current events that count as serious, for the home pages (bounded), and how many in all."""
    from sqlalchemy import func
    where = (AdverseEvent.counts_as_serious, AdverseEvent.superseded_by_id.is_(None))
    count = db.session.scalar(select(func.count()).select_from(AdverseEvent).where(*where))
    rows = db.session.scalars(select(AdverseEvent).where(*where).order_by(AdverseEvent.id.desc()).limit(limit)).all()
    return count, rows
