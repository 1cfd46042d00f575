"""SPEC §6: the last place in a cohort goes to one subject only (PostgreSQL only: SQLite serialises writers)."""
import datetime as dt
import threading

from sqlalchemy import func, select

from lims.extensions import db
from lims.studies.models import Subject
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

    barrier = threading.Barrier(2)
    results = [None, None]

    def enrol_one(i):
        try:
            with apps[i].app_context():
                body = {"study_id": study["id"], "code": f"S-10{i}", "wristband": f"MRN-10{i}",
                        "cohort": "Expansion", "weight": "70 kg",
                        "weighed_on": (dt.date.today() - dt.timedelta(days=1)).isoformat()}
                client = apps[i].test_client()
                barrier.wait(timeout=30)
                r = client.post("/api/v1/subjects", json=body, headers={"Authorization": f"Bearer {token}"})
                results[i] = (r.status_code, r.get_json())
                db.session.remove()
        except Exception as e:
            results[i] = ("exception", repr(e))

    threads = [threading.Thread(target=enrol_one, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
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
