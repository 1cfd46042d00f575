"""GCP: replacing a study's entry criteria (POST /studies/{id}/eligibility) is a protocol amendment: it states a
reason and the administrator signs it, re-entering the password as every signed write does; a refused amendment
writes nothing. The first version, given with the study at POST /studies, is part of its registration."""
import json

import pytest
from sqlalchemy import func, select

from lims.audit.models import AuditEntry
from lims.auth.models import Signature
from lims.demo.cli import REFERENCE_CRITERIA
from lims.extensions import db
from lims.studies.models import EligibilityVersion
from tests.studies.test_eligibility import criteria_study
from tests.support import make_study, sig

AGE = {"name": "age", "kind": "min", "value": 18}


def amend(api, study_id, reason="amendment 2: adults only", signature=None, as_="admin", **extra):
    body = {"eligibility": [*REFERENCE_CRITERIA, AGE], **extra}
    if reason is not None:
        body["reason"] = reason
    if signature is not False:
        body["signature"] = signature or sig()
    return api.post(f"/studies/{study_id}/eligibility", body, as_=as_)


def _written():
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(m))
                 for m in (EligibilityVersion, Signature, AuditEntry))


@pytest.fixture
def study(api):
    return criteria_study(api)


def test_an_amendment_is_signed_by_the_administrator_with_its_reason_audited(api, study):
    r = amend(api, study["id"])
    assert r.status_code == 201 and r.get_json()["eligibility"]["version"] == 2
    version = db.session.scalar(select(EligibilityVersion).where(EligibilityVersion.version == 2))
    signature = db.session.scalar(select(Signature).where(Signature.record_type == "eligibility_versions",
                                                          Signature.record_id == str(version.id)))
    assert (signature.meaning, signature.printed_name) == ("amended", "Admin Person")
    row = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "study.eligibility_versioned")
                            .order_by(AuditEntry.seq.desc()).limit(1))
    assert row.reason == "amendment 2: adults only" and row.entity_id == str(version.id)
    assert [c["name"] for c in json.loads(row.after)["criteria"]] == ["ischemic_stroke", "stroke_onset_on", "nihss",
                                                                      "age"]


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_an_amendment_without_a_reason_is_422_naming_reason_and_writes_nothing(api, study, reason):
    before = _written()
    r = amend(api, study["id"], reason=reason)
    assert r.status_code == 422 and "reason" in r.get_json()["error"]["fields"]
    assert _written() == before


def test_an_amendment_without_a_signature_is_422_naming_signature(api, study):
    before = _written()
    r = amend(api, study["id"], signature=False)
    assert r.status_code == 422 and "signature" in r.get_json()["error"]["fields"]
    assert _written()[0] == before[0]


def test_an_amendment_with_a_wrong_password_is_401_and_writes_no_version(api, study):
    before = _written()
    r = amend(api, study["id"], signature=sig("Wrong-password-1"))
    assert r.status_code == 401
    assert _written()[:2] == before[:2]  # no version, no signature (the refusal is a security event only)


def test_an_amendment_signed_with_another_users_name_is_refused(api, study):
    before = _written()
    r = amend(api, study["id"], signature={**sig(), "username": "inv"})
    assert r.status_code == 401 and "sign with your own username" in r.get_json()["error"]["message"]
    assert _written()[:2] == before[:2]


def test_only_an_administrator_amends_the_criteria(api, study):
    assert amend(api, study["id"], as_="inv").status_code == 403


def test_the_first_criteria_set_after_registration_are_an_amendment_too(api):
    study = make_study(api)  # registered without criteria: subjects may already be enrolled unjudged
    assert amend(api, study["id"], reason=None).status_code == 422
    r = amend(api, study["id"], reason="amendment 1: entry criteria added")
    assert r.status_code == 201 and r.get_json()["eligibility"]["version"] == 1
