"""SPEC §16: the app keeps no state in its processes. Two gunicorn servers on two ports share one PostgreSQL: a token
issued by one is honoured by the other, and a preparation race split across the two still lets exactly one win.
"""
from contextlib import ExitStack

from sqlalchemy import func, select

from lims.doses.models import Bag, DoseContainer
from lims.extensions import db
from tests.concurrency import run_at_once
from tests.conftest import make_app
from tests.reliability.servers import gunicorn_server, http
from tests.support import PASSWORD, ApiClient, Users, enrol, expansion_study, planned_dose, released_lot, sig


def _token(base, username):
    status, body = http("POST", base + "/api/v1/auth/token", {"username": username, "password": PASSWORD})
    assert status == 200, body
    return body["token"]


def test_two_app_servers_share_tokens_and_settle_a_split_preparation_race(postgresql_database, tmp_path):
    app = make_app(postgresql_database.url)
    with app.app_context():
        api = ApiClient(app, Users.create())
        lot = released_lot(api, containers=1, fill="50 mL")  # one container holds one worked-example dose
        study = expansion_study(api)
        doses = [planned_dose(api, enrol(api, study["id"], code=f"S-00{n}", cohort="Expansion")["id"], lot["id"])
                 for n in (1, 2)]
        db.session.remove()

    try:
        with ExitStack() as servers:
            a, b = (servers.enter_context(gunicorn_server(postgresql_database.url, tmp_path / f"gunicorn-{n}.log"))
                    for n in ("a", "b"))
            token_from_a, token_from_b = _token(a, "pharm1"), _token(b, "pharm2")

            # Each server honours the other's token: the sign-in lives in the database, not in a process.
            assert http("GET", f"{b}/api/v1/doses/{doses[0]['id']}", token=token_from_a)[0] == 200
            assert http("GET", f"{a}/api/v1/doses/{doses[1]['id']}", token=token_from_b)[0] == 200

            def prepare(base, token, dose):
                return lambda: http("POST", f"{base}/api/v1/doses/{dose['id']}/prepare", {"signature": sig()}, token)

            results = run_at_once(prepare(a, token_from_a, doses[0]), prepare(b, token_from_b, doses[1]))

        assert sorted(status for status, _ in results) == [200, 409], results
        loser = next(body for status, body in results if status == 409)
        assert loser["error"]["code"] in ("too_few_containers", "conflict")
        winner = next(body for status, body in results if status == 200)
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Bag)) == 1
            assert db.session.scalar(select(func.count()).select_from(DoseContainer)) == 1
            assert db.session.scalar(select(Bag.code)) == winner["bag"]["code"]
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()
