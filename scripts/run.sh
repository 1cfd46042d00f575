#!/usr/bin/env bash
# The run command (README): builds .venv (the server's dependencies only), creates or upgrades the database and
# serves the app with gunicorn on http://${BIND:-127.0.0.1:${PORT:-8000}}.
#   SQLite (the default, a file under instance/): a local secret key is made once into instance/secret_key and the
#     demo study is loaded, so a new machine shows the whole flow at once.
#   PostgreSQL (DATABASE_URL=postgresql://…): a real site. LIMS_SECRET_KEY must come from the environment (every
#     instance signs with the same key), the database is waited for, and the demo is loaded only with LIMS_DEMO=1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
mkdir -p instance
flask() { .venv/bin/flask --app wsgi "$@"; }

case "${DATABASE_URL:-sqlite}" in
  postgres://*|postgresql://*|postgresql+psycopg://*) database=postgresql ;;
  *) database=sqlite ;;
esac

if [ "$database" = sqlite ]; then
  if [ -z "${LIMS_SECRET_KEY:-}" ]; then
    [ -f instance/secret_key ] || (umask 077; .venv/bin/python -c 'import secrets;print(secrets.token_hex(32))' \
                                     > instance/secret_key)
    export LIMS_SECRET_KEY=$(cat instance/secret_key)
  fi
  demo=${LIMS_DEMO:-1}
else
  if [ -z "${LIMS_SECRET_KEY:-}" ]; then
    echo "LIMS_SECRET_KEY is not set: on PostgreSQL every instance must sign sessions with the same key;" >&2
    echo "set it from the site's secret store (README, Operations)." >&2
    exit 2
  fi
  demo=${LIMS_DEMO:-0}
  # A server started with its database (a boot, a failover) waits up to a minute for it rather than failing.
  .venv/bin/python - <<'PY'
import os, sys, time
import psycopg
url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://", 1)
for attempt in range(60):
    try:
        psycopg.connect(url, connect_timeout=3).close()
        sys.exit(0)
    except psycopg.OperationalError as e:
        last = e
        time.sleep(1)
sys.exit(f"PostgreSQL at DATABASE_URL did not answer within a minute: {last}")
PY
fi

flask db upgrade
if [ "$demo" = 1 ]; then flask demo load; fi
bind=${BIND:-127.0.0.1:${PORT:-8000}}
echo "Serving on http://$bind ($database)  (Ctrl-C to stop)"
# No gunicorn access log: the app writes one JSON line per request to stdout (lims/observability.py).
exec .venv/bin/gunicorn --workers "${WORKERS:-2}" --threads "${THREADS:-1}" --bind "$bind" wsgi:app
