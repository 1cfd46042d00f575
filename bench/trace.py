"""Lot trace and subject trace latency with 1,000,000 custody events, against a floor of one indexed SQL query that
returns the same rows.

    .venv/bin/python bench/trace.py [--database sqlite|postgresql] [--events 1000000] [--samples 200] [--profile]

Builds its own temporary database (a SQLite file, or a new PostgreSQL database at LIMS_BENCH_PG_URL that is dropped
afterwards) and bulk-loads a history of events // 7 bags, each walked through the seven custody events from
`prepared` to `infused`, with its subject, lot, containers, dose, bedside check and infusion (bench/common.py). Then,
for `samples` lots and subjects drawn at random, interleaved so that load on the machine hits all of them alike:

- **service**: the lookup and the trace function the API calls (`lots.get_lot` + `trace.lot_trace`,
  `studies.get_subject` + `trace.subject_trace`), from an empty session each time;
- **API**: `GET /api/v1/lots/{id}/trace` and `/subjects/{id}/trace` through Flask's test client with a Bearer
  token: routing, authentication, the trace and the JSON, without a network hop;
- **floor**: one SQL statement on the raw driver connection, using the same indexes, returning the same rows the
  trace lists. Lot: one row per container of the lot with the bag it fed and that bag's subject
  (containers by lot_id, then the unique dose_containers.container_id, bags.dose_id and subjects.id). Subject: one
  row per custody event of the subject's bags with the bag's code (bags by subject_id, then custody_events by
  (bag_id, at, id)), in timeline order.

The target (SPEC §15, issue 8) is a trace under 50 ms at 1,000,000 events on PostgreSQL; it is checked on the API's
p99, the slowest of the three figures.
"""
import argparse
import cProfile
import datetime as dt
import pstats
import random
import time

from sqlalchemy import text

from common import (TEST_HASH, add_database_option, bench_app, create_staff, machine, percentile, seed_bags,
                    temporary_database, WALK)

from lims.auth import services as auth
from lims.auth.models import User
from lims.chainofcustody import trace
from lims.extensions import db
from lims.lots import services as lots
from lims.studies import services as studies

LOT_FLOOR = """
    SELECT c.id, c.code, c.status, b.code, b.status, s.id, s.code
    FROM containers c
    LEFT JOIN dose_containers dc ON dc.container_id = c.id
    LEFT JOIN bags b ON b.dose_id = dc.dose_id
    LEFT JOIN subjects s ON s.id = b.subject_id
    WHERE c.lot_id = {p}
    ORDER BY c.id"""
SUBJECT_FLOOR = """
    SELECT e.id, e.event, e.from_status, e.to_status, e.at, e.actor_id, e.holder_id, e.location, e.scanned, b.code
    FROM bags b JOIN custody_events e ON e.bag_id = b.id
    WHERE b.subject_id = {p}
    ORDER BY e.at, e.id"""
TARGET_MS = 50.0


def timed_ms(fn):
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_option(parser)
    parser.add_argument("--events", type=int, default=1_000_000, help="custody events to seed (7 per bag)")
    parser.add_argument("--samples", type=int, default=200, help="lots and subjects traced, each")
    parser.add_argument("--bags-per-lot", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="cProfile 50 subject traces and 50 lot traces")
    parser.add_argument("--explain", action="store_true", help="print the query plans of the two floor queries")
    args = parser.parse_args()

    with temporary_database(args.database) as url:
        app = bench_app(url, **TEST_HASH)
        with app.app_context():
            staff = create_staff([("tech", ["technician"]), ("qa", ["qa"]), ("pharm1", ["pharmacist"]),
                                  ("pharm2", ["pharmacist"]), ("nurse1", ["nurse"]), ("nurse2", ["nurse"])])
            n_bags = max(1, -(-args.events // len(WALK)))  # at least --events
            print(f"seeding {n_bags:,} bags with {n_bags * len(WALK):,} custody events ({args.database})")
            started = time.perf_counter()
            first_thaw = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1) - n_bags * dt.timedelta(minutes=10)
            seed_bags(n_bags, len(WALK), staff, bags_per_lot=args.bags_per_lot, first_thaw=first_thaw,
                      thaw_spacing=dt.timedelta(minutes=10))
            print(f"seeded in {time.perf_counter() - started:.0f} s")
            results = measure(app, args, staff)
            print(f"\nmachine: {machine(args.database)}")
            report(results, n_bags, args)
            if args.explain:
                explain(args.database)
            if args.profile:
                profile(args)
            db.session.remove()
            db.engine.dispose()


def measure(app, args, staff):
    lot_ids = [r[0] for r in db.session.execute(text("SELECT id FROM lots ORDER BY id")).all()]
    subject_ids = [r[0] for r in db.session.execute(text("SELECT id FROM subjects ORDER BY id")).all()]
    user = db.session.get(User, staff["qa"])
    token, _ = auth.issue_token(user)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(1)
    raw = db.engine.raw_connection()
    cursor = raw.cursor()
    placeholder = "%s" if db.engine.dialect.name == "postgresql" else "?"
    floors = {"lot": LOT_FLOOR.format(p=placeholder), "subject": SUBJECT_FLOOR.format(p=placeholder)}
    kinds = {
        "lot": (lot_ids, lambda i: trace.lot_trace(lots.get_lot(i)), "/api/v1/lots/{}/trace",
                lambda body: len(body["containers"])),
        "subject": (subject_ids, lambda i: trace.subject_trace(studies.get_subject(i)), "/api/v1/subjects/{}/trace",
                    lambda body: sum(len(b["custody"]) for b in body["bags"])),
    }
    results = {}
    try:
        for kind, (ids, service, path, rows_of) in kinds.items():
            sample = [rng.choice(ids) for _ in range(args.samples + 5)]
            figures = {"service": [], "api": [], "floor": [], "rows": []}
            for n, entity_id in enumerate(sample):
                db.session.remove()
                service_ms, body = timed_ms(lambda: service(entity_id))
                db.session.remove()
                api_ms, response = timed_ms(lambda: client.get(path.format(entity_id), headers=headers))
                assert response.status_code == 200, response.get_json()
                assert response.get_json() == body, "the API and the service disagree"
                floor_ms, rows = timed_ms(lambda: cursor.execute(floors[kind], (entity_id,)).fetchall())
                raw.rollback()
                if rows_of(body) != len(rows):
                    raise SystemExit(f"{kind} {entity_id}: the floor returned {len(rows)} rows, "
                                     f"the trace lists {rows_of(body)}")
                if n >= 5:  # the first few warm caches and prepared statements
                    for name, value in (("service", service_ms), ("api", api_ms), ("floor", floor_ms),
                                        ("rows", len(rows))):
                        figures[name].append(value)
            results[kind] = figures
    finally:
        raw.close()
    return results


def report(results, n_bags, args):
    print(f"{n_bags * len(WALK):,} custody events, {n_bags:,} bags, {args.bags_per_lot} bags per lot; "
          f"{args.samples} random lots and subjects; ms")
    print(f"{'trace':>8} | {'rows':>4} | {'service p50':>11} | {'p99':>6} | {'API p50':>7} | {'p99':>6} | "
          f"{'floor p50':>9} | {'p99':>5} | {'ratio p50':>9} | target")
    for kind, f in results.items():
        service50, api50, floor50 = (percentile(f[k], 50) for k in ("service", "api", "floor"))
        api99 = percentile(f["api"], 99)
        target = f"API p99 {'<' if api99 < TARGET_MS else '>='} {TARGET_MS:.0f} ms: " \
                 f"{'met' if api99 < TARGET_MS else 'MISSED'}"
        print(f"{kind:>8} | {percentile(f['rows'], 50):>4} | {service50:>11.2f} | "
              f"{percentile(f['service'], 99):>6.2f} | {api50:>7.2f} | {api99:>6.2f} | {floor50:>9.3f} | "
              f"{percentile(f['floor'], 99):>5.2f} | {service50 / floor50:>9.1f} | {target}")
    print("(ratio = service p50 / floor p50; rows = what the floor query returns, the trace's longest list)")


def explain(kind):
    """The plans of the floor queries for a lot and a subject in the middle of the history: both must be index
    scans, or the floor is not the floor."""
    middle = {name: db.session.execute(text(f"SELECT max(id) / 2 FROM {name}")).scalar()
              for name in ("lots", "subjects")}
    prefix = "EXPLAIN (ANALYZE, BUFFERS)" if kind == "postgresql" else "EXPLAIN QUERY PLAN"
    for name, query in (("lots", LOT_FLOOR), ("subjects", SUBJECT_FLOOR)):
        print(f"\n{prefix} of the {name[:-1]} floor, id {middle[name]}:")
        for row in db.session.execute(text(prefix + query.format(p=":id")), {"id": middle[name]}):
            print("  ", " | ".join(str(v) for v in row))
    db.session.rollback()


def profile(args):
    lot_ids = [r[0] for r in db.session.execute(text("SELECT id FROM lots ORDER BY id LIMIT 50")).all()]
    subject_ids = [r[0] for r in db.session.execute(text("SELECT id FROM subjects ORDER BY id LIMIT 50")).all()]

    def run():
        for lot_id, subject_id in zip(lot_ids, subject_ids, strict=True):
            db.session.remove()
            trace.lot_trace(lots.get_lot(lot_id))
            db.session.remove()
            trace.subject_trace(studies.get_subject(subject_id))

    profiler = cProfile.Profile()
    profiler.runcall(run)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
