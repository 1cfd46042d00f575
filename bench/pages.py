"""Every page each role reaches, median and p95 ms and page size, at 10³ and 10⁶ custody events (SPEC §15).

    .venv/bin/python bench/pages.py [--database sqlite|postgresql] [--events 1000 1000000] [--samples 20]
                                    [--fresh] [--drop]

Each history is a kept database, seeded once and reused by later runs (seeding 10⁶ events takes minutes on a
shared machine): on PostgreSQL the databases `lims_pages_<events>` at LIMS_BENCH_PG_URL, on SQLite the files
`instance/bench/pages-<events>.db`. `--fresh` seeds them again; `--drop` removes them and exits.

A history is bench/common.py's bulk seeder: events // 7 bags walked from `prepared` to `infused`, each with its lot,
containers, subject, dose, bedside check and infusion, in one study. On top of it, through the API as people would
do it, the same live work at every size: a lot in quarantine with QC to record, a released lot, a second study with
subjects to plan, doses planned, prepared and verified, bags to label, to dispense, on their way and on the ward,
three near misses, one historical lot on hold and one recalled. So each page shows the same work at 10³ and 10⁶
events, and only the history behind it differs: the figure at 10³ events is the floor.

Pages are read through Flask's test client with each role's session cookie (routing, session, the page's reads
and its template; no network), the two histories interleaved sample by sample so that load on the machine hits
both alike. Pages about one record (a lot, a bag, a subject, a dose) cycle over records drawn from the history.
Target: every page's p95 ≤ 150 ms and ≤ 2× its 10³ figure, at 10⁶ events on PostgreSQL.
"""
import argparse
import datetime as dt
import json
import random
import sqlite3
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy import text

from common import (PASSWORD, PG_URL, ROOT, TEST_HASH, WALK, _migrate, bench_app, create_staff, machine, percentile,
                    seed_bags)

from lims.extensions import db

TARGET_MS, TARGET_RATIO = 150.0, 2.0
STAFF = [("tech", ["technician"]), ("qa", ["qa"]), ("inv", ["investigator"]), ("pharm1", ["pharmacist"]),
         ("pharm2", ["pharmacist"]), ("nurse1", ["nurse"]), ("nurse2", ["nurse"]), ("admin", ["admin"])]
PASSING_QC = [("viability", "90 %"), ("cell_concentration", "12e6 cell/mL"), ("cd73", "98 %"), ("cd90", "99 %"),
              ("cd105", "97 %"), ("cd45", "0.5 %"), ("cd34", "0.4 %"), ("cd14", "0.3 %"), ("cd19", "0.2 %"),
              ("hla_dr", "0.6 %"), ("sterility", "negative"), ("mycoplasma", "negative"), ("endotoxin", "0.1 EU/mL"),
              ("gram_stain", "negative")]
SIG = {"password": PASSWORD}


# --- kept databases ----------------------------------------------------------------------------------------------

def database_url(kind, events):
    if kind == "sqlite":
        folder = ROOT / "instance" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder}/pages-{events}.db"
    return f"{PG_URL.rpartition('/')[0]}/lims_pages_{events}"


def seeded(kind, url):
    """The kept database's record of its seeding ({"events": …}), or None when it must be (re)built."""
    try:
        if kind == "sqlite":
            path = Path(url[len("sqlite:///"):])
            if not path.exists():
                return None
            with sqlite3.connect(path) as conn:
                row = conn.execute("SELECT v FROM bench_meta WHERE k = 'seeded'").fetchone()
        else:
            with psycopg.connect(url) as conn:
                row = conn.execute("SELECT v FROM bench_meta WHERE k = 'seeded'").fetchone()
    except (sqlite3.Error, psycopg.Error):
        return None
    kept = json.loads(row[0]) if row else None
    # A history seeded under other migrations (another schema, other seeded data) is seeded again.
    return kept if kept and kept.get("schema") == schema_fingerprint() else None


def schema_fingerprint():
    import hashlib
    digest = hashlib.sha256()
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def drop(kind, url):
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(url[len("sqlite:///"):] + suffix).unlink(missing_ok=True)
        return
    name = url.rpartition("/")[2]
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create(kind, url):
    drop(kind, url)
    if kind == "postgresql":
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{url.rpartition("/")[2]}"')
    _migrate(url)


# --- seeding: the history, then the live work through the API ----------------------------------------------------

class Api:
    def __init__(self, app):
        self.client, self.tokens = app.test_client(), {}

    def __call__(self, method, path, body=None, as_=None, expect=(200, 201)):
        if as_ not in self.tokens:
            r = self.client.post("/api/v1/auth/token", json={"username": as_, "password": PASSWORD})
            self.tokens[as_] = r.get_json()["token"]
        r = self.client.open("/api/v1" + path, method=method, json=body,
                             headers={"Authorization": f"Bearer {self.tokens[as_]}"})
        if r.status_code not in (expect if isinstance(expect, tuple) else (expect,)):
            raise SystemExit(f"seeding: {method} {path} answered {r.status_code}: {r.get_data(as_text=True)[:400]}")
        return r.get_json()


def seed(kind, url, events):
    create(kind, url)
    app = bench_app(url, **TEST_HASH)
    with app.app_context():
        staff = create_staff(STAFF)
        n_bags = max(1, -(-events // len(WALK)))
        print(f"seeding {n_bags:,} bags with {n_bags * len(WALK):,} custody events ({kind}, kept at {url})")
        started = time.perf_counter()
        first_thaw = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2) - n_bags * dt.timedelta(minutes=10)
        seed_bags(n_bags, len(WALK), staff, first_thaw=first_thaw, thaw_spacing=dt.timedelta(minutes=10))
        seed_live_work(Api(app))
        db.session.execute(text("CREATE TABLE bench_meta (k VARCHAR(32) PRIMARY KEY, v TEXT)"))
        db.session.execute(text("INSERT INTO bench_meta VALUES ('seeded', :v)"),
                           {"v": json.dumps({"events": n_bags * len(WALK), "bags": n_bags,
                                             "schema": schema_fingerprint(),
                                             "at": dt.datetime.now(dt.timezone.utc).isoformat()})})
        db.session.commit()
        print(f"seeded in {time.perf_counter() - started:.0f} s")
        db.session.remove()
        db.engine.dispose()


def seed_live_work(api):
    """The same work waiting at every size of history (see the module's docstring)."""
    today = dt.date.today()
    donor = api("POST", "/donors", {"code": "D-LIVE-1", "eligibility": "eligible"}, as_="tech")

    def lot(containers):
        return api("POST", "/lots", {"product_code": "S1234", "donor_id": donor["id"],
                                     "manufactured_on": (today - dt.timedelta(days=7)).isoformat(),
                                     "expires_on": (today + dt.timedelta(days=700)).isoformat(),
                                     "container_count": containers, "fill_volume": "5 mL"}, as_="tech")

    quarantined = lot(10)
    for test, result in PASSING_QC[:5]:
        api("POST", f"/lots/{quarantined['id']}/qc-results", {"test": test, "result": result}, as_="tech")
    released = lot(60)
    for test, result in PASSING_QC:
        api("POST", f"/lots/{released['id']}/qc-results", {"test": test, "result": result}, as_="tech")
    api("POST", f"/lots/{released['id']}/release", {"signature": SIG}, as_="qa")
    study = api("POST", "/studies", {"code": "LIVE-1", "title": "Live work", "escalation": "none",
                                     "cohorts": [{"name": "Expansion", "dose": "1.5e6 cell/kg", "size": 40}]},
                as_="admin")
    subjects = [api("POST", "/subjects", {"study_id": study["id"], "code": f"L-{n:03d}", "wristband": f"LIVE-{n:03d}",
                                          "cohort": "Expansion", "weight": "160 lb",
                                          "weighed_on": (today - dt.timedelta(days=1)).isoformat()}, as_="inv")
                for n in range(1, 13)]
    # 3 to plan, 2 planned, 1 prepared (to label), 1 labelled (to verify), 1 verified (to dispense), 1 dispensed,
    # 3 on the ward
    # (three near misses on the last one).
    stages = ["plan"] * 3 + ["planned"] * 2 + ["prepared", "labelled", "verified", "dispensed", "received",
                                               "received", "received"]
    for subject, stage in zip(subjects, stages, strict=True):
        if stage == "plan":
            continue
        dose = api("POST", "/doses", {"subject_id": subject["id"], "lot_id": released["id"]}, as_="pharm1")
        if stage == "planned":
            continue
        prepared = api("POST", f"/doses/{dose['id']}/prepare", {"signature": SIG}, as_="pharm1")
        bag = prepared["bag"]
        if stage == "prepared":
            continue
        r = api.client.get(f"/api/v1/bags/{bag['code']}/label.pdf",
                           headers={"Authorization": f"Bearer {api.tokens['pharm1']}"})
        assert r.status_code == 200, r.status_code
        if stage == "labelled":
            continue
        api("POST", f"/doses/{dose['id']}/verify", {"signature": SIG, "bag": bag["scan"],
                                                    "measured_volume": f"{prepared['volume']['value']} mL"},
            as_="pharm2")
        if stage == "verified":
            continue
        api("POST", "/custody/events", {"bag": bag["scan"], "event": "dispensed", "location": "Research pharmacy"},
            as_="pharm1")
        if stage == "dispensed":
            continue
        api("POST", "/custody/events", {"bag": bag["scan"], "event": "received", "location": "Ward 4"}, as_="nurse1")
    on_ward = db.session.execute(text("SELECT code FROM bags WHERE subject_id = :s"),
                                 {"s": subjects[-1]["id"]}).scalar()
    db.session.rollback()
    for wristband in ("LIVE-001", "LIVE-002", "MRN-0000001"):
        api("POST", "/bedside/verify", {"bag": on_ward, "wristband": wristband,
                                        "witness": {"username": "nurse2", "password": PASSWORD}}, as_="nurse1",
            expect=409)
    api("POST", "/lots/1/hold", {"signature": SIG, "reason": "bench: a late result under review"}, as_="qa")
    api("POST", "/lots/2/recall", {"signature": SIG, "reason": "bench: donor look-back"}, as_="qa")


# --- the pages ---------------------------------------------------------------------------------------------------

def records(rng):
    """Ids of what the pages about one record read: live ones, and some drawn from the history."""
    one = lambda sql: db.session.execute(text(sql)).scalar()  # noqa: E731
    many = lambda sql: [r[0] for r in db.session.execute(text(sql))]  # noqa: E731
    n_lots, n_subjects = one("SELECT max(id) FROM lots"), one("SELECT max(id) FROM subjects")
    history = {
        "lot": [rng.randint(3, n_lots - 2) for _ in range(10)],
        "subject": [rng.randint(1, n_subjects - 12) for _ in range(10)],
    }
    chosen = ",".join(map(str, history["subject"]))
    history["bag"] = many(f"SELECT code FROM bags WHERE subject_id IN ({chosen})")
    history["dose"] = many(f"SELECT id FROM doses WHERE subject_id IN ({chosen})")
    live = {
        "study_history": one("SELECT id FROM studies WHERE code = 'BENCH-1'"),
        "study_live": one("SELECT id FROM studies WHERE code = 'LIVE-1'"),
        "planned": one("SELECT max(id) FROM doses WHERE status = 'planned'"),
        "lot_live": one("SELECT max(id) FROM lots WHERE status = 'released'"),
        "ward_bag": one("SELECT code FROM bags WHERE status = 'received' ORDER BY id DESC LIMIT 1"),
        "din": one("SELECT din FROM lots WHERE id = 5"),
        "wristband": one("SELECT wristband FROM subjects WHERE id = 7"),
    }
    db.session.rollback()
    return history, live


def pages(history, live):
    """(role, page name, [paths]) for every page each role reaches from its navigation and its home page."""
    cycle = lambda template, key: [template.format(x) for x in history[key]]  # noqa: E731
    one = lambda path: [path]  # noqa: E731
    return [
        ("pharm1", "home", one("/")),
        ("pharm1", "/doses", one("/doses")),
        ("pharm1", "/doses/<planned>", one(f"/doses/{live['planned']}")),
        ("pharm1", "/doses/<history>", cycle("/doses/{}", "dose")),
        ("nurse1", "home", one("/")),
        ("nurse1", "/ward", one("/ward")),
        ("nurse1", "/ward?ward=Ward 4", one("/ward?ward=Ward%204")),
        ("nurse1", "/bedside", one("/bedside")),
        ("nurse1", "/bags/<on ward>", one(f"/bags/{live['ward_bag']}")),
        ("nurse1", "/bags/<history>", cycle("/bags/{}", "bag")),
        ("nurse1", "/search?q=<wristband>", one(f"/search?q={live['wristband']}")),
        ("qa", "home", one("/")),
        ("qa", "/lots/release-queue", one("/lots/release-queue")),
        ("qa", "/lots", one("/lots")),
        ("qa", "/lots?status=released", one("/lots?status=released")),
        ("qa", "/near-misses", one("/near-misses")),
        ("qa", "/recalls", one("/recalls")),
        ("qa", "/audit", one("/audit")),
        ("qa", "/lots/<history>", cycle("/lots/{}", "lot")),
        ("qa", "/trace/lots/<history>", cycle("/trace/lots/{}", "lot")),
        ("qa", "/search?q=<DIN>", one(f"/search?q={live['din']}")),
        ("qa", "/search?q=<DIN prefix>", one(f"/search?q={live['din'][:10]}")),
        ("tech", "home", one("/")),
        ("tech", "/lots", one("/lots")),
        ("tech", "/lots/<live>", one(f"/lots/{live['lot_live']}")),
        ("tech", "/products/S1234", one("/products/S1234")),
        ("inv", "home", one("/")),
        ("inv", "/studies", one("/studies")),
        ("inv", "/studies/<history study>", one(f"/studies/{live['study_history']}")),
        ("inv", "/studies/<live study>", one(f"/studies/{live['study_live']}")),
        ("inv", "/subjects/<history>", cycle("/subjects/{}", "subject")),
        ("inv", "/trace/subjects/<history>", cycle("/trace/subjects/{}", "subject")),
        ("admin", "home", one("/")),
        ("admin", "/users", one("/users")),
    ]


class Site:
    """One kept history, served by its own app, with a signed-in page session per role."""

    def __init__(self, kind, url, events):
        self.events = events
        self.app = bench_app(url, WTF_CSRF_ENABLED=False, **TEST_HASH)  # pages are read, never posted, here
        self.sessions = {}
        with self.app.app_context():
            self.history, self.live = records(random.Random(events))
            self.line = machine(kind)

    def get(self, role, path):
        client = self.sessions.get(role)
        if client is None:
            client = self.sessions[role] = self.app.test_client()
            with self.app.app_context():
                r = client.post("/login", data={"username": role, "password": PASSWORD})
                assert r.status_code == 302, (role, r.status_code)
        with self.app.app_context():
            started = time.perf_counter()
            r = client.get(path)
            ms = (time.perf_counter() - started) * 1000
            db.session.remove()
        if r.status_code not in (200, 303):
            raise SystemExit(f"{self.events} events: {role} GET {path} answered {r.status_code}")
        return ms, len(r.get_data())


def measure(sites, samples):
    """{(role, page): {events: (times, sizes)}}, the sites interleaved request by request."""
    results = {}
    table = pages(sites[0].history, sites[0].live)
    per_site = [pages(s.history, s.live) for s in sites]
    for n, (role, name, _paths) in enumerate(table):
        figures = {s.events: ([], []) for s in sites}
        for i in range(samples + 2):
            for site, site_pages in zip(sites, per_site, strict=True):
                paths = site_pages[n][2]
                ms, size = site.get(role, paths[i % len(paths)])
                if i >= 2:  # the first two warm caches and statement caches
                    figures[site.events][0].append(ms)
                    figures[site.events][1].append(size)
        results[(role, name)] = figures
        sys.stderr.write(f"\r  measured {n + 1}/{len(table)} pages\x1b[K")
        sys.stderr.flush()
    sys.stderr.write("\n")
    return results


def report(results, sites, kind):
    base, top = sites[0].events, sites[-1].events
    print(f"\n{kind}: every page each role reaches; {len(next(iter(results.values()))[base][0])} samples each; "
          f"ms through Flask's test client; size in KB; ratio = p95 at {top:,} / p95 at {base:,} events")
    head = f"{'role':<7} {'page':<28}"
    for s in sites:
        head += f" | {s.events:>9,} ev: {'med':>6} {'p95':>6} {'KB':>6}"
    print(head + f" | {'ratio':>5} | target")
    missed = 0
    for (role, name), figures in results.items():
        line = f"{role:<7} {name:<28}"
        for s in sites:
            times, sizes = figures[s.events]
            line += f" | {'':>13} {percentile(times, 50):>6.1f} {percentile(times, 95):>6.1f} " \
                    f"{percentile(sizes, 50) / 1024:>6.1f}"
        p95_base, p95_top = percentile(figures[base][0], 95), percentile(figures[top][0], 95)
        ratio = p95_top / p95_base
        met = p95_top <= TARGET_MS and (ratio <= TARGET_RATIO or len(sites) == 1)
        missed += not met
        print(line + f" | {ratio:>5.2f} | {'met' if met else 'MISSED'}")
    print(f"\n{len(results) - missed} of {len(results)} pages meet p95 ≤ {TARGET_MS:.0f} ms and ≤ {TARGET_RATIO:g}× "
          f"the {base:,}-event figure at {top:,} events")
    print(f"machine: {sites[-1].line}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--events", type=int, nargs="+", default=[1000, 1_000_000],
                        help="custody events of each history, smallest first (the first is the floor)")
    parser.add_argument("--samples", type=int, default=20, help="requests timed per page and history")
    parser.add_argument("--fresh", action="store_true", help="seed the kept histories again")
    parser.add_argument("--drop", action="store_true", help="remove the kept histories and exit")
    args = parser.parse_args()
    urls = {events: database_url(args.database, events) for events in args.events}
    if args.drop:
        for url in urls.values():
            drop(args.database, url)
        return
    for events, url in urls.items():
        kept = None if args.fresh else seeded(args.database, url)
        if kept is None:
            seed(args.database, url, events)
        else:
            print(f"reusing the history of {kept['events']:,} custody events at {url} (seeded {kept['at'][:16]})")
    sites = [Site(args.database, urls[e], e) for e in args.events]
    report(measure(sites, args.samples), sites, args.database)


if __name__ == "__main__":
    main()
