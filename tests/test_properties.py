"""Property-based: no config and no response body makes the tap fail other than in one clear line."""

from __future__ import annotations

import copy
import json
import re
import typing as t

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_restgeneric.errors import SourceConfigError, StreamError
from tap_restgeneric.paging.reader import ResponseReader, UnreadableBody
from tap_restgeneric.settings import check_settings
from tap_restgeneric.source import load_source
from tap_restgeneric.tap import TapRestGeneric

BASE = {
    "secrets": {"key": "s3cret-value"},
    "source": {
        "client": {
            "base_url": "http://127.0.0.1:9/api",
            "auth": {"type": "api_key", "name": "X-Key", "api_key": "{{ secrets.key }}"},
            "headers": {"Accept": "application/json"},
            "paginator": {"type": "page_number", "limit": 10},
        },
        "resource_defaults": {"primary_key": "id", "write_disposition": "merge", "endpoint": {"params": {"per_page": 10}}},
        "resources": [
            "issues",
            {
                "name": "events",
                "endpoint": {
                    "path": "/v1/events",
                    "params": {"since": "{{ incremental.start_value }}", "kind": "all"},
                    "data_selector": "data",
                    "paginator": {"type": "cursor", "cursor_path": "next", "cursor_param": "after"},
                    "incremental": {"cursor_path": "updated_at", "start_param": "updated_since", "initial_value": "2024-01-01"},
                },
                "schema": {"properties": {"id": {"type": "integer"}, "updated_at": {"type": ["string", "null"]}}},
            },
        ],
    },
}
#: Every problem starts with the config path (or setting) it is about.
_TOKEN = r"""(?:[A-Za-z0-9_\-]+|\[\d+\]|\['(?:[^'\\]|\\.)*'\]|\["(?:[^"\\]|\\.)*"\])"""
PATH = re.compile(rf"^(no source: |{_TOKEN}(?:\.?{_TOKEN})*: )")

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8
)
templates = st.sampled_from(
    [
        "{{ ",
        "{{ nope }}",
        "{{ secrets.missing }}",
        "{{ 'x' * 10**9 }}",
        "{{ 10**(10**8) }}",
        "{% for i in x %}{{ i }}{% endfor %}",
        "{{ response.next }}",
        "{{ secrets.key|center(10**9) }}",
        "{incremental.start_value}",
        "{resources.parent.id}",
        "{{ config.nothing.x }}",
    ]
)
deep = st.integers(min_value=50, max_value=400).map(lambda n: json.loads("[" * n + "]" * n))


def paths(tree: t.Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found += paths(value, (*prefix, index))
    return found


@st.composite
def mutated_configs(draw: st.DrawFn) -> dict:
    config = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        if not paths(config):  # everything deleted already
            break
        where = draw(st.sampled_from(paths(config)))
        parent = config
        for part in where[:-1]:
            parent = parent[part]
        key = where[-1]
        action = draw(st.sampled_from(["replace", "template", "delete", "unknown", "deep"]))
        if action == "delete" and isinstance(parent, dict):
            parent.pop(key, None)
        elif action == "unknown" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(values)
        else:
            parent[key] = draw(templates if action == "template" else deep if action == "deep" else values)
    return config


@settings(max_examples=300)
@given(mutated_configs())
def test_a_mutated_config_loads_or_fails_with_one_line_per_problem_naming_its_path(config):
    """As the tap does: the settings are checked, then the source; either passes or says where it fails."""
    checked, problems = check_settings(config, TapRestGeneric.config_jsonschema)
    if not problems:
        try:
            load_source(checked)
        except SourceConfigError as exc:
            problems = exc.problems
        else:
            return
    assert problems
    for problem in problems:
        assert "\n" not in problem
        assert PATH.match(problem), problem


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["json", "html", "empty", "scalar", "truncated", "latin1", "error", "huge", "random", "deep"]))
    records = [{"id": i, "name": draw(st.text(max_size=10))} for i in range(draw(st.integers(min_value=0, max_value=5)))]
    encoded = json.dumps({"data": records}).encode()
    return {
        "json": (encoded, "application/json"),
        "html": (b"<html><body>busy</body></html>", "text/html"),
        "empty": (b"", "application/json"),
        "scalar": (json.dumps(draw(scalars)).encode(), "application/json"),
        "truncated": (encoded[: max(1, len(encoded) // 2)], "application/json"),
        "latin1": (
            '{"data": [{"id": 1, "name": "caf\u00e9"}]}'.encode("latin-1"),
            draw(st.sampled_from(["application/json", "application/json; charset=latin-1"])),
        ),
        "error": (json.dumps({"errors": [{"message": "quota exceeded"}]}).encode(), "application/json"),
        "huge": (json.dumps({"data": [{"id": 1, "blob": "x" * 200_000}]}).encode(), "application/json"),
        "random": (draw(st.binary(max_size=64)), "application/json"),
        "deep": (b'{"data": ' + b"[" * 3000 + b"]" * 3000 + b"}", "application/json"),
    }[kind]


@pytest.mark.parametrize("data_selector", [None, "data"])
@settings(max_examples=150)
@given(body=bodies())
def test_any_response_body_is_a_page_or_one_clear_line(data_selector, body):
    content, content_type = body
    response = requests.Response()
    response.status_code = 200
    response.url = "http://127.0.0.1:9/api/items?page=1"
    response.headers["Content-Type"] = content_type
    response._content = content
    reader = ResponseReader("items", data_selector, ["id"])
    try:
        page = reader(response)
    except (StreamError, UnreadableBody) as exc:
        message = str(exc.args[0] if isinstance(exc, UnreadableBody) else exc)
        assert message.startswith("stream 'items': ") and "\n" not in message
        assert "http://127.0.0.1:9/api/items" in message and "page=1" not in message
    else:
        assert all(isinstance(record, dict) for record in page.records)
