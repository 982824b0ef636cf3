#!/usr/bin/env bash
# The Airbyte CDK in a virtual environment of its own (.airbyte-cdk/, git-ignored), for making the
# golden files (scripts/airbyte/make_goldens.py). Dev-only: the tap and its tests never import it.
# Installs exactly the hashed lock scripts/airbyte/cdk-requirements.txt (idempotent).
set -euo pipefail
# Bytecode compiled at install: PYTHONDONTWRITEBYTECODE=1 here, and the CDK imports for 10 s when every
# process compiles its modules again (python -X importtime), which would swamp its measured wall time.
export UV_COMPILE_BYTECODE=1
cd "$(dirname "$0")/../.."
if [ ! -x .tools/bin/uv ]; then
  echo "setup_cdk.sh: run scripts/setup.sh first (it installs uv into .tools)" >&2
  exit 1
fi
if [ ! -x .airbyte-cdk/bin/python ]; then
  .tools/bin/uv venv --quiet --python python3.11 .airbyte-cdk
fi
.tools/bin/uv pip install --quiet --python .airbyte-cdk/bin/python --require-hashes -r scripts/airbyte/cdk-requirements.txt
# Also for a venv installed before (uv compiles only what it installs); quick when already compiled.
.airbyte-cdk/bin/python -m compileall -q -j 0 "$(.airbyte-cdk/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" > /dev/null || true
.airbyte-cdk/bin/python -c "import importlib.metadata as m; print('airbyte-cdk', m.version('airbyte-cdk'), 'in .airbyte-cdk')"
