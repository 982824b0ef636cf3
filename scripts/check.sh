#!/usr/bin/env bash
# Lint, format and type checks, as CI runs them (config in pyproject.toml); exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python scripts/preset_schemas.py --check
