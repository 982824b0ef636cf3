#!/usr/bin/env bash
# uv.lock pins every package of the project's own environments (.venv: the tap, the DuckDB loader,
# the test and lint tools; .tools: Meltano). The venvs Meltano builds for the plugins install with
# pins too (meltano.yml's pip_url `--constraint requirements/...`):
#   requirements/plugins.txt      the tap's and the loader's dependencies, exported from uv.lock
#   requirements/target-jsonl.txt target-jsonl's own (it needs jsonschema 2.6, so it cannot share uv.lock)
#
#   bash scripts/lock.sh                              # after changing a dependency in a pyproject.toml
#   bash scripts/lock.sh --upgrade-package msgspec    # one package to the newest version its range allows
#   bash scripts/lock.sh --upgrade                    # everything
#   bash scripts/lock.sh --check                      # (scripts/check.sh) the exports match uv.lock; no network
# then `bash scripts/setup.sh` installs the new pins and the tests say whether they still hold.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=.tools/bin/uv

plugins() {
  "$UV" export --frozen --quiet --all-packages --no-default-groups --no-emit-workspace --no-hashes --no-annotate \
    --format requirements-txt
}

if [ "${1:-}" = "--check" ]; then
  plugins | diff -u requirements/plugins.txt - \
    || { echo "lock: requirements/plugins.txt differs from uv.lock; run bash scripts/lock.sh" >&2; exit 1; }
  exit 0
fi

"$UV" lock "$@"
mkdir -p requirements
plugins > requirements/plugins.txt
# target-jsonl's version is the one meltano.yml's pip_url names.
grep -o 'target-jsonl==[0-9.]*' meltano.yml | "$UV" pip compile - --quiet --python-version 3.11 --no-annotate \
  --custom-compile-command "bash scripts/lock.sh" -o requirements/target-jsonl.txt "$@"
