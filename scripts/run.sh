#!/usr/bin/env bash
# The run command (README): builds .venv, creates the database (SQLite under instance/ unless DATABASE_URL says
# otherwise), loads the demo study and serves the app with gunicorn on http://127.0.0.1:${PORT:-8000}.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || true  # labels ship their own fonts
scripts/install.sh
mkdir -p instance
if [ -z "${LIMS_SECRET_KEY:-}" ]; then
  [ -f instance/secret_key ] || .venv/bin/python -c 'import secrets;print(secrets.token_hex(32))' > instance/secret_key
  export LIMS_SECRET_KEY=$(cat instance/secret_key)
fi
.venv/bin/flask --app wsgi db upgrade
.venv/bin/flask --app wsgi demo load
echo "Serving on http://127.0.0.1:${PORT:-8000}  (Ctrl-C to stop)"
exec .venv/bin/gunicorn --workers "${WORKERS:-2}" --bind "127.0.0.1:${PORT:-8000}" --access-logfile - wsgi:app
