"""The second floor of bench/bedside.py: the least database work a recorded bedside check can do, with nothing else.

Served by the same gunicorn settings as the LIMS, it takes the same request body, and in one transaction on a raw
driver connection (psycopg or sqlite3, one per thread, no ORM, no pool): locks the scanned bag's row, inserts a bedside
check row, and appends one audit row to the hash chain under the chain head's lock, then commits. That is the write
set of a near miss, without the token, the witness's password check, the checks themselves or any SQLAlchemy.

Its requests/s bound what any implementation of the recorded check can reach on this machine and database, which is
why a ratio against the bare Flask floor alone cannot be read as the application's overhead. The rows it writes are
real and chained: the audit chain stays verifiable after the benchmark.
"""
import datetime as dt
import os
import sqlite3
import sys
import threading
from pathlib import Path

from flask import Flask, jsonify, request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lims.audit.services import chain_hash, canonical_row
from lims.barcodes import bag_code_from_scan

URL = os.environ["DATABASE_URL"]
POSTGRESQL = URL.startswith("postgresql")
MARK = "%s" if POSTGRESQL else "?"
NURSE, WITNESS = os.environ.get("LIMS_FLOOR_NURSE", "nurse1"), os.environ.get("LIMS_FLOOR_WITNESS", "nurse3")

app = Flask(__name__)
_local = threading.local()


def _connection():
    conn = getattr(_local, "conn", None)
    if conn is None:
        if POSTGRESQL:
            import psycopg
            conn = psycopg.connect(URL)
        else:
            conn = sqlite3.connect(URL[len("sqlite:///"):], isolation_level=None, timeout=15)
            conn.execute("PRAGMA journal_mode=WAL")
        ids = dict(conn.execute(f"SELECT username, id FROM users WHERE username IN ({MARK}, {MARK})",
                                (NURSE, WITNESS)).fetchall())
        if not POSTGRESQL:
            conn.commit()
        _local.conn, _local.ids = conn, ids
    return conn, _local.ids


def _stored(at):
    # What UTCDateTime stores: an aware time on PostgreSQL, naive UTC text with microseconds on SQLite.
    return at if POSTGRESQL else at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


@app.post("/api/v1/bedside/verify")
def bedside_verify():
    body = request.get_json()
    code = bag_code_from_scan(body["bag"])
    conn, ids = _connection()
    cur = conn.cursor()
    if not POSTGRESQL:
        cur.execute("BEGIN IMMEDIATE")
    cur.execute(f"SELECT id, status FROM bags WHERE code = {MARK}" + (" FOR UPDATE" if POSTGRESQL else ""), (code,))
    bag_id, status = cur.fetchone()
    now = dt.datetime.now(dt.timezone.utc)
    cur.execute(f"INSERT INTO bedside_checks (bag_id, bag_scan, wristband_scan, nurse_id, witness_id, at, ok) "
                f"VALUES ({MARK}, {MARK}, {MARK}, {MARK}, {MARK}, {MARK}, {MARK}) RETURNING id",
                (bag_id, body["bag"][:128], body["wristband"][:128], ids[NURSE], ids[WITNESS], _stored(now), False))
    check_id = cur.fetchone()[0]
    cur.execute("SELECT seq, hash FROM audit_head WHERE id = 1" + (" FOR UPDATE" if POSTGRESQL else ""))
    seq, prev = cur.fetchone()
    seq, at = seq + 1, dt.datetime.now(dt.timezone.utc)
    after = f'{{"bag_id":{bag_id},"floor":true}}'
    digest = chain_hash(prev, canonical_row(seq, at, NURSE, "bench.write_floor", "bedside_checks", str(check_id),
                                            None, after, None))
    cur.execute(f"INSERT INTO audit_log (seq, at, actor_id, actor, action, entity, entity_id, before, after, reason, "
                f"prev_hash, hash) VALUES ({', '.join([MARK] * 12)})",
                (seq, _stored(at), ids[NURSE], NURSE, "bench.write_floor", "bedside_checks", str(check_id), None,
                 after, None, prev, digest))
    cur.execute(f"UPDATE audit_head SET seq = {MARK}, hash = {MARK} WHERE id = 1", (seq, digest))
    conn.commit()
    return jsonify({"ok": False, "check_id": check_id, "bag": code, "status": status, "checks": [], "failures": []})


@app.get("/ready")
def ready():
    return jsonify({"ok": True})
