"""Fixtures of the chain-of-custody tests: a released lot and an expansion study (every cohort open)."""
import pytest

from tests.support import enrol, expansion_study, released_lot


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
