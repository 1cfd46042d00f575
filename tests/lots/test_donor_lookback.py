"""SPEC §5, donor look-back: a donor found ineligible after release is changed by QA, signed, with a reason; in the
same transaction every released lot of the donor goes on hold, its quarantined lots can no longer be released, and
the answer names the subjects infused from any lot of the donor."""
from contextlib import contextmanager

from sqlalchemy import event, select

from lims.audit.services import verify_chain
from lims.extensions import db
from tests.lots.helpers import error, infused_bag
from tests.reliability.test_database_fault import database_contents
from tests.support import (PASSING_QC, enrol, expansion_study, make_donor, make_lot, make_product, record_qc,
                           released_lot, sig)

LATE_RESULT = "late HBV NAT reactive on the archived donor sample"


def _donor_with_lots(api):
    """Donor D-LB with two released lots (one infused into S-001, one into S-002) and one lot in quarantine."""
    make_product(api)
    donor = make_donor(api, code="D-LB")
    first = released_lot(api, donor_id=donor["id"], product_exists=True)
    second = released_lot(api, donor_id=donor["id"], product_exists=True)
    pending = make_lot(api, donor_id=donor["id"])
    study = expansion_study(api)
    s1 = enrol(api, study["id"], code="S-001", wristband="MRN-0001", cohort="Expansion")
    s2 = enrol(api, study["id"], code="S-002", wristband="MRN-0002", cohort="Expansion")
    bag1, bag2 = infused_bag(api, s1, first["id"]), infused_bag(api, s2, second["id"])
    return {"donor": donor, "lots": (first, second, pending), "bags": (bag1, bag2)}


def _determine(api, donor_id, eligibility="ineligible", reason=LATE_RESULT, as_="qa", password=None):
    return api.post(f"/donors/{donor_id}/eligibility",
                    {"eligibility": eligibility, "reason": reason, "signature": sig(password) if password else sig()},
                    as_=as_)


def _status(api, lot_id):
    return api.get(f"/lots/{lot_id}", as_="qa").get_json()


def test_a_donor_made_ineligible_holds_all_its_released_lots_and_lists_the_infused_subjects(api):
    site = _donor_with_lots(api)
    first, second, pending = site["lots"]
    r = _determine(api, site["donor"]["id"])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["donor"] == {"id": site["donor"]["id"], "code": "D-LB", "eligibility": "ineligible"}
    assert [lot["id"] for lot in body["lots_held"]] == [first["id"], second["id"]]
    assert {lot["status"] for lot in body["lots_held"]} == {"on_hold"}
    assert [lot["id"] for lot in body["lots_unreleasable"]] == [pending["id"]]
    assert [(s["code"], s["bag"], s["lot_id"]) for s in body["subjects_to_notify"]] == [
        ("S-001", site["bags"][0]["code"], first["id"]), ("S-002", site["bags"][1]["code"], second["id"])]
    for lot in (first, second):
        shown = _status(api, lot["id"])
        hold = shown["dispositions"][-1]
        assert shown["status"] == "on_hold" and shown["blocked"] is True
        assert hold["reason"] == f"donor look-back: donor D-LB ineligible: {LATE_RESULT}"
        assert hold["signature"]["meaning"] == "held"
    assert _status(api, pending["id"])["status"] == "quarantine"
    assert verify_chain()["ok"]


def test_a_quarantined_lot_of_an_ineligible_donor_cannot_be_released(api):
    make_product(api)
    donor = make_donor(api, code="D-Q")
    pending = make_lot(api, donor_id=donor["id"])
    record_qc(api, pending["id"], PASSING_QC)
    assert _determine(api, donor["id"]).status_code == 200
    r = api.post(f"/lots/{pending['id']}/release", {"signature": sig()}, as_="qa")
    assert r.status_code == 409
    assert "donor_eligibility" in {u["item"] for u in r.get_json()["unmet"]}


def test_the_eligibility_change_is_signed_with_its_meaning(api):
    from lims.auth.models import Signature
    make_product(api)
    donor = make_donor(api, code="D-S")
    assert _determine(api, donor["id"]).status_code == 200
    signed = db.session.scalars(select(Signature).where(Signature.record_type == "donors")).all()
    assert [(s.meaning, s.record_id, s.printed_name) for s in signed] == [
        ("eligibility_determined", str(donor["id"]), "Qa Person")]


def test_the_eligibility_change_is_refused_without_a_reason_a_signature_or_the_qa_role(api):
    site = _donor_with_lots(api)
    donor_id = site["donor"]["id"]
    before = database_contents()
    assert list(error(_determine(api, donor_id, reason=" "))["fields"]) == ["reason"]
    assert _determine(api, donor_id, password="Not-the-password-1").status_code == 401
    assert _determine(api, donor_id, as_="tech").status_code == 403
    assert _determine(api, 999999).status_code == 404
    same = _determine(api, donor_id, eligibility="eligible")
    assert same.status_code == 409 and error(same)["code"] == "eligibility_unchanged"
    after = database_contents()
    # Only the refusals' own traces are written (the failed password, the security events): no lot, donor or hold.
    for table in ("donors", "lots", "lot_dispositions", "signatures"):
        assert after[table] == before[table], table


@contextmanager
def failing_at(prefix, nth):
    """The nth statement that starts with `prefix` fails in the database (the connection dropped on PostgreSQL)."""
    from tests.reliability.test_database_fault import FAULT
    engine, seen = db.engine, []

    def swap(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(prefix.upper()):
            seen.append(statement)
            if len(seen) == nth:
                return FAULT[engine.dialect.name], ()
        return statement, parameters

    event.listen(engine, "before_cursor_execute", swap, retval=True)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", swap)


def test_a_failure_after_the_first_hold_writes_nothing(api):
    site = _donor_with_lots(api)
    first, second, _pending = site["lots"]
    before, chain_before = database_contents(), verify_chain()
    # The second lot's disposition: by then the donor is changed and signed, and the first lot is on hold.
    with failing_at("INSERT INTO lot_dispositions", 2) as seen:
        r = _determine(api, site["donor"]["id"])
    assert len(seen) == 2, "the look-back never reached the second hold: the fault tested nothing"
    assert r.status_code == 503, r.get_data(as_text=True)
    assert database_contents() == before
    assert verify_chain() == chain_before and chain_before["ok"]
    assert (_status(api, first["id"])["status"], _status(api, second["id"])["status"]) == ("released", "released")
    assert api.get(f"/lots/{first['id']}", as_="qa").get_json()["donor"]["eligibility"] == "eligible"


def test_qa_changes_the_donor_from_the_lot_page_and_reads_the_subjects_to_notify(app, api):
    from tests.support import page_text, signed_in
    site = _donor_with_lots(api)
    first, second, _pending = site["lots"]
    qa = signed_in(app, "qa")
    shown = page_text(qa.get(f"/lots/{first['id']}"))
    assert "Donor D-LB: eligibility eligible" in shown and "Change donor eligibility" in shown
    refused = qa.post(f"/lots/{first['id']}/donor-eligibility",
                      {"eligibility": "ineligible", "reason": "", "signature.password": sig()["password"]})
    assert refused.status_code == 422 and _status(api, first["id"])["status"] == "released"
    r = qa.post(f"/lots/{first['id']}/donor-eligibility",
                {"eligibility": "ineligible", "reason": LATE_RESULT, "signature.password": sig()["password"]})
    assert r.status_code == 302 and r.headers["Location"].endswith("/recalls")
    recalls = page_text(qa.get("/recalls"))
    assert "Donor D-LB is now ineligible." in recalls and "Subjects to notify: S-001" in recalls
    assert (_status(api, first["id"])["status"], _status(api, second["id"])["status"]) == ("on_hold", "on_hold")
    assert "Change donor eligibility" not in page_text(signed_in(app, "tech").get(f"/lots/{first['id']}"))
