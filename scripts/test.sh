#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the suite needs, starts PostgreSQL 15, runs the whole suite
# on SQLite and PostgreSQL, then lints (ruff). Extra arguments go to pytest (e.g. scripts/test.sh -k bedside).
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
apt_updated=0
need_apt() {  # install Debian packages when a command or file is missing
  if [ "$apt_updated" = 0 ]; then apt-get update -q; apt_updated=1; fi
  apt-get install -y -q "$@"
}
[ -x /usr/bin/chromium ] || need_apt chromium
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt fonts-dejavu-core
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt postgresql

scripts/install.sh --dev

# axe-core for the browser suite's accessibility test (tests/browser/axe.py): the npm package at the version that
# test names, in .cache/axe (not committed); installed when missing or at another version, otherwise reused.
axe_version=4.14.1
if [ "$(node -p "require('./.cache/axe/node_modules/axe-core/package.json').version" 2>/dev/null)" != "$axe_version" ]
then
  command -v npm >/dev/null 2>&1 || need_apt npm
  npm install --prefix .cache/axe --no-audit --no-fund --no-save --silent "axe-core@$axe_version"
fi

# PostgreSQL: the machine's cluster, started if stopped, with a role of our own that may create test databases.
pg_version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | grep -q "^$pg_version main"; then pg_createcluster "$pg_version" main; fi
pg_ctlcluster "$pg_version" main start 2>/dev/null || true
for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 && break; sleep 0.5; done
pg_isready -h 127.0.0.1
port=$(pg_lsclusters -h | awk -v v="$pg_version" '$1==v && $2=="main" {print $3}')
su postgres -c "psql -q -p $port -v ON_ERROR_STOP=1" <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lims_test') THEN
    CREATE ROLE lims_test LOGIN CREATEDB PASSWORD 'lims_test';
  END IF;
  IF NOT pg_has_role('lims_test', 'pg_signal_backend', 'member') THEN
    GRANT pg_signal_backend TO lims_test;  -- DROP DATABASE ... WITH (FORCE) ends stray test connections
  END IF;
END $$;
SQL
export LIMS_TEST_PG_URL="postgresql://lims_test:lims_test@127.0.0.1:$port/postgres"
export LIMS_REQUIRE_PG=1
export LIMS_PG_CLUSTER="$pg_version main"

mkdir -p test-artifacts
set +e
.venv/bin/python -m pytest -n 2 "$@"
rc=$?
set -e
# Exit code 5 means pytest collected no tests: that is a failure here, never a pass.
[ $rc -eq 5 ] && echo "pytest collected no tests" >&2

# Lint after the tests, so a lint failure never hides their results; either one fails the run.
echo "ruff check (settings in pyproject.toml):"
.venv/bin/ruff check . || { echo "lint failed: fix the lines above (or explain an exception in pyproject.toml)" >&2; \
  [ $rc -ne 0 ] || rc=1; }
exit $rc
