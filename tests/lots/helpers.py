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
