"""What the benchmarks share: a temporary database of either kind, the app on it, bulk seeding with progress,
latency statistics and a description of the machine.

PostgreSQL comes from LIMS_BENCH_PG_URL (an account allowed to create databases); each run creates its own database
there and drops it at the end, so a benchmark never touches a site's data.
"""
import datetime as dt
import math
import os
import platform
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import text  # noqa: E402

import config  # noqa: E402
from lims import barcodes, create_app  # noqa: E402
from lims.auth import services as auth  # noqa: E402
from lims.extensions import db  # noqa: E402
from lims.lots import isbt  # noqa: E402

PG_URL = os.environ.get("LIMS_BENCH_PG_URL", "postgresql://lims_test:lims_test@127.0.0.1:5432/postgres")
# The argon2 parameters of the test suite (tests/conftest.py); production uses the hasher's defaults.
TEST_HASH = {"LIMS_ARGON2_MEMORY_KIB": 1024, "LIMS_ARGON2_TIME_COST": 1}
PASSWORD = "Correct-horse-2026!"
UTC = dt.timezone.utc


def add_database_option(parser):
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="sqlite: a file in a temporary folder; postgresql: a new database at LIMS_BENCH_PG_URL")


@contextmanager
def temporary_database(kind):
    """Yields the URL of a new, migrated database that is removed afterwards, whatever happens."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="lims-bench-") as folder:
            url = f"sqlite:///{folder}/bench.db"
            _migrate(url)
            yield url
        return
    name = f"lims_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"{PG_URL.rpartition('/')[0]}/{name}"
        _migrate(url)
        yield url
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url):
    app = bench_app(url)
    with app.app_context():
        upgrade()
        db.engine.dispose()


def bench_app(url, **overrides):
    """The production configuration on the bench database (overrides for what a benchmark varies)."""
    return create_app(config.Config, DATABASE_URL=url, SECRET_KEY="bench", **overrides)


# --- output ---------------------------------------------------------------------------------------------------

class Progress:
    """A one-line progress display on stderr, redrawn at most twice a second."""

    def __init__(self, label, total):
        self.label, self.total, self.done = label, total, 0
        self.start = self.shown = time.perf_counter()

    def add(self, n):
        self.done += n
        now = time.perf_counter()
        if now - self.shown >= 0.5 or self.done >= self.total:
            self.shown = now
            rate = self.done / max(now - self.start, 1e-9)
            self._show(f"{self.label}: {self.done:,} / {self.total:,} rows "
                       f"({100 * self.done / max(self.total, 1):.0f} %, {rate:,.0f} rows/s)")

    def close(self):
        self._show(f"{self.label}: {self.done:,} rows in {time.perf_counter() - self.start:.1f} s")
        sys.stderr.write("\n")

    def _show(self, line):
        sys.stderr.write(f"\r  {line}\x1b[K")  # \x1b[K clears what a longer previous line left behind
        sys.stderr.flush()


def percentile(values, q):
    """The q-th percentile (0-100) by the nearest-rank method: a value that was actually measured."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def machine(kind):
    """One line naming what the figures ran on, load included: the machine is shared."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        ram = f"{mem_kb / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        ram = "RAM unknown"
    version = db.session.execute(text("SELECT sqlite_version()" if kind == "sqlite" else "SHOW server_version")
                                 ).scalar()
    db.session.commit()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores ({model}), {ram}, load {load}; Python {platform.python_version()}, "
            f"{'SQLite' if kind == 'sqlite' else 'PostgreSQL'} {version}; {dt.date.today().isoformat()}")


# --- bulk seeding ---------------------------------------------------------------------------------------------

def _sqlite_value(value):
    # The storage format SQLAlchemy's SQLite dialect writes and reads back (naive UTC text).
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def bulk_insert(table, columns, rows, total, chunk=20000):
    """Inserts rows (tuples in the order of columns): COPY on PostgreSQL, executemany in one transaction on
    SQLite. Bypasses the ORM and the audit trail: seeding stands for history, not for operations under test."""
    progress = Progress(table, total)
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        names = ", ".join(columns)
        if db.engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    progress.done += 1
                    if progress.done % chunk == 0:
                        progress.add(0)
        else:
            cursor.execute("BEGIN")
            statement = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
            batch = []
            for row in rows:
                batch.append(tuple(_sqlite_value(v) for v in row))
                if len(batch) == chunk:
                    cursor.executemany(statement, batch)
                    progress.add(len(batch))
                    batch = []
            cursor.executemany(statement, batch)
            progress.done += len(batch)
        raw.commit()
        progress.add(0)
    finally:
        raw.close()
    progress.close()


def next_id(table, column="id"):
    return db.session.execute(text(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}")).scalar()


def after_bulk_load(tables):
    """Moves PostgreSQL's id sequences past the seeded rows, then refreshes planner statistics on both."""
    if db.engine.dialect.name == "postgresql":
        for table in tables:
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))"))
    db.session.commit()
    # A site's tables are vacuumed and analysed by autovacuum long before they hold a million rows.
    raw = db.engine.raw_connection()
    try:
        if db.engine.dialect.name == "postgresql":
            raw.driver_connection.autocommit = True  # VACUUM refuses to run inside a transaction
            raw.cursor().execute("VACUUM ANALYZE")
            raw.driver_connection.autocommit = False
        else:
            raw.cursor().execute("ANALYZE")  # the app's SQLite connections are in autocommit until BEGIN
    finally:
        raw.close()


def create_staff(names_and_roles):
    """Users through the real service (argon2 hash at the app's configured parameters). Returns {name: id}."""
    ids = {}
    for name, roles in names_and_roles:
        ids[name] = auth.create_user(name, f"{name.title()} Person", roles, PASSWORD).id
    return ids


# The custody walk of a bag that reaches a patient (SPEC §10): (event, holder role, location).
WALK = (("prepared", "pharmacist", "Pharmacy"), ("verified", "pharmacist", "Pharmacy"),
        ("dispensed", "pharmacist", "Research pharmacy"), ("received", "nurse", "Ward 4"),
        ("bedside_verified", "nurse", "Ward 4"), ("infusing", "nurse", "Ward 4"), ("infused", "nurse", "Ward 4"))


def seed_bags(n_bags, steps, staff, *, bags_per_lot=20, first_thaw, thaw_spacing, fin="W1234"):
    """Bulk-inserts n_bags bags, each the one bag of its own subject, with everything a real bag has behind it:
    a released lot (one donor per lot, bags_per_lot bags and 3 thawed containers per bag plus 2 in storage), the
    subject and its weight, a verified dose and its container allocations, and the first `steps` custody events
    of WALK; a bag walked to `infused` also has its passed bedside check and its infusion record.

    Bag i is thawed at first_thaw + i * thaw_spacing. Returns a list of (bag code, QR payload, wristband).
    """
    if not 1 <= bags_per_lot <= 332:  # division codes have three digits: B001-B999, C001-C999
        raise SystemExit("bags per lot: 1 to 332")
    from lims.lots.models import Product
    from lims.studies.models import Cohort, Study
    product = Product(code="S1234", name="itMSC, cryopreserved", post_thaw_stability_h=4.0, storage_text="")
    study = Study(code="BENCH-1", title="Benchmark expansion", escalation="none")
    db.session.add_all([product, study])
    db.session.flush()
    cohort = Cohort(study_id=study.id, position=1, name="Expansion", dose_cells_per_kg=1.5e6, size=n_bags)
    db.session.add(cohort)
    db.session.commit()
    product_code, product_id, study_id, cohort_id = product.code, product.id, study.id, cohort.id

    per_lot_containers = 3 * bags_per_lot + 2
    n_lots = -(-n_bags // bags_per_lot)
    start = {t: next_id(t) for t in ("donors", "lots", "containers", "subjects", "subject_weights", "doses", "bags",
                                     "dose_containers", "custody_events", "bedside_checks", "infusions")}
    db.session.commit()  # the bulk inserts below use their own connection; SQLite would wait for this one's lock
    today = dt.date.today()
    now = dt.datetime.now(UTC)
    dins = [isbt.make_din(fin, today.year, seq) for seq in range(1, n_lots + 1)]
    checks = [isbt.check_character(d) for d in dins]
    tech, pharm1, pharm2, nurse1, nurse2 = (staff[n] for n in ("tech", "pharm1", "pharm2", "nurse1", "nurse2"))
    holder_of = {"pharmacist": pharm1, "nurse": nurse1}
    infused = steps == len(WALK)
    status = WALK[steps - 1][0]

    def thaw(i):
        return first_thaw + i * thaw_spacing

    def bag_code(i):
        return barcodes.bag_code(dins[i // bags_per_lot], product_code, f"B{i % bags_per_lot + 1:03d}")

    bulk_insert("donors", ("id", "code", "eligibility", "created_at"),
                ((start["donors"] + k, f"D-{k + 1:06d}", "eligible", now) for k in range(n_lots)), n_lots)
    bulk_insert("lots", ("id", "din", "check_character", "product_id", "donor_id", "spec_id", "manufactured_on",
                         "expires_on", "container_count", "fill_volume_ml", "dmso_fraction_percent", "status",
                         "created_at", "created_by_id"),
                ((start["lots"] + k, dins[k], checks[k], product_id, start["donors"] + k, 1,
                  today - dt.timedelta(days=30), today + dt.timedelta(days=730), per_lot_containers, 5.0, 10.0,
                  "released", now, tech) for k in range(n_lots)), n_lots)
    bulk_insert("containers", ("id", "lot_id", "code", "division", "fill_volume_ml", "status"),
                ((start["containers"] + k * per_lot_containers + j, start["lots"] + k,
                  f"{dins[k]}-{product_code}-C{j + 1:03d}", f"C{j + 1:03d}", 5.0,
                  "thawed" if j < 3 * min(bags_per_lot, n_bags - k * bags_per_lot) else "in_storage")
                 for k in range(n_lots) for j in range(per_lot_containers)), n_lots * per_lot_containers)
    bulk_insert("subjects", ("id", "study_id", "cohort_id", "code", "wristband", "enrolled_at", "enrolled_by_id",
                             "infused_at"),
                ((start["subjects"] + i, study_id, cohort_id, f"S-{i + 1:07d}", f"MRN-{i + 1:07d}", thaw(i), tech,
                  thaw(i) + dt.timedelta(minutes=30) if infused else None)
                 for i in range(n_bags)), n_bags)
    bulk_insert("subject_weights", ("id", "subject_id", "weight_kg", "entered", "weighed_on", "recorded_by_id",
                                    "recorded_at"),
                ((start["subject_weights"] + i, start["subjects"] + i, 72.5748, "160 lb",
                  (thaw(i) - dt.timedelta(days=1)).date(), tech, thaw(i)) for i in range(n_bags)), n_bags)
    # The worked example of SPEC §7: 160 lb at 1.5e6 cell/kg, 12.0e6 cell/mL at 90 % viability.
    bulk_insert("doses", ("id", "subject_id", "lot_id", "weight_id", "status", "cohort_dose_cells_per_kg",
                          "dosing_weight_kg", "target_cells", "viable_concentration_cells_per_ml", "volume_ml",
                          "delivered_cells", "deviation_percent", "containers_needed", "dmso_g_per_kg",
                          "endotoxin_eu_per_kg", "planned_by_id", "planned_at", "prepared_by_id", "prepared_at",
                          "thawed_at", "verified_by_id", "verified_at"),
                ((start["doses"] + i, start["subjects"] + i, start["lots"] + i // bags_per_lot,
                  start["subject_weights"] + i, "verified", 1.5e6, 72.5748, 1.0886e8, 1.08e7, 10.1, 1.0908e8, 0.2,
                  3, 0.153, 0.028, pharm1, thaw(i), pharm1, thaw(i), thaw(i), pharm2, thaw(i))
                 for i in range(n_bags)), n_bags)
    bulk_insert("bags", ("id", "code", "division", "dose_id", "lot_id", "subject_id", "volume_ml", "status",
                         "thawed_at", "expires_at", "holder_id", "location", "label_prints", "created_at"),
                ((start["bags"] + i, bag_code(i), f"B{i % bags_per_lot + 1:03d}", start["doses"] + i,
                  start["lots"] + i // bags_per_lot, start["subjects"] + i, 10.1, status, thaw(i),
                  thaw(i) + dt.timedelta(hours=4), holder_of[WALK[steps - 1][1]], WALK[steps - 1][2], 1, thaw(i))
                 for i in range(n_bags)), n_bags)

    def container_id(i, j):
        return start["containers"] + (i // bags_per_lot) * per_lot_containers + 3 * (i % bags_per_lot) + j

    bulk_insert("dose_containers", ("id", "dose_id", "container_id", "volume_used_ml", "volume_discarded_ml"),
                ((start["dose_containers"] + 3 * i + j, start["doses"] + i, container_id(i, j),
                  5.0 if j < 2 else 0.1, 0.0 if j < 2 else 4.9) for i in range(n_bags) for j in range(3)), 3 * n_bags)

    def events(i):
        previous = None
        for step, (event, role, location) in enumerate(WALK[:steps]):
            actor = {"verified": pharm2}.get(event, holder_of[role])
            scanned = barcodes.bag_payload(dins[i // bags_per_lot], checks[i // bags_per_lot], product_code,
                                           f"B{i % bags_per_lot + 1:03d}") if event in (
                "dispensed", "received", "bedside_verified") else None
            yield (start["custody_events"] + steps * i + step, start["bags"] + i, event, previous, event,
                   thaw(i) + dt.timedelta(minutes=5 * step), actor, holder_of[role], location, scanned)
            previous = event

    bulk_insert("custody_events", ("id", "bag_id", "event", "from_status", "to_status", "at", "actor_id",
                                   "holder_id", "location", "scanned"),
                (e for i in range(n_bags) for e in events(i)), steps * n_bags)
    if infused:
        bulk_insert("bedside_checks", ("id", "bag_id", "subject_id", "bag_scan", "wristband_scan", "nurse_id",
                                       "witness_id", "at", "ok"),
                    ((start["bedside_checks"] + i, start["bags"] + i, start["subjects"] + i, bag_code(i),
                      f"MRN-{i + 1:07d}", nurse1, nurse2, thaw(i) + dt.timedelta(minutes=20), True)
                     for i in range(n_bags)), n_bags)
        bulk_insert("infusions", ("id", "bag_id", "subject_id", "bedside_check_id", "started_at", "completed_at",
                                  "volume_infused_ml", "reactions", "nurse_id", "recorded_at"),
                    ((start["infusions"] + i, start["bags"] + i, start["subjects"] + i, start["bedside_checks"] + i,
                      thaw(i) + dt.timedelta(minutes=25), thaw(i) + dt.timedelta(minutes=30), 10.1, "[]", nurse1,
                      thaw(i) + dt.timedelta(minutes=31)) for i in range(n_bags)), n_bags)
    db.session.execute(text("UPDATE cohorts SET enrolled_count = :n, infused_count = :i WHERE id = :id"),
                       {"n": n_bags, "i": n_bags if infused else 0, "id": cohort_id})
    # The seeded DINs took this year's sequence 1..n_lots: a lot registered afterwards takes the next number.
    year = today.year % 100
    db.session.execute(text("DELETE FROM din_sequences WHERE fin = :fin AND year = :year"), {"fin": fin, "year": year})
    db.session.execute(text("INSERT INTO din_sequences (fin, year, last_value) VALUES (:fin, :year, :n)"),
                       {"fin": fin, "year": year, "n": n_lots})
    after_bulk_load(list(start))
    return [(bag_code(i), barcodes.bag_payload(dins[i // bags_per_lot], checks[i // bags_per_lot], product_code,
                                               f"B{i % bags_per_lot + 1:03d}"), f"MRN-{i + 1:07d}")
            for i in range(n_bags)]
