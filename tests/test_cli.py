"""The console script: --about documents every setting, README stays in sync with it."""

from __future__ import annotations

import json
from pathlib import Path

from tap_restgeneric.tap import TapRestGeneric
from tests.support import run_cli

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
