#!/usr/bin/env bash
# Everything the tests need, installed into the project from uv.lock (idempotent):
#   .venv   the tap and the DuckDB loader (editable), the test, lint and type tools: `uv sync --locked`
#   .tools  uv itself, and Meltano, for the end-to-end Meltano tests and the demo
# Exactly the versions in uv.lock: a uv.lock that no longer matches pyproject.toml stops here
# (bash scripts/lock.sh updates it). The plugin venvs Meltano builds take the same pins (meltano.yml).
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9  # also in pyproject.toml's meltano group (uv.lock)
# Bytecode compiled at install, as pip does by default and uv only when asked: without it every
# process compiles its imports again (PYTHONDONTWRITEBYTECODE=1 here), 0.45 s of the tap's 0.84 s
# start-up and most of Meltano's (benchmarks/bench.py, python -X importtime).
export UV_COMPILE_BYTECODE=1
if ! .tools/bin/uv --version 2>/dev/null | grep -qx "uv $UV_VERSION.*"; then
  python3 -m venv .tools
  .tools/bin/python -m pip install --quiet "uv==$UV_VERSION"
fi
UV=.tools/bin/uv
"$UV" sync --locked --quiet
# Meltano from the same lock, beside uv (--inexact: the pip that made .tools stays).
UV_PROJECT_ENVIRONMENT=.tools "$UV" sync --locked --quiet --only-group meltano --inexact
# The editable sources live outside site-packages, where uv does not compile.
.venv/bin/python -m compileall -q tap_restgeneric loaders/target-duckdb-exact/target_duckdb_exact > /dev/null
