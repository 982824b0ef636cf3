"""What a user installs: the two wheels, built as a release would be, work outside the repository.

Both packages are built (``uv build``: sdist, then the wheel from it), installed into a fresh
venv in a temporary folder, and run from there: the installed sandbox serves a preset, the
installed tap syncs it, the installed loader writes it into DuckDB, and every table holds what
the sandbox serves. Nothing of the clone is importable there (the cwd is the temporary folder).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest
import requests
import yaml

from tap_restgeneric.source import PRESETS

ROOT = Path(__file__).resolve().parent.parent
UV = ROOT / ".tools" / "bin" / "uv"

pytestmark = [pytest.mark.slow, pytest.mark.packaging]


def run(argv: list, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, **kwargs)
    assert proc.returncode == 0, f"{argv} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    if not UV.exists():
        pytest.fail("uv is not installed: run `bash scripts/setup.sh` (it installs uv into .tools/)")
    dist = tmp_path_factory.mktemp("dist")
    run([UV, "build", "--all-packages", "--quiet", "--out-dir", dist], cwd=ROOT)
    built = {path.name.split("-")[0]: path for path in dist.glob("*.whl")}
    assert sorted(built) == ["tap_restgeneric", "target_duckdb_exact"]
    return built


def test_the_tap_wheel_carries_its_presets_schemas_and_dialect_schemas(wheels):
    names = set(zipfile.ZipFile(wheels["tap_restgeneric"]).namelist())
    for api in PRESETS:
        assert f"tap_restgeneric/presets/{api}.yaml" in names
        for schema in (ROOT / "schemas" / api).glob("*.json"):
            assert f"tap_restgeneric/schemas/{api}/{schema.name}" in names
    assert {"tap_restgeneric/source/dialect.schema.json", "tap_restgeneric/source/dialect.written.schema.json"} <= names
    entry_points = zipfile.ZipFile(wheels["tap_restgeneric"]).read("tap_restgeneric-0.1.0.dist-info/entry_points.txt").decode()
    assert "tap-restgeneric = tap_restgeneric.cli:main" in entry_points
    assert "restgeneric-sandbox = tap_restgeneric.sandbox.__main__:main" in entry_points
    loader = zipfile.ZipFile(wheels["target_duckdb_exact"])
    assert {"target_duckdb_exact/target.py", "target_duckdb_exact/sink.py"} <= set(loader.namelist())
    assert "\n# target-duckdb-exact\n" in loader.read("target_duckdb_exact-0.1.0.dist-info/METADATA").decode()  # its README
    assert (
        "target-duckdb-exact = target_duckdb_exact.target:main"
        in loader.read("target_duckdb_exact-0.1.0.dist-info/entry_points.txt").decode()
    )


def test_the_installed_wheels_sync_a_preset_into_duckdb_outside_the_repo(wheels, tmp_path):
    venv = tmp_path / "venv"
    run([UV, "venv", "--quiet", "--python", sys.executable, venv], cwd=tmp_path)
    python, bin_dir = venv / "bin" / "python", venv / "bin"
    # The pins the tests ran with (README, Install); the wheels' own ranges would allow newer.
    run(
        [
            UV,
            "pip",
            "install",
            "--quiet",
            "--python",
            python,
            *wheels.values(),
            "--constraint",
            ROOT / "requirements/plugins.txt",
        ],
        cwd=tmp_path,
    )
    where = run(
        [python, "-c", "import tap_restgeneric, target_duckdb_exact as t; print(tap_restgeneric.__file__, t.__file__)"],
        cwd=tmp_path,
    )
    assert all(path.startswith(str(venv)) for path in where.stdout.split()), where.stdout

    sandbox = subprocess.Popen(
        [bin_dir / "restgeneric-sandbox", "--port", "0", "--secret", "wheel-secret"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert sandbox.stdout is not None
        match = re.fullmatch(r"sandbox listening on (\S+)\n", sandbox.stdout.readline())
        assert match, sandbox.stderr.read() if sandbox.poll() is not None else "no listening line"
        url = match.group(1)
        api = "operations"  # incremental streams, initial and incremental variants, 15 tables
        (tmp_path / "tap.json").write_text(
            json.dumps({"api": api, "base_url": f"{url}/{api}", "secrets": {"api_key": "wheel-secret"}})
        )
        (tmp_path / "target.json").write_text(
            json.dumps({"filepath": str(tmp_path / "out.duckdb"), "default_target_schema": api})
        )
        tap = subprocess.Popen(
            [bin_dir / "tap-restgeneric", "--config", "tap.json"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        loaded = run([bin_dir / "target-duckdb-exact", "--config", "target.json"], cwd=tmp_path, stdin=tap.stdout)
        _, tap_stderr = tap.communicate(timeout=600)
        assert tap.returncode == 0, tap_stderr.decode()[-3000:]
        expected = requests.get(f"{url}/_sandbox/counts", timeout=30).json()[api]
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
    con = duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True)
    try:
        tables = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [api]
            ).fetchall()
        ]
        counts = {name: con.execute(f'SELECT count(*) FROM "{api}"."{name}"').fetchall()[0][0] for name in tables}
    finally:
        con.close()
    assert counts == expected, loaded.stderr[-2000:]
    assert sum(counts.values()) > 0


@pytest.mark.meltano
def test_the_hub_definitions_install_and_run_in_a_meltano_project_outside_the_repo(tmp_path):
    """A Meltano user's own project: the two Hub definitions as its plugins, RESTGENERIC_CLONE set
    as their comments say, `meltano install` and `meltano run` of a preset into DuckDB."""
    from tests.conftest import SANDBOX
    from tests.support import CANARY, assert_no_canary
    from tests.test_meltano import meltano_bin

    hub_only = ("variant", "keywords", "maintenance_status")
    plugin = lambda path: {k: v for k, v in yaml.safe_load((ROOT / path).read_text()).items() if k not in hub_only}  # noqa: E731
    project = {
        "default_environment": "dev",
        "project_id": "hub-definitions-test",
        "send_anonymous_usage_stats": False,
        "cli": {"disable_version_check": True},
        "venv": {"backend": "uv"},
        "environments": [{"name": "dev"}],
        "plugins": {
            "extractors": [plugin("hub/extractors/tap-restgeneric--restgeneric.yml")],
            "loaders": [plugin("hub/loaders/target-duckdb-exact--restgeneric.yml")],
        },
    }
    (tmp_path / "meltano.yml").write_text(yaml.safe_dump(project, sort_keys=False))
    env = {
        **{key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")},
        "RESTGENERIC_CLONE": str(ROOT),
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_RESTGENERIC_API": "operations",
        "TAP_RESTGENERIC_BASE_URL": SANDBOX.base_url("operations"),
        "TAP_RESTGENERIC_SECRETS_API_KEY": CANARY,
        "TARGET_DUCKDB_EXACT_FILEPATH": str(tmp_path / "out.duckdb"),
        "TARGET_DUCKDB_EXACT_DEFAULT_TARGET_SCHEMA": "operations",
    }
    for args in (["install"], ["run", "tap-restgeneric", "target-duckdb-exact"]):
        proc = subprocess.run([meltano_bin(), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"meltano {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        assert_no_canary(proc.stdout, proc.stderr)
    con = duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True)
    try:
        tables = [
            n
            for (n,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'operations'"
            ).fetchall()
        ]
        counts = {name: con.execute(f'SELECT count(*) FROM operations."{name}"').fetchall()[0][0] for name in tables}
    finally:
        con.close()
    assert counts == SANDBOX.counts()["operations"]
