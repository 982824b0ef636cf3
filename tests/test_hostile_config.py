"""Hostile config files: a YAML "billion laughs" (aliases of aliases), documents nested thousands
of levels, templates nested thousands of levels. Each is one config error line naming the file
or setting, at load, before anything is expanded or sent."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_restgeneric.source.loading import MAX_CONFIG_NODES, ConfigTooLarge, _load_yaml
from tests.support import last_line, run_cli

RESOURCES = [{"name": "items", "endpoint": {"path": "items", "paginator": "single_page"}}]


def laughs(width: int, levels: int) -> str:
    """``l0`` a list of ``width`` strings; each next level a list of ``width`` aliases of the one before."""
    lines = ["resources: [items]", "client: {base_url: 'http://127.0.0.1:9'}", f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def expanded_values(width: int, levels: int) -> int:
    """Values the last level stands for; the whole document, less than twice that (and a few more)."""
    size = 1 + width  # l0: the list and its strings
    for _ in range(levels):
        size = 1 + width * size
    return size


@settings(max_examples=60, deadline=None)
@given(width=st.integers(2, 12), levels=st.integers(0, 12))
def test_yaml_aliases_load_until_their_expansion_passes_the_bound(width, levels):
    text = laughs(width, levels)
    if expanded_values(width, levels) * 2 < MAX_CONFIG_NODES:
        assert _load_yaml(text) == yaml.safe_load(text)
    elif expanded_values(width, levels) > MAX_CONFIG_NODES:
        with pytest.raises(ConfigTooLarge, match=r"^its aliases expand to more than 1,000,000 values \(at line \d+\)$"):
            _load_yaml(text)


def test_a_billion_laughs_source_file_is_one_line_naming_the_file(tmp_path):
    source = tmp_path / "laughs.yaml"
    source.write_text(laughs(10, 9))  # 10**9 strings once expanded
    out = run_cli(["--discover"], {"source_file": str(source)}, tmp_path, timeout=60)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        f"tap-restgeneric: config error: source_file: '{source}': its aliases expand to more than 1,000,000 values (at line 8)"
    )


def nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [101, 5000, 200_000])
@pytest.mark.parametrize("flag", ["--config", "--state", "--catalog"])
def test_a_settings_state_or_catalog_file_nested_too_deeply_is_one_line_naming_it(flag, depth, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"x": ' + nested_json(depth) + "}")
    config = {"source": {"client": {"base_url": "http://127.0.0.1:9"}, "resources": RESOURCES}}
    out = run_cli([flag, str(deep)], config if flag != "--config" else None, tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == f"tap-restgeneric: config error: {flag} {deep}: nested deeper than 100 levels"
    assert "Traceback" not in out.stderr


def test_a_document_nested_to_the_bound_loads():
    assert _load_yaml("a: " + nested_json(98))["a"] is not None


@pytest.mark.parametrize("text", [nested_json(3000), "a:\n" + "".join("  " * i + "- \n" for i in range(1, 400))])
def test_a_source_file_nested_too_deeply_is_one_line_naming_the_file(text, tmp_path):
    source = tmp_path / "deep.yaml"
    source.write_text(text)
    out = run_cli(["--discover"], {"source_file": str(source)}, tmp_path)
    assert out.returncode == 1
    line = last_line(out.stderr)
    assert line.startswith(f"tap-restgeneric: config error: source_file: '{source}': nested deeper than 100 levels at line ")


def test_an_inline_source_nested_too_deeply_is_one_line_naming_the_setting(tmp_path):
    source = {"client": {"base_url": "http://127.0.0.1:9"}, "resources": RESOURCES, "x": json.loads(nested_json(150))}
    out = run_cli(["--discover", "--config", "ENV"], None, tmp_path, env={"TAP_RESTGENERIC_SOURCE": json.dumps(source)})
    assert out.returncode == 1
    assert last_line(out.stderr) == "tap-restgeneric: config error: source: nested deeper than 100 levels"


@pytest.mark.parametrize(
    "template",
    [
        "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
        "{{ " + "[" * 40 + "]" * 40 + " }}",
        "{{ " + "not " * 5000 + "1 }}",
        "{{ " + "-" * 5000 + "1 }}",
        "{{ 1" + "|abs" * 5000 + " }}",
        "{{ config" + ".a" * 5000 + " }}",
        "{{ 1" + " + 1" * 5000 + " }}",
    ],
    ids=["parentheses", "brackets", "not", "minus", "filters", "attributes", "operators"],
)
def test_a_template_nested_too_deeply_is_one_line_naming_its_place(template, tmp_path):
    config = {
        "source": {
            "client": {"base_url": "http://127.0.0.1:9"},
            "resources": [{"name": "items", "endpoint": {"path": "items", "params": {"q": template}}}],
        }
    }
    out = run_cli(["--discover"], config, tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        "tap-restgeneric: config error: resources[0].endpoint.params.q: template nested too deeply (more than 32 levels "
        "of brackets, or a syntax tree more than 80 deep: a chain of filters, attributes or operators)"
    )
