#!/usr/bin/env bash
# Lint, format and type checks, as CI runs them (config in pyproject.toml); exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every Python file in git is linted and formatted: an exclude that matches too much (a bare
# "output" once hid tap_restgeneric/output/) fails here instead of passing quietly.
skipped=$(comm -23 <(git ls-files '*.py' | sort) <(.venv/bin/ruff check --show-files . | sed "s|^$PWD/||" | sort))
if [ -n "$skipped" ]; then
  printf 'check: ruff skips these files tracked by git (see extend-exclude in pyproject.toml):\n%s\n' "$skipped" >&2
  exit 1
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy  # every package of the tap and the loader (pyproject.toml [tool.mypy] packages)
.venv/bin/python scripts/preset_schemas.py --check
bash scripts/lock.sh --check  # the pins Meltano's plugin venvs install are uv.lock's
