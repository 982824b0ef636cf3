"""The dialect's JSON Schema as users write it (shorthands included): shipped, printable, and every
preset and README source example validates against it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from tap_restgeneric.source import PRESETS, preset_path
from tap_restgeneric.source.written import written_schema, written_schema_text
from tests.support import run_cli

ROOT = Path(__file__).resolve().parent.parent.parent
VALIDATOR = jsonschema.Draft202012Validator(written_schema())
README_SOURCES = [
    block
    for block in re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    if re.search(r"^resources:", block, re.MULTILINE)
]


def problems(document) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(document)]


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_validates(preset):
    assert problems(yaml.safe_load(preset_path(preset).read_text())) == []


@pytest.mark.parametrize("index", range(len(README_SOURCES)))
def test_every_readme_source_example_validates(index):
    assert problems(yaml.safe_load(README_SOURCES[index])) == []


def test_the_readme_has_source_examples_and_the_tracker_example_validates():
    assert len(README_SOURCES) >= 2
    assert problems(yaml.safe_load((ROOT / "examples/tracker.yaml").read_text())) == []


def test_shorthands_pass_and_mistakes_do_not():
    assert (
        problems({"resources": ["users", {"name": "a", "endpoint": "a/b"}, {"name": "b", "endpoint": {"paginator": None}}]}) == []
    )
    assert problems({"resources": [{"name": "a", "endpoint": {"paginator": "header_link"}}]}) == []
    assert problems({"resources": [{"name": "a", "endpoint": {"paginator": "pages"}}]})
    assert problems({"resources": [{"name": "a", "endpont": "a"}]})


def test_it_is_shipped_and_printed(tmp_path):
    shipped = Path(__file__).resolve().parent.parent.parent / "tap_restgeneric/source/dialect.written.schema.json"
    assert shipped.read_text() == written_schema_text()
    out = run_cli(["--dialect-schema"])
    assert out.returncode == 0
    assert json.loads(out.stdout) == written_schema()
