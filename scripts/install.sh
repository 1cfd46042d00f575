#!/usr/bin/env bash
# Creates .venv at the project root and installs the locked dependencies into it (idempotent).
#   scripts/install.sh          what the server needs (pyproject's [project] dependencies), for the run command
#   scripts/install.sh --dev    that and the dev group (pytest, playwright, ruff, …), for the test command
# Every package comes from uv.lock with its hash; `--locked` fails if pyproject.toml changed without `uv lock`.
set -euo pipefail
cd "$(dirname "$0")/.."
groups=(--no-dev)
[ "${1:-}" = "--dev" ] && groups=()
if [ ! -x .venv/bin/python ]; then
  # Debian's python3 makes a venv only with python3-venv installed (ensurepip lives there).
  if ! python3 -m venv .venv 2>/dev/null; then
    rm -rf .venv
    command -v apt-get >/dev/null 2>&1 || { echo "python3 -m venv failed: install Python's venv module" >&2; exit 1; }
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
    python3 -m venv .venv
  fi
fi
want_uv=$(sed -n 's/^uv==\([^ ]*\).*/\1/p' scripts/uv-requirements.txt)
if [ "$(.venv/bin/uv --version 2>/dev/null | cut -d' ' -f2)" != "$want_uv" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r scripts/uv-requirements.txt
fi
# --inexact: packages already in .venv stay (a developer's .venv may be shared, or hold a package being added).
UV_PYTHON_DOWNLOADS=never .venv/bin/uv sync --quiet --locked --inexact "${groups[@]}"
