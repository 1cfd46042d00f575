"""Small helpers shared by the lots tests (counting rows, swapping one QC result)."""
from sqlalchemy import func, select

from lims.extensions import db
from tests.support import PASSING_QC


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def qc_with(**overrides):
    """PASSING_QC with some results replaced, e.g. qc_with(viability="65 %")."""
    return [(test, overrides.get(test, result)) for test, result in PASSING_QC]


def qc_without(*tests):
    return [(test, result) for test, result in PASSING_QC if test not in tests]


def error(response):
    return response.get_json()["error"]


def infused_bag(api, subject, lot_id):
    """A subject's dose from the lot taken all the way: planned, prepared, verified, received, checked, infused."""
    import datetime as dt

    from tests.support import bedside, received_bag, sig
    bag = received_bag(api, subject["id"], lot_id)
    r = bedside(api, bag["scan"], subject["wristband"])
    assert r.status_code == 200, r.get_json()
    now = dt.datetime.now(dt.timezone.utc)
    r = api.post(f"/bags/{bag['code']}/infusion",
                 {"started_at": (now - dt.timedelta(seconds=30)).isoformat(), "completed_at": now.isoformat(),
                  "volume_infused": bag["volume"], "signature": sig()}, as_="nurse1")
    assert r.status_code == 201, r.get_json()
    return bag
