"""SPEC §8: two pharmacists can never take the same container (PostgreSQL only: SQLite serialises writers)."""
from sqlalchemy import func, select

from lims.doses.models import Bag, DoseContainer
from lims.extensions import db
from lims.lots.models import Container
from tests.concurrency import api_post, run_at_once
from tests.conftest import make_app
from tests.support import ApiClient, Users, enrol, expansion_study, planned_dose, released_lot, sig


def test_two_pharmacists_preparing_from_the_last_container_at_once_get_one_bag(postgresql_database):
    apps = [make_app(postgresql_database.url), make_app(postgresql_database.url)]
    with apps[0].app_context():
        api = ApiClient(apps[0], Users.create())
        lot = released_lot(api, containers=1, fill="50 mL")  # one container holds one worked-example dose
        study = expansion_study(api)
        doses = [planned_dose(api, enrol(api, study["id"], code=f"S-00{n}", cohort="Expansion")["id"], lot["id"])
                 for n in (1, 2)]
        tokens = [api.token("pharm1"), api.token("pharm2")]
        db.session.remove()

    try:
        results = run_at_once(*(api_post(apps[i], tokens[i], f"/doses/{doses[i]['id']}/prepare",
                                         {"signature": sig()}) for i in (0, 1)))
        statuses = sorted(r[0] for r in results)
        assert statuses == [200, 409], results
        loser = next(body for status, body in results if status == 409)
        assert loser["error"]["code"] in ("too_few_containers", "conflict")
        with apps[0].app_context():
            assert db.session.scalar(select(func.count()).select_from(Bag)) == 1
            assert db.session.scalar(select(func.count()).select_from(DoseContainer)) == 1
            assert db.session.scalars(select(Container.status)).all() == ["thawed"]
            winner = next(body for status, body in results if status == 200)
            bag = db.session.scalar(select(Bag))
            assert bag.dose_id == winner["id"] and bag.code == winner["bag"]["code"]
            db.session.remove()
    finally:
        for app in apps:
            with app.app_context():
                db.engine.dispose()
