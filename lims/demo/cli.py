"""`flask demo load`: the reference study, a product, a donor, two released lots, one in quarantine, a user per role."""
import datetime as dt

import click
from flask.cli import AppGroup
from sqlalchemy import select

from lims.auth import services as auth
from lims.auth.models import User
from lims.extensions import db
from lims.lots import services as lots
from lims.lots.models import Lot
from lims.studies import services as studies
from lims.studies.models import Study
from lims.timeutil import site_today, utcnow
from lims.units import parse

demo_cli = AppGroup("demo", help="The demo study.")

DEMO_PASSWORD = "Demo-pass-2026!"  # noqa: S105 (the demo's published password, README)
DEMO_USERS = [("tech", "Tara Technician", ["technician"]), ("qa", "Quinn Quality", ["qa"]),
              ("investigator", "Ines Investigator", ["investigator"]), ("pharm1", "Pat Pharmacist", ["pharmacist"]),
              ("pharm2", "Pia Pharmacist", ["pharmacist"]), ("nurse1", "Nina Nurse", ["nurse"]),
              ("nurse2", "Noor Nurse", ["nurse"]), ("admin", "Ada Admin", ["admin"])]
PASSING_QC = [("viability", "91 %"), ("cell_concentration", "12e6 cell/mL"), ("cd73", "98.5 %"), ("cd90", "99.1 %"),
              ("cd105", "97.2 %"), ("cd45", "0.4 %"), ("cd34", "0.3 %"), ("cd14", "0.5 %"), ("cd19", "0.2 %"),
              ("hla_dr", "0.7 %"), ("sterility", "negative"), ("mycoplasma", "negative"),
              ("endotoxin", "0.1 EU/mL"), ("gram_stain", "negative")]
# The reference trial's entry criteria (SPEC §6): chronic ischemic stroke, onset more than six months before
# enrolment, NIHSS at least 6; informed consent is asked for every study with criteria.
REFERENCE_CRITERIA = [
    {"name": "ischemic_stroke", "kind": "yes", "value": True, "question": "Ischemic stroke confirmed by imaging?"},
    {"name": "stroke_onset_on", "kind": "months_before", "value": 6, "question": "Date of stroke onset"},
    {"name": "nihss", "kind": "min", "value": 6, "question": "NIHSS score (0–42)", "integer": True, "lowest": 0,
     "highest": 42},
]
REFERENCE_COHORTS = [("Tier 1", "0.5e6 cell/kg", 5), ("Tier 2", "1.0e6 cell/kg", 5), ("Tier 3", "1.5e6 cell/kg", 5),
                     ("Expansion", "1.5e6 cell/kg", 21)]


@demo_cli.command("load")
def load():
    """Load the demo data (idempotent: a second run adds nothing) and print the demo sign-ins."""
    if db.session.scalar(select(Study.id).where(Study.code == "NCT01297413")) is not None:
        click.echo("demo data already loaded")
        _print_users()
        return
    steps = ["users", "product", "donor", "lots", "study"]
    with click.progressbar(steps, label="Loading demo data", item_show_func=lambda s: s or "") as bar:
        for step in bar:
            globals()[f"_load_{step}"]()
    _print_users()


def _user(username):
    return db.session.scalar(select(User).where(User.username == username))


def _load_users():
    for username, name, roles in DEMO_USERS:
        if _user(username) is None:
            auth.create_user(username, name, roles, DEMO_PASSWORD)


def _load_product():
    lots.create_product("S1234", "itMSC, cryopreserved", parse("4 h", "duration"),
                        "Store at ≤ −150 °C (vapour-phase liquid nitrogen) until thaw. After thaw keep at 15–25 °C; "
                        "use within 4 hours; do not refreeze.")


def _load_donor():
    lots.register_donor("D-0001", "eligible")


def _load_lots():
    tech, qa = _user("tech"), _user("qa")
    donor = db.session.scalar(select(lots.Donor).where(lots.Donor.code == "D-0001"))
    today = site_today()
    made = []
    for i in range(3):
        lot = lots.register_lot(tech, "S1234", donor.id, today - dt.timedelta(days=60 - i), today.replace(
            year=today.year + 2), 20, parse("5 mL", "volume"), parse("10 %", "percent"),
            {"freezer": "LN2-1", "rack": f"R{i + 1}", "box": "B1", "first_position": 1})
        made.append(lot)
    for lot in made[:2]:  # two released, the third waits in quarantine with its QC incomplete
        for test, result in PASSING_QC:
            lots.record_qc_result(tech, lot.id, test, result, method="demo")
        lots.dispose(qa, lot.id, "release", {"password": DEMO_PASSWORD})
    for test, result in PASSING_QC[:5]:
        lots.record_qc_result(tech, made[2].id, test, result, method="demo")


def _load_study():
    study = studies.create_study("NCT01297413", "Allogeneic ischemia-tolerant MSC in acute ischemic stroke",
                                 "sequential",
                                 [{"name": n, "dose": parse(d, "dose"), "size": s} for n, d, s in REFERENCE_COHORTS],
                                 eligibility=REFERENCE_CRITERIA)
    # The demo trial was registered a year before this load, as a site's running trial was: the consent dates typed
    # on the demo (days before today) come after it, and a consent dated before its study is refused (SPEC §6).
    study.created_at = utcnow() - dt.timedelta(days=365)
    db.session.commit()


def _print_users():
    click.echo(f"Demo users (password for all: {DEMO_PASSWORD}):")
    for username, name, roles in DEMO_USERS:
        click.echo(f"  {username:<13} {name:<20} {', '.join(roles)}")
    released = db.session.scalars(select(Lot).where(Lot.status == "released")).all()
    click.echo("Released lots: " + ", ".join(f"{lot.din} [{lot.check_character}]" for lot in released))
