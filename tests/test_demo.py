"""`flask demo load` gives a newcomer the reference trial to walk through (issue 7)."""
from sqlalchemy import func, select

from lims.auth.models import User
from lims.demo.cli import DEMO_PASSWORD
from lims.extensions import db
from lims.lots.models import Lot
from lims.studies import services as studies
from lims.studies.models import Study


def _load(app):
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_load_creates_the_reference_study_with_its_four_cohorts_in_order(app):
    _load(app)
    study = db.session.scalar(select(Study).where(Study.code == "NCT01297413"))
    states = studies.cohort_states(study)
    assert [(c["name"], c["size"]) for c in states] == [("Tier 1", 5), ("Tier 2", 5), ("Tier 3", 5),
                                                        ("Expansion", 21)]
    assert [c["status"] for c in states] == ["open", "not_open", "not_open", "not_open"]


def test_demo_load_creates_two_released_lots_and_one_in_quarantine(app):
    _load(app)
    statuses = sorted(db.session.scalars(select(Lot.status)).all())
    assert statuses == ["quarantine", "released", "released"]


def test_demo_load_prints_a_sign_in_for_every_role(app):
    output = _load(app)
    assert DEMO_PASSWORD in output
    roles = {role for user in db.session.scalars(select(User)) for role in user.roles}
    assert roles == {"technician", "qa", "investigator", "pharmacist", "nurse", "admin"}
    for username in ("tech", "qa", "investigator", "pharm1", "pharm2", "nurse1", "nurse2", "admin"):
        assert f"  {username} " in output


def test_demo_load_twice_adds_nothing(app):
    _load(app)
    before = (db.session.scalar(select(func.count(Lot.id))), db.session.scalar(select(func.count(User.id))))
    assert "already loaded" in _load(app)
    assert (db.session.scalar(select(func.count(Lot.id))), db.session.scalar(select(func.count(User.id)))) == before
