#!/usr/bin/env bash
# The main job on a fresh machine, in one command:
#   install Meltano (uv), install the plugins, start the sandbox API on 127.0.0.1,
#   run `meltano run tap-restgeneric--<preset> target-duckdb` for the five presets and for
#   examples/tracker.yaml (a parent/child source: issues -> comments -> reactions),
#   and print each DuckDB table's row count next to what the sandbox serves.
# Idempotent: a second run reuses the installs and upserts into the same DuckDB file.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PORT=${SANDBOX_PORT:-8765}
# SANDBOX_URL, and every extractor's base_url (TAP_RESTGENERIC__<NAME>_BASE_URL) on that port:
# a variable Meltano derives for a setting wins over meltano.yml (where a URL of its `env:` would not).
source scripts/sandbox_env.sh
export SANDBOX_SECRET=${SANDBOX_SECRET:-sandbox-secret}

# 0. The port must be free: something else answering there would be synced instead of the sandbox.
if (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; then
  echo "demo: something is already listening on 127.0.0.1:${PORT}; stop it, or run SANDBOX_PORT=<free port> bash scripts/demo.sh" >&2
  exit 1
fi

# 1. Meltano, installed with uv into .tools (not on the system); see scripts/setup.sh.
bash scripts/setup.sh
export PATH="$ROOT/.tools/bin:$PATH"
export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false MELTANO_CLI_DISABLE_VERSION_CHECK=true

# 2. Plugins (uv venv backend), then the sandbox from the tap's own venv.
meltano install > .meltano-install.log 2>&1 || { tail -20 .meltano-install.log; exit 1; }
TAP_PY=.meltano/extractors/tap-restgeneric/venv/bin/python
"$TAP_PY" -m tap_restgeneric.sandbox --port "$PORT" --secret "$SANDBOX_SECRET" > .meltano/sandbox.log 2>&1 &
SANDBOX_PID=$!
trap 'kill $SANDBOX_PID 2>/dev/null || true' EXIT
# Synced only once this sandbox says it listens (it binds first): if another server took the port
# since step 0, the sandbox exits instead, and so does the demo, without syncing that server.
for _ in $(seq 100); do
  grep -qx "sandbox listening on ${SANDBOX_URL}" .meltano/sandbox.log && break
  kill -0 "$SANDBOX_PID" 2>/dev/null || break
  sleep 0.1
done
if ! grep -qx "sandbox listening on ${SANDBOX_URL}" .meltano/sandbox.log; then
  echo "demo: the sandbox did not start on 127.0.0.1:${PORT}: $(tail -1 .meltano/sandbox.log)" >&2
  exit 1
fi

# 3. The secrets come from the environment, as Meltano derives the names (or from .env).
export TAP_RESTGENERIC_SECRETS_API_KEY="$SANDBOX_SECRET" TAP_RESTGENERIC_SECRETS_API_TOKEN="$SANDBOX_SECRET"
for preset in learning certifications social-insights incidents operations tracker; do
  echo "meltano run tap-restgeneric--${preset} target-duckdb"
  meltano run "tap-restgeneric--${preset}" target-duckdb > ".meltano/demo-${preset}.log" 2>&1 \
    || { tail -20 ".meltano/demo-${preset}.log"; exit 1; }
done

# 4. Per-table row counts, read-only, with the loader's own DuckDB.
.meltano/loaders/target-duckdb/venv/bin/python scripts/duckdb_counts.py output/warehouse.duckdb --expected "$SANDBOX_URL"
