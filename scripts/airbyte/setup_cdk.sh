#!/usr/bin/env bash
# The Airbyte CDK in a virtual environment of its own (.airbyte-cdk/, git-ignored), for making the
# golden files (scripts/airbyte/make_goldens.py). Dev-only: the tap and its tests never import it.
# Installs exactly the hashed lock scripts/airbyte/cdk-requirements.txt (idempotent).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x .tools/bin/uv ]; then
  echo "setup_cdk.sh: run scripts/setup.sh first (it installs uv into .tools)" >&2
  exit 1
fi
if [ ! -x .airbyte-cdk/bin/python ]; then
  .tools/bin/uv venv --quiet --python python3.11 .airbyte-cdk
fi
.tools/bin/uv pip install --quiet --python .airbyte-cdk/bin/python --require-hashes -r scripts/airbyte/cdk-requirements.txt
.airbyte-cdk/bin/python -c "import importlib.metadata as m; print('airbyte-cdk', m.version('airbyte-cdk'), 'in .airbyte-cdk')"
