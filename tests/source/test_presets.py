"""Every bundled preset, synced end to end from the sandbox."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from tap_restgeneric.source import PRESETS, load_source, preset_path, schemas_dir
from tests.support import preset_config, sync


def _resource_names(api: str) -> list[str]:
    return [r["name"] for r in yaml.safe_load(preset_path(api).read_text())["resources"]]


@pytest.mark.parametrize("api", PRESETS)
def test_preset_syncs_exact_id_sets(sandbox, api):
    out = sync(preset_config(sandbox, api))
    for name in _resource_names(api):
        ids = out.ids(name)
        assert len(ids) == len(set(ids)), f"{api}.{name}: duplicate records"
        assert sorted(ids) == sorted(sandbox.ids(api, name)), f"{api}.{name}: id set differs"


@pytest.mark.parametrize("api", PRESETS)
def test_preset_schema_precedes_records_with_key_properties(sandbox, api):
    out = sync(preset_config(sandbox, api))
    schema_seen: set[str] = set()
    for message in out.messages:
        if message["type"] == "SCHEMA":
            schema_seen.add(message["stream"])
            assert message["key_properties"] == ["id"]
        elif message["type"] == "RECORD":
            assert message["stream"] in schema_seen, f"RECORD for {message['stream']} before its SCHEMA"
    assert schema_seen == set(_resource_names(api))


@pytest.mark.parametrize("api", PRESETS)
def test_every_preset_resource_has_a_schema_holding_its_keys(api):
    source = load_source({"api": api, "secrets": {"api_key": "x" * 8, "api_token": "x" * 8}})
    for resource in source.resources:
        path = schemas_dir() / api / f"{resource['name']}.json"
        assert path.is_file(), f"missing {path}"
        schema = json.loads(path.read_text())
        jsonschema.Draft7Validator.check_schema(schema)
        for key in resource["primary_key"]:
            assert key in schema["properties"], f"{path}: key property {key!r} not in schema"
            assert "null" not in schema["properties"][key]["type"], f"{path}: key property {key!r} is nullable"
        if resource["endpoint"].get("incremental"):
            assert resource["endpoint"]["incremental"]["cursor_path"] in schema["properties"]
        assert resource["name"] in schema["description"]
        assert resource["endpoint"]["path"] in schema["description"]


def test_operations_incremental_resources_are_incremental_on_updated_at(sandbox):
    out = sync(preset_config(sandbox, "operations"))
    for name in ("registrations_incremental", "sessions_incremental"):
        assert out.schema(name)["bookmark_properties"] == ["updated_at"]
    for name in ("registrations_initial", "clients"):
        assert not out.schema(name).get("bookmark_properties")
