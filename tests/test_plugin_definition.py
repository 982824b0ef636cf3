"""meltano.yml and the Hub-style definitions describe the same settings as `--about`, and install from a clone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tap_restgeneric.source import PRESETS
from tests.support import run_cli

ROOT = Path(__file__).resolve().parent.parent
HUB = yaml.safe_load((ROOT / "hub/extractors/tap-restgeneric--restgeneric.yml").read_text())
HUB_LOADER = yaml.safe_load((ROOT / "hub/loaders/target-duckdb-exact--restgeneric.yml").read_text())
MELTANO = yaml.safe_load((ROOT / "meltano.yml").read_text())
TAP = next(p for p in MELTANO["plugins"]["extractors"] if p["name"] == "tap-restgeneric")
LOADER = next(p for p in MELTANO["plugins"]["loaders"] if p["name"] == "target-duckdb")
# Kinds Meltano 4 leaves alone: `password` is rewritten to `string` by `meltano select`, and a `decimal`
# given through its environment variable crashes `meltano run` (the tap reads numbers from strings).
KINDS = {
    "string": {"string", "options", "date_iso8601"},
    "object": {"object"},
    "number": {"string"},
    "integer": {"integer"},
    "boolean": {"boolean"},
}
SDK_BUILTIN = {
    "stream_maps",
    "stream_map_config",
    "faker_config",
    "flattening_enabled",
    "flattening_max_depth",
    "flattening_max_key_length",
    "flattening_separator",
    "batch_config",
}


@pytest.fixture(scope="module")
def about() -> dict:
    return json.loads(run_cli(["--about", "--format=json"]).stdout)


@pytest.mark.parametrize("definition", [HUB, TAP], ids=["hub", "meltano.yml"])
def test_definition_matches_about(about, definition):
    properties = about["settings"]["properties"]
    declared = {s["name"]: s for s in definition["settings"]}
    own = set(properties) - SDK_BUILTIN
    assert own <= set(declared), f"settings missing from the definition: {sorted(own - set(declared))}"
    for name in own:
        setting, prop = declared[name], properties[name]
        assert setting["description"] == prop["description"], name
        assert bool(setting.get("sensitive")) == bool(prop.get("secret")), name
        json_type = next(t for t in ([prop["type"]] if isinstance(prop["type"], str) else prop["type"]) if t != "null")
        if prop.get("format") == "date-time":
            assert setting["kind"] == "date_iso8601", name
        else:
            assert setting["kind"] in KINDS[json_type], f"{name}: kind {setting['kind']} for JSON type {json_type}"
    for name in set(declared) - own:
        if name in SDK_BUILTIN:  # declared for Meltano's sake (batch_config: an object from its environment)
            assert name in properties and declared[name]["kind"] == "object", name
            continue
        parent = name.split(".")[0]
        assert parent in own and declared[name].get("sensitive") == bool(properties[parent].get("secret")), name
    assert set(definition["capabilities"]) <= set(about["capabilities"])
    assert definition["namespace"] == "tap_restgeneric" and definition["executable"] == "tap-restgeneric"


def test_hub_and_meltano_yml_agree():
    assert HUB["settings"] == TAP["settings"]
    assert HUB["capabilities"] == TAP["capabilities"]


def test_preset_secrets_are_declared_sensitive():
    declared = {s["name"]: s for s in TAP["settings"]}
    for name in ("secrets", "secrets.api_key", "secrets.api_token"):
        assert declared[name]["sensitive"] is True


def test_every_preset_has_an_inheriting_extractor():
    inherited = [p["config"] for p in MELTANO["plugins"]["extractors"] if p.get("inherit_from") == "tap-restgeneric"]
    assert [config.get("api") for config in inherited] == [*PRESETS, None]
    assert inherited[-1]["source_file"] == "examples/tracker.yaml"  # the parent/child example
    assert MELTANO["send_anonymous_usage_stats"] is False and MELTANO["cli"]["disable_version_check"] is True


@pytest.mark.parametrize("definition", [HUB, TAP], ids=["hub", "meltano.yml"])
def test_preset_options_are_the_presets(definition):
    api = next(s for s in definition["settings"] if s["name"] == "api")
    assert [option["value"] for option in api["options"]] == list(PRESETS)


def test_the_loader_definitions_agree_with_each_other_and_its_about():
    about = json.loads(
        subprocess.run(
            [f"{sys.prefix}/bin/target-duckdb-exact", "--about", "--format=json"], capture_output=True, text=True, check=True
        ).stdout
    )
    assert HUB_LOADER["settings"] == LOADER["settings"]
    for setting in HUB_LOADER["settings"]:
        assert setting["description"] == about["settings"]["properties"][setting["name"]]["description"], setting["name"]
    assert set(HUB_LOADER["capabilities"]) <= set(about["capabilities"])
    assert (HUB_LOADER["namespace"], HUB_LOADER["executable"]) == (LOADER["namespace"], LOADER["executable"])


@pytest.mark.parametrize(
    ("definition", "folder"), [(HUB, "."), (HUB_LOADER, "loaders/target-duckdb-exact")], ids=["tap", "loader"]
)
def test_the_hub_definitions_install_from_a_clone_with_the_locked_versions(definition, folder):
    """Neither package is on PyPI yet: the Hub definitions name the clone (RESTGENERIC_CLONE) and the
    pins the tests ran with; tests/test_packaging.py installs them with real Meltano."""
    assert definition["pip_url"].split() == [
        f"$RESTGENERIC_CLONE/{folder}".removesuffix("/."),
        "--constraint",
        "$RESTGENERIC_CLONE/requirements/plugins.txt",
    ]
    assert (ROOT / folder / "pyproject.toml").exists()
