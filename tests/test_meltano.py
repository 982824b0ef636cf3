"""The Meltano path end to end: real `meltano run`, the real loader, a real DuckDB file."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.conftest import SANDBOX
from tests.support import CANARY, assert_no_canary, preset_config, sync

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.meltano, pytest.mark.slow]
# Preset extractor name suffix -> preset, read from meltano.yml (one inheriting extractor per preset).
PRESETS = {
    plugin["name"].split("--", 1)[1]: plugin["config"]["api"]
    for plugin in yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["extractors"]
    if plugin.get("inherit_from") == "tap-restgeneric" and "api" in plugin["config"]
}


def meltano_bin() -> str:
    found = os.environ.get("MELTANO_BIN") or (
        str(ROOT / ".tools/bin/meltano") if (ROOT / ".tools/bin/meltano").exists() else shutil.which("meltano")
    )
    if not found:
        pytest.fail("meltano is not installed: run `bash scripts/setup.sh` (it installs Meltano into .tools/)")
    return found


@pytest.fixture(scope="module")
def meltano(tmp_path_factory):
    work = tmp_path_factory.mktemp("meltano")
    env = {
        **os.environ,
        "MELTANO_DATABASE_URI": f"sqlite:///{work}/meltano.db",
        "TARGET_DUCKDB_FILEPATH": str(work / "warehouse.duckdb"),
        **{
            f"TAP_RESTGENERIC__{preset.upper().replace('-', '_')}_BASE_URL": SANDBOX.base_url(api)
            for preset, api in PRESETS.items()
        },
        "TAP_RESTGENERIC_SECRETS_API_KEY": CANARY,
        "TAP_RESTGENERIC_SECRETS_API_TOKEN": CANARY,
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
    }
    binary = meltano_bin()

    def run(*args: str, extra_env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [binary, *args], cwd=cwd, env={**env, **(extra_env or {})}, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, f"meltano {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        assert_no_canary(proc.stdout, proc.stderr)
        return proc

    run("install")
    run.db = work / "warehouse.duckdb"
    run.env = env
    run.binary = binary
    return run


def table_rows(db: Path, schema: str, table: str) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [json.loads(text) for (text,) in con.execute(f'SELECT to_json(t)::VARCHAR FROM "{schema}"."{table}" t').fetchall()]
    finally:
        con.close()


def record_counts(log: str, plugin: str) -> dict[str, int]:
    """The records of each stream, from the tap's closing lines (``stream 'x': 1,234 records, …``): what
    a Meltano user reads (the SDK's METRIC lines are off by default)."""
    tap_lines = "\n".join(line for line in log.splitlines() if f" {plugin} " in line)
    return {m.group(1): int(m.group(2).replace(",", "")) for m in re.finditer(r"stream '(\w+)': ([\d,]+) records, ", tap_lines)}


@pytest.mark.parametrize("preset", list(PRESETS))
def test_meltano_run_loads_exactly_what_the_tap_emits(meltano, preset):
    api = PRESETS[preset]
    meltano("run", f"tap-restgeneric--{preset}", "target-duckdb")
    emitted = sync(preset_config(SANDBOX, api))
    streams = [m["stream"] for m in emitted.messages if m["type"] == "SCHEMA"]
    assert streams
    for name in streams:
        loaded = table_rows(meltano.db, api, name)
        assert sorted(r["id"] for r in loaded) == sorted(emitted.ids(name)), f"{api}.{name}"
        by_id = {r["id"]: r for r in emitted.records(name)}
        for row in loaded:
            for field in ("name", "email", "title", "status"):
                if field in row:
                    assert row[field] == by_id[row["id"]].get(field), f"{api}.{name}.{field}"


def test_second_full_run_leaves_no_duplicates(meltano):
    meltano("run", "tap-restgeneric--learning", "target-duckdb")
    before = {name: len(table_rows(meltano.db, "learning", name)) for name in ("categories", "orders", "enrollments")}
    meltano("run", "tap-restgeneric--learning", "target-duckdb")
    after = {name: len(table_rows(meltano.db, "learning", name)) for name in before}
    assert after == before == {name: SANDBOX.counts()["learning"][name] for name in before}


def test_incremental_through_meltano_state(meltano):
    meltano("run", "tap-restgeneric--operations", "target-duckdb")
    changed = SANDBOX.advance("operations")
    proc = meltano("run", "tap-restgeneric--operations", "target-duckdb")
    counts = record_counts(proc.stdout + proc.stderr, "tap-restgeneric--operations")
    for resource, key in (("registrations_incremental", "registrations"), ("sessions_incremental", "sessions")):
        assert counts[resource] == len(changed[key]["new"]) + len(changed[key]["updated"])
        loaded = {r["id"]: r for r in table_rows(meltano.db, "operations", resource)}
        assert sorted(loaded) == sorted(SANDBOX.ids("operations", resource))
    state = json.loads(meltano("state", "get", "dev:tap-restgeneric--operations-to-target-duckdb").stdout)
    bookmark = state["singer_state"]["bookmarks"]["registrations_incremental"]
    assert bookmark["replication_key"] == "updated_at"
    assert bookmark["replication_key_value"] == max(
        r["updated_at"] for r in SANDBOX.records("operations", "registrations_incremental")
    )


def test_a_parent_child_source_file_with_per_parent_state(meltano):
    """examples/tracker.yaml (the README's issues -> comments -> reactions) through Meltano, twice:
    the second run reads each issue's comments from that issue's bookmark in Meltano's state."""
    from tap_restgeneric.sandbox.apis.tracker import Tracker

    env = {"TAP_RESTGENERIC__TRACKER_BASE_URL": SANDBOX.base_url("tracker")}
    SANDBOX.tracker = Tracker()
    try:
        meltano("run", "tap-restgeneric--tracker", "target-duckdb", extra_env=env)
        new = SANDBOX.tracker.comment_on(3)
        proc = meltano("run", "tap-restgeneric--tracker", "target-duckdb", extra_env=env)
        expected = SANDBOX.counts()["tracker"]
        for table in ("issues", "comments", "reactions"):
            assert len(table_rows(meltano.db, "tracker", table)) == expected[table], table
        comments = {r["id"]: r for r in table_rows(meltano.db, "tracker", "comments")}
        assert comments[new["id"]]["_issues_number"] == 3
        assert all(r["_issues_number"] == r["id"] // 100 for r in comments.values())
        # Each issue re-sends only its boundary comment (an inclusive start), not all of them.
        assert record_counts(proc.stdout + proc.stderr, "tap-restgeneric--tracker")["comments"] == 1 + sum(
            1 for found in SANDBOX.tracker.comments.values() if found
        )
        state = json.loads(meltano("state", "get", "dev:tap-restgeneric--tracker-to-target-duckdb").stdout)
        partitions = state["singer_state"]["bookmarks"]["comments"]["partitions"]
        assert {p["context"]["issues.number"]: p["replication_key_value"] for p in partitions}[3] == new["updated_at"]
    finally:
        SANDBOX.tracker = Tracker()


def incidents_into_duckdb(meltano, **env: str) -> None:
    """`meltano run tap-restgeneric target-duckdb` of the incidents preset, chosen through Meltano's variables."""
    preset = {"TAP_RESTGENERIC_API": "incidents", "TAP_RESTGENERIC_BASE_URL": SANDBOX.base_url("incidents")}
    meltano("run", "tap-restgeneric", "target-duckdb", extra_env={**preset, **env})


def test_any_preset_against_any_server_through_derived_env_vars(meltano):
    incidents_into_duckdb(meltano)
    loaded = table_rows(meltano.db, "tap_restgeneric", "alerts")
    assert sorted(r["id"] for r in loaded) == sorted(SANDBOX.ids("incidents", "alerts"))


def test_tap_pipes_into_target_jsonl_one_folder_per_preset(meltano):
    """Every preset has a `users` stream: each lands in its own folder (output/jsonl/<load_schema>/,
    git-ignored), not appended into one file."""
    root = ROOT / "output" / "jsonl"
    for api in ("social_insights", "learning"):
        shutil.rmtree(root / api, ignore_errors=True)  # target-jsonl appends
    for preset in ("social-insights", "learning"):
        meltano("run", f"tap-restgeneric--{preset}", "target-jsonl")
    for api, stream in (("social_insights", "media"), ("social_insights", "users"), ("learning", "users")):
        lines = (root / api / f"{stream}.jsonl").read_text().splitlines()
        assert sorted(json.loads(line)["id"] for line in lines) == sorted(SANDBOX.ids(api, stream)), f"{api}/{stream}"


def test_numeric_settings_through_meltano_environment_variables(meltano, tmp_path):
    """Meltano 4 crashes on a `decimal` setting given this way; the tap's numeric settings are `string`/`integer`."""
    meltano(
        "run",
        "tap-restgeneric",
        "target-jsonl",
        extra_env={
            "TAP_RESTGENERIC_API": "incidents",
            "TAP_RESTGENERIC_BASE_URL": SANDBOX.base_url("incidents"),
            "TAP_RESTGENERIC_REQUEST_TIMEOUT": "30",
            "TAP_RESTGENERIC_MAX_REQUESTS_PER_SECOND": "1000.5",
            "TAP_RESTGENERIC_MAX_CONCURRENCY": "3",
            "TARGET_JSONL_DESTINATION_PATH": str(tmp_path),
        },
    )
    lines = (tmp_path / "alerts.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(SANDBOX.ids("incidents", "alerts"))


def test_batch_config_through_meltano_loads_the_same_rows(meltano, tmp_path):
    """`batch_config` (declared in meltano.yml, an object from the environment): the tap writes
    files and BATCH messages, the DuckDB loader loads each file whole, the rows are the same."""
    batch_config = {"encoding": {"format": "jsonl", "compression": "gzip"}, "storage": {"root": tmp_path.as_uri()}}
    incidents_into_duckdb(
        meltano, TAP_RESTGENERIC_BATCH_CONFIG=json.dumps(batch_config), TARGET_DUCKDB_DEFAULT_TARGET_SCHEMA="batched"
    )
    for stream in ("users", "teams", "services", "integrations", "incidents", "alerts"):
        loaded = table_rows(meltano.db, "batched", stream)
        assert sorted(r["id"] for r in loaded) == sorted(SANDBOX.ids("incidents", stream)), stream
        files = list(tmp_path.glob(f"tap-restgeneric--{stream}-*.jsonl.gz"))
        assert bool(files) == bool(loaded), stream  # the rows came from files


#: meltano.yml's extractors that read the project's sandbox, and the path of their API under it.
SANDBOX_EXTRACTORS = {
    plugin["name"]: plugin["config"]["base_url"].removeprefix("http://127.0.0.1:8765/")
    for plugin in yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["extractors"]
    if plugin.get("config", {}).get("base_url", "").startswith("http://127.0.0.1:8765/")
}


def test_the_demos_port_reaches_every_extractor_through_meltano(meltano):
    """`SANDBOX_PORT=18765 bash scripts/demo.sh` syncs the sandbox it starts on 18765 (or stops): the
    demo sources scripts/sandbox_env.sh, and Meltano resolves every extractor's base_url from it, over
    meltano.yml and over a URL left in the shell. (A variable of meltano.yml's `env:` would win over
    the shell's: meltano.yml has none that a setting reads.)"""
    assert "\nsource scripts/sandbox_env.sh\n" in (ROOT / "scripts/demo.sh").read_text()
    assert set(SANDBOX_EXTRACTORS) == {f"tap-restgeneric--{preset}" for preset in [*PRESETS, "tracker"]}
    assert "$" not in json.dumps(
        [p.get("config") for p in yaml.safe_load((ROOT / "meltano.yml").read_text())["plugins"]["extractors"]]
    )
    # (No secrets: `meltano config print` fails on a sensitive object with a sub-key set, here secrets.api_key.)
    env = {name: value for name, value in meltano.env.items() if not name.startswith("TAP_RESTGENERIC_")}
    env |= {"SANDBOX_PORT": "18765", "TAP_RESTGENERIC__LEARNING_BASE_URL": "http://127.0.0.1:8765/learning"}
    for name, api in SANDBOX_EXTRACTORS.items():
        command = ["bash", "-c", 'source scripts/sandbox_env.sh && exec "$0" config print "$1"', meltano.binary, name]
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert json.loads(proc.stdout)["base_url"] == f"http://127.0.0.1:18765/{api}", name


def test_meltano_invoke_runs_the_taps_own_flags(meltano, tmp_path):
    """`meltano invoke tap-restgeneric --doctor` (and --dialect-schema, --record, --replay) after a
    `meltano run`: Meltano appends --catalog and --state; the doctor probes the catalog's streams
    from the start values (it ignores the state), replay sends nothing to the API."""
    from tap_restgeneric.sandbox.apis.tracker import Tracker
    from tap_restgeneric.source.written import written_schema_text
    from tests.streams.test_parent_child import INITIAL

    env = {"TAP_RESTGENERIC__TRACKER_BASE_URL": SANDBOX.base_url("tracker"), "TARGET_JSONL_DESTINATION_PATH": str(tmp_path)}
    SANDBOX.tracker = Tracker()
    try:
        for _ in range(2):  # the second run leaves the state the first one saved, and a catalog, in .meltano/run
            meltano("run", "tap-restgeneric--tracker", "target-jsonl", extra_env=env)
        SANDBOX.clear_requests()
        doctor = meltano("--log-level=debug", "invoke", "tap-restgeneric--tracker", "--doctor", "--format", "json", extra_env=env)
        invoked = next(line for line in doctor.stderr.splitlines() if "Invoking: [" in line and "--doctor" in line)
        assert "'--catalog'" in invoked and "'--state'" in invoked
        rows = json.loads(doctor.stdout)["streams"]
        assert [(row["stream"], row["ok"]) for row in rows] == [("issues", True), ("comments", True), ("reactions", True)]
        assert [r.query for r in SANDBOX.requests if r.path.endswith("/issues/1/comments")] == [{"since": [INITIAL]}]

        schema = meltano("invoke", "tap-restgeneric--tracker", "--dialect-schema", extra_env=env)
        assert schema.stdout == written_schema_text()

        recording = tmp_path / "recording"
        recorded = meltano("invoke", "tap-restgeneric--tracker", "--record", str(recording), extra_env=env)
        SANDBOX.clear_requests()
        replayed = meltano("invoke", "tap-restgeneric--tracker", "--replay", str(recording), extra_env=env)
        assert SANDBOX.requests == []
        records = [
            [line for line in proc.stdout.splitlines() if '"type":"RECORD"' in line.replace(" ", "")]
            for proc in (recorded, replayed)
        ]
        strip = [[{k: v for k, v in json.loads(line).items() if k != "time_extracted"} for line in lines] for lines in records]
        assert strip[0] == strip[1]
        streams = [record["stream"] for record in strip[0]]
        assert streams.count("issues") == SANDBOX.counts()["tracker"]["issues"]
        # The sync read Meltano's --state: each issue's comments from its bookmark, the boundary one sent again.
        assert streams.count("comments") == sum(1 for found in SANDBOX.tracker.comments.values() if found)
    finally:
        SANDBOX.tracker = Tracker()


def test_the_base_plugin_without_a_source_is_one_line_in_select_and_discover(meltano):
    """The first thing a Meltano user tries: one line naming the settings, with an example; no traceback."""
    expected = (
        "tap-restgeneric: config error: no source: set exactly one of the settings `api` (a preset: "
        f"{', '.join(PRESETS.values())}), `source` (an inline config) or `source_file` (a YAML or JSON file), "
        "e.g. `meltano config set tap-restgeneric api learning`"
    )
    listed = meltano("select", "tap-restgeneric", "--list", "--refresh-catalog")
    shown = listed.stdout + listed.stderr
    assert "Traceback" not in shown and "╭" not in shown
    assert [line.split(" tap-restgeneric ", 1)[1] for line in shown.splitlines() if "no source" in line] == [expected]
    discovered = meltano("invoke", "tap-restgeneric", "--discover")
    assert json.loads(discovered.stdout) == {"streams": []}
    assert discovered.stderr.rstrip().endswith(expected)


def test_a_relative_source_file_is_found_from_a_subdirectory_of_the_project(meltano, tmp_path):
    """tap-restgeneric--tracker says `source_file: examples/tracker.yaml`; Meltano runs its plugins in the
    directory it is called from, here examples/: the file is found in the project root all the same."""
    from tap_restgeneric.sandbox.apis.tracker import Tracker

    SANDBOX.tracker = Tracker()
    env = {"TAP_RESTGENERIC__TRACKER_BASE_URL": SANDBOX.base_url("tracker"), "TARGET_JSONL_DESTINATION_PATH": str(tmp_path)}
    meltano("run", "--full-refresh", "tap-restgeneric--tracker", "target-jsonl", extra_env=env, cwd=ROOT / "examples")
    issues = [json.loads(line)["id"] for line in (tmp_path / "issues.jsonl").read_text().splitlines()]
    assert sorted(issues) == sorted(issue["id"] for issue in SANDBOX.tracker.issues())


def test_an_airbyte_manifest_through_meltano_loads_the_cdks_records_and_resumes_from_meltanos_state(meltano, tmp_path):
    """A declarative manifest (the date-windows mini manifest) as the base plugin's source_file, its connector
    config in manifest_config from the environment as Meltano passes an object setting: DuckDB holds exactly the
    records Airbyte's CDK emitted against the same mock API, and the second run starts from Meltano's state."""
    from tests.airbyte import mockapi, oracle

    golden = oracle.load_golden("datetime_windows")
    with mockapi.MockServer() as server:
        setup = oracle.golden_setup("datetime_windows", server)
        manifest = tmp_path / "manifest.yaml"
        manifest.write_text(yaml.safe_dump(setup.manifest, sort_keys=False))
        env = {
            "TAP_RESTGENERIC_SOURCE_FILE": str(manifest),
            "TAP_RESTGENERIC_MANIFEST_CONFIG": json.dumps(setup.config),
            "TAP_RESTGENERIC_TOKEN_STORE": str(tmp_path / "tokens.json"),
            "MELTANO_STATE_BACKEND_URI": f"file://{tmp_path}/state",
            **oracle.tap_environment(setup),
        }
        meltano("run", "tap-restgeneric", "target-duckdb", extra_env=env)
        for stream, records in oracle.golden_records(golden, 1).items():
            loaded = table_rows(meltano.db, "tap_restgeneric", stream)
            assert sorted(r["id"] for r in loaded) == sorted(r["id"] for r in records), stream
        assert oracle.seen_requests(setup, server) == oracle.golden_requests(golden, 1)
        setup.api.reset()
        meltano("run", "tap-restgeneric", "target-duckdb", extra_env=env)
        # From Meltano's state: the requests the CDK sent in its second run, from its own state.
        assert oracle.seen_requests(setup, server) == oracle.golden_requests(golden, 2)
    state = meltano("state", "get", "dev:tap-restgeneric-to-target-duckdb", extra_env=env).stdout
    assert set(json.loads(state)["singer_state"]["bookmarks"]) == set(oracle.golden_records(golden, 1))
