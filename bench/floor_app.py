"""The floor of bench/bedside.py: a bare Flask JSON route, served by the same gunicorn settings as the LIMS.

It reads the same request body as POST /api/v1/bedside/verify and answers a JSON body of about the same size, with
no database, no authentication and no password check: what HTTP, gunicorn and Flask cost on their own.
"""
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/api/v1/bedside/verify")
def bedside_verify():
    body = request.get_json()
    return jsonify({"ok": True, "bag": body["bag"], "checks": [
        {"name": name, "passed": True} for name in ("right_subject", "bag_verified", "bag_received", "lot_released",
                                                    "within_expiry", "not_infused", "subject_not_yet_infused")],
        "failures": []})


@app.get("/ready")
def ready():
    return jsonify({"ok": True})
