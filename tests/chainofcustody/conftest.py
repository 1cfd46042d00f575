"""Fixtures of the chain-of-custody tests: a released lot and an expansion study (every cohort open)."""
import pytest
from flask import g

from tests.support import enrol, expansion_study, released_lot


def one_user_per_request(app):
    """The `app` fixture keeps an app context pushed for the whole test, and Flask 3.1's test client reuses it for
    every request, so `g.user` (lims.auth.access.current_user) would carry the first caller into every later
    request. In production each request has an app context of its own; this restores that for `g.user`."""
    @app.before_request
    def _forget_previous_caller():
        g.pop("user", None)


@pytest.fixture
def api(api, app):
    one_user_per_request(app)
    return api


@pytest.fixture
def lot(api):
    return released_lot(api)


@pytest.fixture
def study(api):
    return expansion_study(api)


@pytest.fixture
def subject(api, study):
    return enrol(api, study["id"], code="S-001", wristband="MRN-0001", cohort="Expansion")


@pytest.fixture
def other_subject(api, study):
    return enrol(api, study["id"], code="S-002", wristband="MRN-0002", cohort="Expansion")
