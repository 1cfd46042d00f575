"""Two nurses at the same bag at the same instant (SPEC §16), on PostgreSQL where the row lock is real."""
from sqlalchemy import func, select

from lims.chainofcustody.models import BedsideCheck, CustodyEvent
from lims.doses.models import Bag
from lims.extensions import db
from tests.concurrency import api_post, run_at_once
from tests.conftest import make_app
from tests.support import ApiClient, PASSWORD, Users, enrol, expansion_study, received_bag, released_lot


def _race(url, tokens, bodies):
    """Each body sent by its own thread, app and test client, released together."""
    apps = [make_app(url) for _ in bodies]  # built here: app creation touches process-wide extension state
    try:
        return run_at_once(*(api_post(app, token, "/bedside/verify", body)
                             for app, token, body in zip(apps, tokens, bodies, strict=True)))
    finally:
        for app in apps:
            with app.app_context():
                db.engine.dispose()


def _setup(url):
    app = make_app(url)
    ctx = app.app_context()
    ctx.push()
    users = Users.create()
    api = ApiClient(app, users)
    lot = released_lot(api)
    study = expansion_study(api)
    a = enrol(api, study["id"], code="S-001", wristband="MRN-0001", cohort="Expansion")
    b = enrol(api, study["id"], code="S-002", wristband="MRN-0002", cohort="Expansion")
    bag = received_bag(api, a["id"], lot["id"])
    tokens = [api.token("nurse1"), api.token("nurse2")]
    return app, ctx, bag, a, b, tokens


def _body(bag, wristband, witness):
    return {"bag": bag["scan"], "wristband": wristband, "witness": {"username": witness, "password": PASSWORD}}


def _outcome(app, bag):
    db.session.expire_all()
    status = db.session.scalar(select(Bag.status).where(Bag.code == bag["code"]))
    verified_events = db.session.scalar(select(func.count()).select_from(CustodyEvent).join(Bag).where(
        Bag.code == bag["code"], CustodyEvent.event == "bedside_verified"))
    checks = db.session.scalars(select(BedsideCheck.ok)).all()
    return status, verified_events, sorted(checks)


def test_two_nurses_verifying_one_bag_for_two_subjects_at_once_pass_exactly_once(postgresql_database):
    app, ctx, bag, a, b, tokens = _setup(postgresql_database.url)
    try:
        results = _race(postgresql_database.url, tokens,
                        [_body(bag, a["wristband"], "nurse2"), _body(bag, b["wristband"], "nurse1")])
        assert sorted(code for code, _ in results) == [200, 409], results
        refused = next(body for code, body in results if code == 409)
        assert refused["ok"] is False and "right_subject" in {f["name"] for f in refused["failures"]}
        assert _outcome(app, bag) == ("bedside_verified", 1, [False, True])
    finally:
        db.session.remove()
        ctx.pop()
        with app.app_context():
            db.engine.dispose()


def test_two_nurses_verifying_one_bag_for_its_subject_at_once_pass_exactly_once(postgresql_database):
    app, ctx, bag, a, _b, tokens = _setup(postgresql_database.url)
    try:
        results = _race(postgresql_database.url, tokens,
                        [_body(bag, a["wristband"], "nurse2"), _body(bag, a["wristband"], "nurse1")])
        assert sorted(code for code, _ in results) == [200, 409], results
        refused = next(body for code, body in results if code == 409)
        assert {f["name"] for f in refused["failures"]} == {"bag_received"}  # the loser sees the winner's move
        assert _outcome(app, bag) == ("bedside_verified", 1, [False, True])
    finally:
        db.session.remove()
        ctx.pop()
        with app.app_context():
            db.engine.dispose()
