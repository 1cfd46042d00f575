"""Audit-chain verification, rows/s, against a floor of hashlib.sha256 over the same bytes.

    .venv/bin/python bench/audit.py [--database sqlite|postgresql] [--rows 500000] [--repeat 3] [--profile]

Builds its own temporary database (a SQLite file, or a new PostgreSQL database at LIMS_BENCH_PG_URL that is dropped
afterwards) and bulk-loads a valid chain of `rows` audit rows, hashed with the application's own canonical_row() and
chain_hash(), so they are the bytes the app would have written. The rows follow the bedside's mix: custody moves,
bedside checks and witness signatures, each with the `after` JSON its record's audit_dict() gives (about 170 to 260
bytes), one in three with no `before`, some with a reason. Then it times:

- **verify**: `lims.audit.services.verify_chain()`, the function behind `flask audit verify` and
  `GET /api/v1/audit/verify`: it reads every row in sequence order, rebuilds the canonical row, recomputes the
  hash and compares both links, then checks the chain head;
- **floor**: `hashlib.sha256(prev_hash + canonical row).hexdigest()` over the same bytes, already in memory;
- **read**: the same rows fetched in the same batches on the raw driver cursor, without SQLAlchemy: the
  driver's and the database's share of the cost.

The target (issue 8) is at least 200,000 rows/s verified.
"""
import argparse
import cProfile
import datetime as dt
import hashlib
import pstats
import statistics
import time

from sqlalchemy import text

from common import Progress, TEST_HASH, add_database_option, bench_app, bulk_insert, machine, temporary_database

from lims.audit.models import GENESIS_HASH
from lims.audit.services import canonical_json, canonical_row, chain_hash, verify_chain
from lims.extensions import db
from lims.timeutil import iso

TARGET_ROWS_PER_S = 200_000
ACTORS = ("nurse1", "nurse2", "pharm1", "pharm2")
MOVES = (("verified", "dispensed"), ("dispensed", "received"), ("received", "bedside_verified"))


def audit_rows(n, start):
    """The n rows of a valid chain as (seq, at, actor, action, entity, entity_id, before, after, reason,
    prev_hash, hash), computed with the application's own canonical form."""
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        at = start + dt.timedelta(milliseconds=1500 * seq + seq % 7)
        bag_id, kind = seq // 3, seq % 3
        if kind == 0:
            (source, event), entity = MOVES[bag_id % 3], "custody_events"
            action = f"custody.{event}"
            after = {"bag_id": bag_id, "event": event, "from": source, "to": event, "at": iso(at),
                     "location": "Ward 4, bed 12", "scanned": f"MSC1:W123426{bag_id:06d}3:S1234:B001",
                     "holder_id": 9}
            before, reason = None, None
        elif kind == 1:
            action, entity = "bedside.verified", "bedside_checks"
            after = {"bag_id": bag_id, "subject_id": bag_id, "bag_scan": f"MSC1:W123426{bag_id:06d}3:S1234:B001",
                     "wristband_scan": f"MRN-{bag_id:07d}", "witness_id": 10, "ok": True, "failures": None}
            before = canonical_json({"status": "received"})
            reason = "re-scan after a torn wristband was replaced" if seq % 50 == 1 else None
        else:
            action, entity = "signature.witnessed", "signatures"
            after = {"printed_name": "Nurse2 Person", "meaning": "witnessed", "record_type": "bedside_checks",
                     "record_id": str(bag_id), "record_hash": hashlib.sha256(str(seq).encode()).hexdigest()}
            before, reason = canonical_json({"status": "none"}), None
        actor, entity_id, after_text = ACTORS[seq % 4], str(bag_id), canonical_json(after)
        digest = chain_hash(prev, canonical_row(seq, at, actor, action, entity, entity_id, before, after_text,
                                                reason))
        yield seq, at, actor, action, entity, entity_id, before, after_text, reason, prev, digest
        prev = digest


def seed(n):
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    last = {}

    def keep_last(rows):
        for row in rows:
            last["row"] = row
            yield row

    bulk_insert("audit_log", ("seq", "at", "actor", "action", "entity", "entity_id", "before", "after", "reason",
                              "prev_hash", "hash"), keep_last(audit_rows(n, start)), n)
    db.session.execute(text("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1"),
                       {"seq": n, "hash": last["row"][-1]})
    db.session.commit()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE audit_log")
        conn.commit()
    return start


def floor_rows_per_s(n, start, chunk=50_000):
    """sha256 over exactly the bytes verification hashes, timed alone: building them is not part of the floor."""
    progress = Progress("floor (sha256 over the same bytes)", n)
    elapsed, batch = 0.0, []

    def hash_batch():
        began = time.perf_counter()
        for payload in batch:
            hashlib.sha256(payload).hexdigest()
        return time.perf_counter() - began

    for seq, at, actor, action, entity, entity_id, before, after, reason, prev, _digest in audit_rows(n, start):
        batch.append((prev + canonical_row(seq, at, actor, action, entity, entity_id, before, after, reason))
                     .encode())
        if len(batch) == chunk:
            elapsed += hash_batch()
            progress.add(len(batch))
            batch = []
    elapsed += hash_batch()
    progress.add(len(batch))
    progress.close()
    return n / elapsed


def read_rows_per_s(batch=5000):
    """The rows fetched on the raw driver cursor, in the batches verify_chain uses: the driver's share."""
    raw = db.engine.raw_connection()
    mark = "%s" if db.engine.dialect.name == "postgresql" else "?"
    cursor = raw.cursor()
    statement = ("SELECT seq, at, actor, action, entity, entity_id, before, after, reason, prev_hash, hash "
                 f"FROM audit_log WHERE seq > {mark} ORDER BY seq LIMIT {batch}")
    began, last, count = time.perf_counter(), 0, 0
    try:
        while True:
            rows = cursor.execute(statement, (last,)).fetchall()
            if not rows:
                break
            last, count = rows[-1][0], count + len(rows)
        raw.rollback()
    finally:
        raw.close()
    return count / (time.perf_counter() - began)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_option(parser)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed verifications (the median is reported)")
    parser.add_argument("--profile", action="store_true", help="cProfile one verification")
    args = parser.parse_args()

    with temporary_database(args.database) as url:
        app = bench_app(url, **TEST_HASH)
        with app.app_context():
            print(f"seeding a chain of {args.rows:,} audit rows ({args.database})")
            start = seed(args.rows)
            runs, cpu = [], []
            for _ in range(args.repeat):
                db.session.remove()
                began, began_cpu = time.perf_counter(), time.process_time()
                result = verify_chain()
                runs.append(time.perf_counter() - began)
                cpu.append(time.process_time() - began_cpu)
                if result != {"ok": True, "checked": args.rows, "first_broken": None}:
                    raise SystemExit(f"verification failed on a valid chain: {result}")
            verify = args.rows / statistics.median(runs)
            read = statistics.median(read_rows_per_s() for _ in range(args.repeat))
            floor = floor_rows_per_s(args.rows, start)
            print(f"\nmachine: {machine(args.database)}")
            print(f"{args.rows:,} audit rows; rows/s, median of {args.repeat} runs")
            print(f"{'verify rows/s':>13} | {'floor rows/s':>12} | {'ratio':>5} | {'raw read rows/s':>15} | "
                  f"{'verify rows/CPU s':>17} | target")
            met = verify >= TARGET_ROWS_PER_S
            print(f"{verify:>13,.0f} | {floor:>12,.0f} | {verify / floor:>5.2f} | {read:>15,.0f} | "
                  f"{args.rows / statistics.median(cpu):>17,.0f} | "
                  f">= {TARGET_ROWS_PER_S:,} rows/s: {'met' if met else 'MISSED'}")
            print("(ratio = verify / floor; floor = hashlib.sha256 over the same bytes, already in memory; "
                  "rows/CPU s = rows per second of this process's CPU time, what a busy machine's wall time hides)")
            if args.profile:
                db.session.remove()
                profiler = cProfile.Profile()
                profiler.runcall(verify_chain)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
