"""The follow-up schedule (SPEC §6): visits due at the infusion date plus each of the study's follow-up days, to the
trial's one-year safety end point, each recorded as done with its date.

Visits are written when the infusion is recorded (one row per day of the schedule), so the investigator's home page
reads only the visits that wait, by date, through a partial index: its cost is the live follow-up work, not the
site's history. Windows (a decision; the SPEC names none): a visit on day d is due from d − w to d + w days after the
infusion, w = 10 % of d (setting LIMS_FOLLOW_UP_WINDOW_PERCENT), at least 1 day and at most 30
(LIMS_FOLLOW_UP_WINDOW_MAX_DAYS): day 1 ±1, day 7 ±1, day 30 ±3, day 90 ±9, day 180 ±18, day 365 ±30. Before the
window it is upcoming and cannot be recorded done (422 naming the window); after it, overdue until it is recorded
done (a late visit is still recorded, with its date).
"""
import datetime as dt
import json

from flask import current_app
from sqlalchemy import case, func, select

from lims.audit import services as audit
from lims.errors import Conflict, NotFound, invalid
from lims.extensions import db
from lims.studies.models import FollowUpVisit, Study, Subject
from lims.timeutil import site_today, site_zone, utcnow

HOME_ROWS = 20
RECENTLY_DONE_DAYS = 7


def window_days(day):
    cfg = current_app.config
    return max(1, min(int(cfg["LIMS_FOLLOW_UP_WINDOW_MAX_DAYS"]),
                      round(day * float(cfg["LIMS_FOLLOW_UP_WINDOW_PERCENT"]) / 100)))


def schedule_follow_up(subject, infused_at):
    """The subject's visits from the infusion (called in the infusion's transaction): one per day of the study's
    schedule, dated from the infusion's day in the site's zone."""
    days = json.loads(db.session.scalar(select(Study.follow_up_days_json).where(Study.id == subject.study_id)))
    infused_on = infused_at.astimezone(site_zone()).date()
    for day in days:
        w = window_days(day)
        due = infused_on + dt.timedelta(days=day)
        db.session.add(FollowUpVisit(subject_id=subject.id, day=day, due_on=due, opens_on=due - dt.timedelta(days=w),
                                     closes_on=due + dt.timedelta(days=w)))
    audit.record("subject.follow_up_scheduled", entity="subjects", entity_id=subject.id,
                 after={"infused_on": infused_on, "days": days})


def record_visit(user, subject_id, day, done_on):
    """A follow-up visit recorded as done on its date: once, not in the future, not before the infusion nor before
    its window opens (a late visit, after the window, is still recorded with its date)."""
    subject = db.session.get(Subject, subject_id)
    if subject is None:
        raise NotFound(f"no subject {subject_id}", code="subject_not_found")
    if subject.infused_at is None:
        raise Conflict(f"{subject.code} is not infused yet: follow-up visits start at the infusion",
                       code="not_infused")
    visit = db.session.scalar(select(FollowUpVisit).where(FollowUpVisit.subject_id == subject.id,
                                                          FollowUpVisit.day == day).with_for_update(of=FollowUpVisit))
    if visit is None:
        days = db.session.scalars(select(FollowUpVisit.day).where(FollowUpVisit.subject_id == subject.id)
                                  .order_by(FollowUpVisit.day)).all()
        raise invalid("day", f"day {day} is not a visit of {subject.code}'s schedule "
                             f"({', '.join(str(d) for d in days) or 'none scheduled'})")
    if visit.done_on is not None:
        raise Conflict(f"the day {day} visit of {subject.code} was recorded done on {visit.done_on.isoformat()}",
                       code="visit_already_recorded")
    if done_on > site_today():
        raise invalid("done_on", "a visit cannot be recorded before it took place (the date is after today)")
    infused_on = visit.due_on - dt.timedelta(days=visit.day)
    if done_on < infused_on:
        raise invalid("done_on", f"the visit cannot come before the infusion ({infused_on.isoformat()})")
    if done_on < visit.opens_on:
        # A day-365 visit "done" on the day of infusion would close the trial's one-year end point at day 0.
        raise invalid("done_on", f"the day {day} visit's window is {visit.opens_on.isoformat()} to "
                                 f"{visit.closes_on.isoformat()}: a visit on {done_on.isoformat()} comes before it "
                                 "opens; record it when it takes place")
    before = visit.audit_dict()
    visit.done_on, visit.recorded_by_id, visit.recorded_at = done_on, user.id, utcnow()
    audit.record("subject.follow_up_visit_done", visit, before=before)
    db.session.commit()
    return visit


def visits_of(subject):
    return db.session.scalars(select(FollowUpVisit).where(FollowUpVisit.subject_id == subject.id)
                              .order_by(FollowUpVisit.day)).all()


def _waiting(today):
    return (select(FollowUpVisit).where(FollowUpVisit.done_on.is_(None), FollowUpVisit.opens_on <= today))


def waiting_visits(limit=HOME_ROWS):
    """The visits that wait (overdue first, then those due, by the day their window closes), at most `limit`."""
    today = site_today()
    return db.session.scalars(_waiting(today).order_by(FollowUpVisit.closes_on, FollowUpVisit.id).limit(limit)).all()


def waiting_page(cursor=None, limit=50):
    from lims.paging import keyset_page
    return keyset_page(_waiting(site_today()), (FollowUpVisit.closes_on, FollowUpVisit.id), cursor=cursor,
                       limit=limit)


def counts():
    """{overdue, due, done_recently}: one statement over the visits that wait and those done this week."""
    today = site_today()
    pending = FollowUpVisit.done_on.is_(None)
    overdue = func.sum(case((pending & (FollowUpVisit.closes_on < today), 1), else_=0))
    due = func.sum(case((pending & (FollowUpVisit.opens_on <= today) & (FollowUpVisit.closes_on >= today), 1),
                        else_=0))
    waiting = db.session.execute(select(overdue, due).where(pending, FollowUpVisit.opens_on <= today)).one()
    done = db.session.scalar(select(func.count()).select_from(FollowUpVisit).where(
        FollowUpVisit.done_on >= today - dt.timedelta(days=RECENTLY_DONE_DAYS)))
    return {"overdue": waiting[0] or 0, "due": waiting[1] or 0, "done_recently": done or 0}


def recently_done(limit=5):
    today = site_today()
    return db.session.scalars(select(FollowUpVisit).where(
        FollowUpVisit.done_on >= today - dt.timedelta(days=RECENTLY_DONE_DAYS))
        .order_by(FollowUpVisit.done_on.desc(), FollowUpVisit.id.desc()).limit(limit)).all()
