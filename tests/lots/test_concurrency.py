"""SPEC §3 and §16: races only PostgreSQL can show. Two technicians register lots at the same instant."""
from lims import units
from lims.extensions import db
from lims.lots import services as lots
from tests.concurrency import api_post, run_at_once
from tests.conftest import make_app
from tests.support import PASSWORD, Users


def _token(app, username):
    with app.app_context():
        r = app.test_client().post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.get_json()
        db.session.remove()
        return r.get_json()["token"]


def _lot_body(donor_id):
    return {"product_code": "S1234", "donor_id": donor_id, "manufactured_on": "2026-10-01",
            "expires_on": "2028-10-01", "container_count": 3, "fill_volume": "5 mL"}


def test_simultaneous_registrations_get_distinct_dins(postgresql_database):
    apps = [make_app(postgresql_database.url), make_app(postgresql_database.url)]
    with apps[0].app_context():
        Users.create()
        lots.create_product("S1234", "itMSC, cryopreserved", units.parse("4 h", "duration"))
        donor_ids = [lots.register_donor(f"D-RACE-{n}", "eligible").id for n in (1, 2)]
        db.session.remove()

    rounds = 5
    try:
        tokens = [_token(apps[0], "tech"), _token(apps[1], "tech2")]
        responses = []
        for _ in range(rounds):
            responses += run_at_once(*(api_post(apps[i], tokens[i], "/lots", _lot_body(donor_ids[i]))
                                       for i in (0, 1)))
        assert len(responses) == 2 * rounds
        assert [status for status, _ in responses] == [201] * (2 * rounds), responses
        dins = [body["din"] for _, body in responses]
        assert len(set(dins)) == 2 * rounds
        sequences = sorted(int(din[7:]) for din in dins)
        assert sequences == list(range(sequences[0], sequences[0] + 2 * rounds))  # no gap, no duplicate
        codes = [c["code"] for _, body in responses for c in body["containers"]]
        assert len(set(codes)) == len(codes) == 2 * rounds * 3
        with apps[0].app_context():
            from sqlalchemy import func, select
            from lims.lots.models import Lot
            assert db.session.scalar(select(func.count(func.distinct(Lot.din)))) == 2 * rounds
            db.session.remove()
    finally:
        for app in apps:
            with app.app_context():
                db.engine.dispose()
