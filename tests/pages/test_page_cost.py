"""What each role's pages cost the database, counted (SPEC §15, issue 15): a page's statements depend on what it
shows, never on the site's history. Each page is read on a small site, then again after more subjects were treated
and more work waits; the statement counts must not move. A lookup per row (an N+1) or a list that reads the whole
history moves them, and fails here before it shows in bench/pages.py."""
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from lims.extensions import db
from tests.studies.test_studies import infuse
from tests.support import (bedside, enrol, expansion_study, labelled_dose, make_lot, planned_dose, prepared_dose,
                           received_bag, released_lot, signed_in, verified_bag)

CEILING = 30  # no page needs more statements than this, whatever it shows


@contextmanager
def statements():
    sent = []

    def record(_conn, _cursor, statement, *_args):
        if statement != "BEGIN IMMEDIATE":  # SQLite's transaction start (lims/__init__.py), not a statement of ours
            sent.append(" ".join(statement.split())[:80])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


class Site:
    """A study being treated: subjects infused (history), and some of every kind of work waiting."""

    def __init__(self, api):
        self.api = api
        self.lot = released_lot(api, containers=60)
        make_lot(api, containers=2)  # a lot in quarantine, QC to record
        self.study = expansion_study(api, size=21)
        self.n = 0

    def subject(self):
        self.n += 1
        return enrol(self.api, self.study["id"], code=f"S-{self.n:03d}", cohort="Expansion")

    def grow(self, infused, planned, to_plan):
        for _ in range(infused):
            infuse(self.api, self.subject(), self.lot["id"])
        for _ in range(planned):
            planned_dose(self.api, self.subject()["id"], self.lot["id"])
        for _ in range(to_plan):
            self.subject()


@pytest.fixture
def site(api):
    site = Site(api)
    site.grow(infused=1, planned=1, to_plan=1)
    prepared_dose(api, site.subject()["id"], site.lot["id"])  # waits for its label
    labelled_dose(api, site.subject()["id"], site.lot["id"])  # waits for the second pharmacist's check
    verified_bag(api, site.subject()["id"], site.lot["id"])  # labelled and verified: waits to be dispensed
    on_ward = received_bag(api, site.subject()["id"], site.lot["id"])
    assert bedside(api, on_ward["scan"], "MRN-S-001").status_code == 409  # another subject's wristband: a near miss
    return site


def cost(client, path):
    db.session.expire_all()
    with statements() as sent:
        r = client.get(path)
    assert r.status_code in (200, 303), (path, r.status_code)
    return len(sent)


PAGES = {
    "pharm1": ["/", "/doses"],
    "nurse1": ["/", "/ward", "/bedside"],
    "qa": ["/", "/lots", "/lots/release-queue", "/near-misses", "/recalls"],
    "tech": ["/", "/lots", "/products/S1234"],
    "inv": ["/", "/studies", "/studies/{study}"],
}


@pytest.mark.parametrize("role", sorted(PAGES))
def test_each_page_sends_as_many_statements_however_long_the_history(app, api, site, role):
    client = signed_in(app, role)
    paths = [p.format(study=site.study["id"]) for p in PAGES[role]]
    before = {p: cost(client, p) for p in paths}
    site.grow(infused=2, planned=1, to_plan=1)
    after = {p: cost(client, p) for p in paths}
    assert after == before
    assert max(after.values()) <= CEILING, after


def test_a_search_sends_as_many_statements_for_any_subject(app, api, site):
    client = signed_in(app, "nurse1")
    first = cost(client, "/search?q=MRN-S-001")
    site.grow(infused=2, planned=0, to_plan=0)
    assert cost(client, f"/search?q=MRN-S-{site.n:03d}") == first <= 6


def test_infused_doses_leave_the_pharmacy_worklist(app, api, site):
    """A dose stays `verified` after its bag is infused: the worklist reads the bag's state, so the infused dose is
    in no step, while the bags still in the pharmacy (to label, to verify, to dispense) are."""
    from sqlalchemy import select

    from lims.doses.models import Bag, Dose
    from lims.studies.models import Subject
    infused = db.session.scalar(select(Dose.id).join(Subject).where(Subject.code == "S-001"))
    waiting = db.session.scalars(select(Bag.dose_id).where(Bag.status.in_(("prepared", "verified")))).all()
    page = signed_in(app, "pharm1").get("/doses").get_data(as_text=True)
    assert f'href="/doses/{infused}"' not in page
    assert len(waiting) == 3 and all(f'href="/doses/{d}"' in page for d in waiting)
