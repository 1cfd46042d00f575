"""SPEC §6: the last place in a cohort goes to one subject only (PostgreSQL only: SQLite serialises writers)."""
import datetime as dt

from sqlalchemy import func, select

from lims.extensions import db
from lims.studies.models import Subject
from tests.concurrency import api_post, run_at_once
from tests.conftest import make_app
from tests.support import ApiClient, Users, enrol, expansion_study


def test_two_enrolments_into_the_last_place_at_once_admit_one(postgresql_database):
    apps = [make_app(postgresql_database.url), make_app(postgresql_database.url)]
    with apps[0].app_context():
        api = ApiClient(apps[0], Users.create())
        study = expansion_study(api, size=2)
        enrol(api, study["id"], code="S-001", cohort="Expansion")
        token = api.token("inv")
        db.session.remove()

    bodies = [{"study_id": study["id"], "code": f"S-10{i}", "wristband": f"MRN-10{i}", "cohort": "Expansion",
               "weight": "70 kg", "weighed_on": (dt.date.today() - dt.timedelta(days=1)).isoformat()} for i in (0, 1)]
    try:
        results = run_at_once(*(api_post(apps[i], token, "/subjects", bodies[i]) for i in (0, 1)))
        assert sorted(r[0] for r in results) == [201, 409], results
        loser = next(body for status, body in results if status == 409)
        assert loser["error"]["code"] == "cohort_not_open" and loser["cohort_status"] == "full"
        with apps[0].app_context():
            assert db.session.scalar(select(func.count()).select_from(Subject)) == 2
            db.session.remove()
    finally:
        for app in apps:
            with app.app_context():
                db.engine.dispose()
