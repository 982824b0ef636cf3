#!/usr/bin/env bash
# Everything the tests need, installed into the project (idempotent):
#   .venv   the tap, the DuckDB loader and the test tools
#   .tools  Meltano (installed with uv), for the end-to-end Meltano tests and the demo
set -euo pipefail
cd "$(dirname "$0")/.."
# Bytecode compiled at install, as pip does by default and uv only when asked: without it every
# process compiles its imports again (PYTHONDONTWRITEBYTECODE=1 here), 0.45 s of the tap's 0.84 s
# start-up and most of Meltano's (benchmarks/bench.py, python -X importtime).
export UV_COMPILE_BYTECODE=1
if [ ! -x .tools/bin/meltano ]; then
  python3 -m venv .tools
  .tools/bin/python -m pip install --quiet uv==0.13.9
  .tools/bin/uv pip install --quiet --python .tools/bin/python meltano==4.4.1
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.tools/bin/uv pip install --quiet --python .venv/bin/python -e ".[test]" -e ./loaders/target-duckdb-exact
# The editable sources live outside site-packages, where uv does not compile.
.venv/bin/python -m compileall -q tap_restgeneric loaders/target-duckdb-exact/target_duckdb_exact > /dev/null
