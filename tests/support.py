"""Test helpers: users by role, an API client that signs in as them, and one-line builders of valid records."""
import csv
import datetime as dt
import io

from lims.auth import services as auth
from lims.extensions import db
from lims.timeutil import site_today

PASSWORD = "Correct-horse-2026!"

ROLE_USERS = {
    "admin": ["admin"], "tech": ["technician"], "tech2": ["technician"], "qa": ["qa"], "qa2": ["qa"],
    "inv": ["investigator"], "pharm1": ["pharmacist"], "pharm2": ["pharmacist"], "nurse1": ["nurse"],
    "nurse2": ["nurse"],
}


class Users(dict):
    @classmethod
    def create(cls):
        users = cls()
        for name, roles in ROLE_USERS.items():
            users[name] = auth.create_user(name, f"{name.title()} Person", roles, PASSWORD)
        db.session.expunge_all()
        return users


def sig(password=PASSWORD):
    return {"password": password}


class ApiClient:
    """Calls /api/v1 as a named user: api.post("/lots", {...}, as_="tech")."""

    def __init__(self, app, users):
        self.app, self.users, self.client, self.tokens = app, users, app.test_client(), {}

    def token(self, username):
        if username not in self.tokens:
            r = self.client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.get_json()
            self.tokens[username] = r.get_json()["token"]
        return self.tokens[username]

    def _headers(self, as_):
        return {"Authorization": f"Bearer {self.token(as_)}"} if as_ else {}

    def get(self, path, as_=None, **kw):
        return self.client.get("/api/v1" + path, headers=self._headers(as_), **kw)

    def post(self, path, json=None, as_=None, **kw):
        return self.client.post("/api/v1" + path, json=json, headers=self._headers(as_), **kw)


def today():
    return site_today()


# --- builders through the API, so tests exercise the same path clients do ------------------------------------

PASSING_QC = [("viability", "90 %"), ("cell_concentration", "12e6 cell/mL"), ("cd73", "98 %"), ("cd90", "99 %"),
              ("cd105", "97 %"), ("cd45", "0.5 %"), ("cd34", "0.3 %"), ("cd14", "0.4 %"), ("cd19", "0.2 %"),
              ("hla_dr", "0.6 %"), ("sterility", "negative"), ("mycoplasma", "negative"),
              ("endotoxin", "0.2 EU/mL"), ("gram_stain", "negative")]


def make_product(api, code="S1234", stability="4 h"):
    r = api.post("/products", {"code": code, "name": "itMSC, cryopreserved", "post_thaw_stability": stability},
                 as_="admin")
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def make_donor(api, code="D-0001", eligibility="eligible"):
    r = api.post("/donors", {"code": code, "eligibility": eligibility}, as_="tech")
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def make_lot(api, product="S1234", donor_id=None, containers=10, fill="5 mL", expires_on="2028-10-01", **extra):
    if donor_id is None:
        donor_id = make_donor(api, code=f"D-{len(api.tokens)}-{containers}-{fill[:1]}")["id"]
    body = {"product_code": product, "donor_id": donor_id, "manufactured_on": "2026-10-01",
            "expires_on": expires_on, "container_count": containers, "fill_volume": fill, "dmso_fraction": "10 %"}
    body.update(extra)
    r = api.post("/lots", body, as_="tech")
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def record_qc(api, lot_id, results=PASSING_QC, as_="tech"):
    for test, result in results:
        r = api.post(f"/lots/{lot_id}/qc-results", {"test": test, "result": result}, as_=as_)
        assert r.status_code == 201, (test, r.get_json())


def released_lot(api, **kw):
    """A lot with a product, an eligible donor, passing QC and QA's release."""
    if not kw.pop("product_exists", False):
        make_product(api, code=kw.get("product", "S1234"))
    qc = kw.pop("qc", PASSING_QC)
    lot = make_lot(api, **kw)
    record_qc(api, lot["id"], qc)
    r = api.post(f"/lots/{lot['id']}/release", {"signature": sig()}, as_="qa")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def make_study(api, code="NCT01297413", escalation="sequential", cohorts=None):
    cohorts = cohorts or [{"name": "Tier 1", "dose": "0.5e6 cell/kg", "size": 5},
                          {"name": "Tier 2", "dose": "1.0e6 cell/kg", "size": 5},
                          {"name": "Tier 3", "dose": "1.5e6 cell/kg", "size": 5},
                          {"name": "Expansion", "dose": "1.5e6 cell/kg", "size": 21}]
    r = api.post("/studies", {"code": code, "title": "itMSC for ischemic stroke", "escalation": escalation,
                              "cohorts": cohorts}, as_="admin")
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def enrol(api, study_id, code="S-001", wristband=None, cohort="Tier 1", weight="160 lb", weighed_on=None):
    body = {"study_id": study_id, "code": code, "wristband": wristband or f"MRN-{code}", "cohort": cohort,
            "weight": weight, "weighed_on": (weighed_on or today() - dt.timedelta(days=1)).isoformat()}
    r = api.post("/subjects", body, as_="inv")
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def expansion_study(api, code="EXP-1", dose="1.5e6 cell/kg", size=21):
    return make_study(api, code=code, escalation="none", cohorts=[{"name": "Expansion", "dose": dose, "size": size}])


def planned_dose(api, subject_id, lot_id):
    r = api.post("/doses", {"subject_id": subject_id, "lot_id": lot_id}, as_="pharm1")
    assert r.status_code == 201, r.get_json()
    return r.get_json()


# A thaw is recorded when the preparation is signed, some minutes after the container came out of the thaw bath.
# Tests infuse "a minute ago", which is after the bedside check within the clock skew; the thaw comes before both.
THAWED_BEFORE_PREPARATION = dt.timedelta(minutes=15)


def prepared_dose(api, subject_id, lot_id, thawed_at=None):
    dose = planned_dose(api, subject_id, lot_id)
    thawed_at = thawed_at or (dt.datetime.now(dt.timezone.utc) - THAWED_BEFORE_PREPARATION).isoformat()
    body = {"signature": sig(), "thawed_at": thawed_at}
    r = api.post(f"/doses/{dose['id']}/prepare", body, as_="pharm1")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def label(api, bag_code, reason=None):
    path = f"/bags/{bag_code}/label.pdf" + (f"?reprint_reason={reason}" if reason else "")
    return api.get(path, as_="pharm1")


def labelled_dose(api, subject_id, lot_id, **kw):
    """A prepared dose whose label is printed (and on the bag): what the second pharmacist checks (SPEC §8)."""
    dose = prepared_dose(api, subject_id, lot_id, **kw)
    assert label(api, dose["bag"]["code"]).status_code == 200
    return dose


def verify(api, dose, bag=None, measured_volume=None, as_="pharm2", **extra):
    """The second pharmacist's check: the label on the bag scanned, the volume in the bag measured."""
    measured = measured_volume or f"{dose['volume']['value']} mL"
    return api.post(f"/doses/{dose['id']}/verify", {"signature": sig(), "bag": bag or dose["bag"]["scan"],
                                                    "measured_volume": measured, **extra}, as_=as_)


def verified_bag(api, subject_id, lot_id, **kw):
    """A bag labelled once prepared, then verified by a second pharmacist: its label print is the original."""
    dose = labelled_dose(api, subject_id, lot_id, **kw)
    r = verify(api, dose)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["bag"]


def received_bag(api, subject_id, lot_id, ward="Ward 4"):
    bag = verified_bag(api, subject_id, lot_id)
    for event, who, where in (("dispensed", "pharm1", "Research pharmacy"), ("received", "nurse1", ward)):
        r = api.post("/custody/events", {"bag": bag["scan"], "event": event, "location": where}, as_=who)
        assert r.status_code == 201, r.get_json()
    return bag


def bedside(api, bag_scan, wristband, witness="nurse2", password=PASSWORD, as_="nurse1"):
    return api.post("/bedside/verify", {"bag": bag_scan, "wristband": wristband,
                                        "witness": {"username": witness, "password": password}}, as_=as_)


class PageClient:
    """A browser-less session on the pages: PageClient(app).sign_in("tech"), then .get("/lots"), .post(path, form).

    The test's app context outlives each request, so `g` does too, and Flask-WTF caches the CSRF token there: each
    request drops the cached one so every session (several users may act in one test) keeps its own token.
    """

    def __init__(self, app):
        self.client = app.test_client()
        self.csrf_token = None
        self.username = self.session_id = None

    def _token_from(self, path):
        import re
        markup = self.get(path).get_data(as_text=True)
        self.csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', markup).group(1)

    def sign_in(self, username, password=PASSWORD):
        self._token_from("/login")
        r = self.post("/login", {"username": username, "password": password})
        assert r.status_code == 302, r.get_data(as_text=True)
        self._token_from("/")  # signing in starts a new session, with a token of its own
        self.username, self.session_id = username, self._newest_session_of(username)
        return self

    @staticmethod
    def _newest_session_of(username):
        from sqlalchemy import func, select

        from lims.auth.models import User, UserSession
        return PageClient._read(select(func.max(UserSession.id)).join(User, User.id == UserSession.user_id)
                                .where(func.lower(User.username) == username.lower()))

    def session_has_signed(self):
        """Whether this session's first signature is on record, as the server's row says."""
        from sqlalchemy import select

        from lims.auth.models import UserSession
        return self._read(select(UserSession.first_signed_at).where(UserSession.id == self.session_id)) is not None

    @staticmethod
    def _read(query):
        # The test's app context is the requests' too, and so is its database session, which each request's teardown
        # rolls back: a read of its own, in a transaction that ends at once, leaves no lock for the next request.
        db.session.rollback()
        try:
            return db.session.scalar(query)
        finally:
            db.session.rollback()

    def get(self, path, **kw):
        from flask import g
        g.pop("csrf_token", None)
        return self.client.get(path, **kw)

    def post(self, path, data=None, first_signature_username=True, **kw):
        """Posts a form as the browser would, with the session's CSRF token. A signature is posted as its form asks
        for it (SPEC §4): with the signed-in username while the session has not signed, the password alone after;
        `first_signature_username=False` posts exactly `data`."""
        from flask import g
        g.pop("csrf_token", None)
        data = dict(data or {})
        if (first_signature_username and "signature.password" in data and "signature.username" not in data
                and self.username and not self.session_has_signed()):
            data["signature.username"] = self.username
        return self.client.post(path, data={"csrf_token": self.csrf_token, **data}, **kw)


def signed_in(app, username):
    return PageClient(app).sign_in(username)


def text_of(markup):
    """Text as a reader sees it: tags dropped, entities decoded, whitespace collapsed."""
    import html
    import re
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def page_text(response):
    return text_of(response.get_data(as_text=True))


def csv_copy(response):
    """(head and tail lines as {name: value}, the data rows as dicts) of a CSV copy of the audit trail."""
    assert response.status_code == 200 and response.mimetype == "text/csv"
    meta, data, header = {}, [], None
    for cells in csv.reader(io.StringIO(response.get_data(as_text=True))):
        if cells and cells[0].startswith("#"):
            meta[cells[0][2:]] = cells[1]
        elif header is None:
            header = cells
        else:
            data.append(dict(zip(header, cells, strict=True)))
    return meta, data
