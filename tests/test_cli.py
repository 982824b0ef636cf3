"""The console script: --help and --about document the flags and settings (the README stays in sync);
the tap's own flags take the arguments Meltano adds; misused flags are one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tap_restgeneric.sandbox.apis.tracker import Tracker
from tap_restgeneric.tap import TapRestGeneric
from tests.streams.test_parent_child import INITIAL, config_for, tracker_source
from tests.support import catalog_selecting, last_line, preset_config, run_cli

# The tap's own settings: every property of its config schema that the SDK does not add.
OWN_SETTINGS = list(TapRestGeneric.config_jsonschema["properties"])


def test_about_json_lists_settings_with_descriptions_and_secret_flag(tmp_path):
    out = run_cli(["--about", "--format=json"])
    about = json.loads(out.stdout)
    properties = about["settings"]["properties"]
    for name in OWN_SETTINGS:
        assert properties[name].get("description"), f"{name} has no description"
    assert properties["secrets"].get("secret") is True
    assert {"stream-maps", "schema-flattening", "catalog", "state", "discover", "about"} <= set(about["capabilities"])


def test_readme_settings_table_matches_about_markdown():
    out = run_cli(["--about", "--format=markdown"])
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    rows = [line for line in out.stdout.splitlines() if line.startswith(tuple(f"| {name} |" for name in OWN_SETTINGS))]
    assert len(rows) == len(OWN_SETTINGS)
    for row in rows:
        assert row in readme, f"README settings table is out of date: {row}"


OWN_FLAGS = ("--doctor", "--record DIR", "--replay DIR", "--dialect-schema", "--format FORMAT")
SDK_FLAGS = ("--version", "--about", "--config", "--discover", "--test", "--catalog", "--state", "--help")


def test_help_lists_the_taps_flags_one_line_each_and_points_to_about():
    out = run_cli(["--help"])
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    options = [line.strip() for line in lines if line.startswith("  --")]
    for flag in OWN_FLAGS:
        [line] = [line for line in lines if line.startswith(f"  {flag} ")]
        following = lines[lines.index(line) + 1]
        assert len(line.split(maxsplit=len(flag.split()))) == len(flag.split()) + 1, f"{flag} has no help"
        assert following.startswith("  --"), f"{flag}'s help takes more than one line: {following!r}"
    assert {option.split()[0] for option in options} >= {flag.split()[0] for flag in OWN_FLAGS + SDK_FLAGS}
    assert "`tap-restgeneric --about` lists each one with its description" in " ".join(out.stdout.split())


def test_about_text_shows_each_settings_description():
    out = run_cli(["--about"])
    assert out.returncode == 0
    entries = out.stdout.split("\n  - Name: ")[1:]
    described = {entry.split("\n", 1)[0]: entry for entry in entries}
    for name in OWN_SETTINGS:
        description = " ".join(TapRestGeneric.config_jsonschema["properties"][name]["description"].split())
        assert f"\n    Description: {description}" in described[name], name
    assert "\n    Default: 60\n" in described["request_timeout"]
    assert "\n    Secret: yes" in described["secrets"]
    assert "\n    Environment Variable: TAP_RESTGENERIC_SECRETS\n" in described["secrets"]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--record"], "Option '--record' requires an argument"),
        (["--replay"], "Option '--replay' requires an argument"),
        (["--record", "--doctor"], "Invalid value for '--record': a folder is needed, not '--doctor'"),
        (["--replay=", "--discover"], "Invalid value for '--replay': a folder is needed"),
        (["--doctor", "--format"], "Option '--format' requires an argument"),
    ],
)
def test_a_flag_missing_its_value_is_one_line_and_exit_2(sandbox, tmp_path, args, line):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(preset_config(sandbox, "incidents")))
    sandbox.clear_requests()
    out = run_cli(["--config", str(config), *args])
    assert out.returncode == 2
    assert out.stderr == f"tap-restgeneric: error: {line} (see tap-restgeneric --help)\n"
    assert out.stdout == ""
    assert sandbox.requests == []


def meltano_files(sandbox, tmp_path) -> tuple[dict, list[str]]:
    """The tracker source, and the files `meltano invoke` appends: --catalog, and --state with a
    bookmark per issue (issue 1's comments from 01:01)."""
    config = config_for(tracker_source(sandbox))
    state = tmp_path / "state.json"
    bookmarks = [
        {"context": {"issues.number": n}, "replication_key": "updated_at", "replication_key_value": f"2024-01-01T0{n}:0{n}:00Z"}
        for n in (1, 2)
    ]
    state.write_text(json.dumps({"bookmarks": {"comments": {"partitions": bookmarks}}}))
    catalog = catalog_selecting(config, tmp_path, "issues", "comments")
    return config, ["--catalog", catalog, "--state", str(state)]


def test_the_doctor_takes_meltanos_catalog_and_state(sandbox, tmp_path):
    """The catalog selects the streams probed; the state is ignored: issue 1's comments are probed
    from initial_value (a sync would start from the bookmark)."""
    sandbox.tracker = Tracker()
    config, meltano_args = meltano_files(sandbox, tmp_path)
    sandbox.clear_requests()
    out = run_cli([*meltano_args, "--doctor", "--format", "json"], config, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = json.loads(out.stdout)["streams"]
    assert [(row["stream"], row["ok"]) for row in rows] == [("issues", True), ("comments", True)]
    comments = [r.query for r in sandbox.requests if r.path.endswith("/issues/1/comments")]
    assert comments == [{"since": [INITIAL]}]


def test_dialect_schema_and_record_replay_take_meltanos_arguments(sandbox, tmp_path):
    from tap_restgeneric.source.written import written_schema_text

    sandbox.tracker = Tracker()
    config, meltano_args = meltano_files(sandbox, tmp_path)
    out = run_cli([*meltano_args, "--dialect-schema"], config, tmp_path)
    assert (out.returncode, out.stdout) == (0, written_schema_text())
    recording = tmp_path / "recording"
    recorded = run_cli([*meltano_args, "--record", str(recording)], config, tmp_path)
    assert recorded.returncode == 0, recorded.stderr[-2000:]
    sandbox.clear_requests()
    replayed = run_cli([*meltano_args, "--replay", str(recording)], {"source": config["source"]}, tmp_path)
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    assert sandbox.requests == []
    for stream in ("issues", "comments", "reactions"):
        assert replayed.records(stream) == recorded.records(stream), stream
    assert replayed.records("comments") and replayed.states[-1] == recorded.states[-1]


def test_no_file_is_left_unclosed_when_a_run_fails(sandbox, tmp_path):
    """Meltano runs its plugins with PYTHONWARNINGS=once: a file the CLI opened (--state, --catalog)
    and never closed shows as a ResourceWarning. Discovery samples an API that refuses the key here,
    and fails while the arguments are parsed, after --state was opened."""
    sandbox.tracker = Tracker()
    config, meltano_args = meltano_files(sandbox, tmp_path)
    refused = {**config, "secrets": {"token": "wrong"}}
    warnings = {"PYTHONWARNINGS": "always::ResourceWarning"}
    for args in (["--state", meltano_args[3], "--discover"], [*meltano_args], [*meltano_args, "--record"]):
        out = run_cli(args, refused, tmp_path, env=warnings)
        assert out.returncode in (1, 2), args
        assert "ResourceWarning" not in out.stderr, args
        assert last_line(out.stderr).startswith("tap-restgeneric: "), args


def test_discovery_under_meltano_without_a_source_is_an_empty_catalog_and_one_line(tmp_path):
    """`meltano select --list` on the base plugin: on a non-zero exit Meltano prints a traceback around
    the tap's line; so under Meltano the line comes with an empty catalog and exit 0 (the sync after it fails)."""
    meltano = {"MELTANO_PROJECT_ROOT": str(tmp_path), "MELTANO_EXTRACTOR_NAME": "tap-restgeneric"}
    example = "e.g. `meltano config set tap-restgeneric api learning`"
    discovered = run_cli(["--discover"], {}, tmp_path, env=meltano)
    assert (discovered.returncode, json.loads(discovered.stdout)) == (0, {"streams": []})
    assert last_line(discovered.stderr).startswith("tap-restgeneric: config error: no source: set exactly one of the settings")
    assert last_line(discovered.stderr).endswith(example)
    synced = run_cli([], {}, tmp_path, env=meltano)
    assert synced.returncode == 1 and last_line(synced.stderr) == last_line(discovered.stderr)
    direct = run_cli(["--discover"], {}, tmp_path)
    assert direct.returncode == 1 and direct.stdout == ""
    assert last_line(direct.stderr).endswith('e.g. {"api": "learning"} or {"source_file": "my_api.yaml"} in the --config file')
