"""Refusals leave the audit chain intact (SPEC §4), near misses included."""
import datetime as dt

from sqlalchemy import select

from lims.audit.models import AuditEntry
from lims.extensions import db
from tests.chainofcustody.helpers import dispense, hold_lot, infuse, now, receive
from tests.support import PASSWORD, bedside, label, prepared_dose, received_bag


def test_audit_chain_verifies_after_every_kind_of_refusal(api, lot, subject, other_subject):
    bag = received_bag(api, subject["id"], lot["id"])
    other = prepared_dose(api, other_subject["id"], lot["id"])["bag"]
    refusals = [
        bedside(api, bag["scan"], other_subject["wristband"]),                  # wrong subject: near miss
        bedside(api, bag["scan"], subject["wristband"], witness="nurse1"),     # witness is the scanner
        bedside(api, bag["scan"], subject["wristband"], password="wrong-" + PASSWORD),
        bedside(api, bag["scan"], subject["wristband"], witness="pharm1"),
        bedside(api, "garbage", subject["wristband"]),
        bedside(api, bag["scan"].rsplit(":", 1)[0] + ":B999", subject["wristband"]),
        dispense(api, other["scan"]),                                          # not verified yet
        dispense(api, other["scan"], as_="nurse1"),
        receive(api, other["scan"]),                                           # prepared, not dispensed
        infuse(api, bag["code"], now(), now() + dt.timedelta(seconds=1)),      # no bedside pass
    ]
    assert [r.status_code for r in refusals] == [409, 403, 401, 403, 422, 404, 409, 403, 409, 409]
    assert label(api, other["code"]).status_code == 200
    hold_lot(api, lot["id"])
    assert bedside(api, bag["scan"], subject["wristband"]).status_code == 409
    r = api.get("/audit/verify", as_="qa")
    assert r.status_code == 200
    body = r.get_json()
    assert body["ok"] is True and body["first_broken"] is None and body["checked"] > 0
    db.session.expire_all()
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert actions.count("bedside.near_miss") == 2
    assert "bedside.verified" not in actions and "infusion.recorded" not in actions
