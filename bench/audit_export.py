"""The audit trail's CSV copy of 10^6 rows: the exporting process's peak resident memory, and its rows/s.

    .venv/bin/python bench/audit_export.py [--database sqlite|postgresql] [--rows 1000000]

Builds its own temporary database and bulk-loads a valid chain of `rows` audit rows (bench/audit.py's seed: the
bedside's mix of custody moves, bedside checks and witness signatures), plus an administrator. Then a fresh Python
process, which has done nothing else, builds the app, takes the administrator's token and reads
`GET /api/v1/audit/export.csv` (no filter: every row) through the Flask test client without buffering, chunk by
chunk, as a browser downloading it would, counting the rows and checking the statement of verification at the end.
It reports its resident memory before the request and at its peak (VmHWM, the kernel's high-water mark, so no
sample can miss the peak), and the rows/s. The floor is the same process's resident memory before the request: the
export's own cost is the difference.

The target (issue 18): the exporting process stays under 200 MB resident.
"""
import argparse
import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

from common import PASSWORD, TEST_HASH, add_database_option, bench_app, machine, temporary_database

TARGET_MB = 200
HERE = Path(__file__).resolve().parent


def _memory_mb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(url):
    """The exporting process: prints one JSON line of figures."""
    from lims.extensions import db
    app = bench_app(url, **TEST_HASH)
    with app.app_context():
        client = app.test_client()
        token = client.post("/api/v1/auth/token", json={"username": "auditor", "password": PASSWORD}).get_json()
        headers = {"Authorization": f"Bearer {token['token']}"}
        client.get("/api/v1/audit", headers=headers)  # the app's first request (imports, statement caches)
        before = _memory_mb("VmRSS")
        began = time.perf_counter()
        response = client.get("/api/v1/audit/export.csv", headers=headers, buffered=False)
        assert response.status_code == 200, response.status_code
        rows, size, tail, pending = 0, 0, [], ""
        for chunk in response.iter_encoded():
            size += len(chunk)
            pending += chunk.decode()
            lines = pending.split("\r\n")
            pending = lines.pop()
            for line in lines:
                if line[:1].isdigit():
                    rows += 1
                elif line.startswith(("# rows", "# chain")):
                    tail.append(next(csv.reader(io.StringIO(line))))
        response.close()
        elapsed = time.perf_counter() - began
        db.session.remove()
    print(json.dumps({"rss_before_mb": before, "peak_mb": _memory_mb("VmHWM"), "rows": rows, "bytes": size,
                      "seconds": elapsed, "tail": tail}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_option(parser)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)

    from audit import seed

    from lims.auth import services as auth
    from lims.extensions import db
    with temporary_database(args.database) as url:
        app = bench_app(url, **TEST_HASH)
        with app.app_context():
            print(f"seeding a chain of {args.rows:,} audit rows ({args.database})")
            seed(args.rows)
            auth.create_user("auditor", "Audit Exporter", ["admin"], PASSWORD)  # its own audit row: rows + 1
            machine_line = machine(args.database)
            db.session.remove()
            db.engine.dispose()
        print("exporting every row as CSV in a fresh process")
        done = subprocess.run([sys.executable, str(HERE / "audit_export.py"), "--child", url],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the exporting process failed:\n{done.stderr[-3000:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    expected = args.rows + 1
    tail = dict(figures["tail"])
    if figures["rows"] != expected or int(tail.get("# rows", -1)) != expected or \
            not tail.get("# chain", "").startswith("verified"):
        raise SystemExit(f"the copy is not whole or did not verify: {figures}")
    peak, before = figures["peak_mb"], figures["rss_before_mb"]
    print(f"\nmachine: {machine_line}")
    print(f"{'rows':>9} | {'MB of CSV':>9} | {'rows/s':>7} | {'RSS before':>10} | {'peak RSS':>8} | "
          f"{'export adds':>11} | target")
    rate = figures["rows"] / figures["seconds"]
    print(f"{figures['rows']:>9,} | {figures['bytes'] / 2**20:>9,.0f} | {rate:>7,.0f} | "
          f"{before:>7.1f} MB | {peak:>5.1f} MB | {peak - before:>8.1f} MB | < {TARGET_MB} MB peak: "
          f"{'met' if peak < TARGET_MB else 'MISSED'}")
    print(f"chain line of the copy: {tail['# chain']}")


if __name__ == "__main__":
    main()
