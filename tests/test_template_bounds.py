"""Templates whose every step is small while their result is huge, or whose filter runs long in its
own loop, are refused with one config error line naming the template's place, wherever the
template is: request params, path, headers, processing steps, paginator templates.

The time bound (TIME_BUDGET, 1 s) is shown on work that takes 10 s or more without it; its
figures (time and peak memory of each attack, before and after) are in
``benchmarks/template_attacks.py``, not asserted here."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_restgeneric.errors import TemplateEvaluationError
from tap_restgeneric.template_sandbox import MAX_STRING_LENGTH
from tap_restgeneric.templates import Template
from tests.listeners import Listener, Reply, Request
from tests.support import last_line, run_cli

#: (template, the refusal's reason): each step is within the item limits, the result is not.
ATTACKS = {
    "indent": ("{{ ('x\\n' * 400000) | indent(1000) }}", "indent() would build more than 1,000,000 characters"),
    "format fields": ("{{ ('%999999s' * 100) % ((1,) * 100) }}", "formatting would build more than 1,000,000 characters"),
    "str.format fields": (
        "{{ ('{:>999999}' * 100).format(*((1,) * 100)) }}",
        "formatting would build more than 1,000,000 characters",
    ),
    "nested list": (
        "{{ [['x' * 1000] * 1000] * 1000 }}",
        "repeating a list 1,000 times would make more than 16,000,000 characters as text",
    ),
    "nested list as text": (
        "a{{ [['x' * 1000] * 1000] * 15 }}",
        "an output would be more than 1,000,000 characters as text",
    ),
    "nested list joined": (
        "{{ ([['x' * 1000] * 1000] * 15) | join }}",
        "the input of join() would be more than 1,000,000 characters as text",
    ),
    "nested list as JSON": (
        "{{ ([['x' * 1000] * 1000] * 15) | tojson }}",
        "the input of tojson() would be more than 1,000,000 characters as text",
    ),
    "nested list concatenated": (
        "{{ '' ~ [['x' * 1000] * 1000] * 15 }}",
        "the concatenation would exceed 1,000,000 characters",
    ),
    "wordwrap": ("{{ ('a' * 999999) | wordwrap(1) }}", "wordwrap() would build more than 1,000,000 characters"),
    "many outputs": ("{{ 'x' * 999999 }}" * 20, "rendered more than 1,000,000 characters"),
    "a filter's own loop": ("{{ ('a' * 400000) | wordwrap(1) }}", "ran longer than 1 s"),  # 11 s without the bound
}


def config(api: Listener, place: str, template: str) -> tuple[dict, str]:
    """A source with ``template`` at ``place``, and that place's config path."""
    endpoint: dict = {"path": "items", "data_selector": "data", "paginator": "single_page"}
    resource: dict = {"name": "items", "endpoint": endpoint}
    if place == "params":
        endpoint["params"] = {"q": template}
        where = "resources[0].endpoint.params.q"
    elif place == "path":
        endpoint["path"] = "items/" + template
        where = "resources[0].endpoint.path"
    elif place == "headers":
        endpoint["headers"] = {"X-Q": template}
        where = "resources[0].endpoint.headers.X-Q"
    elif place == "processing map":
        resource["processing_steps"] = [{"map": {"q": template}}]
        where = "resources[0].processing_steps[0].map.q"
    elif place == "processing filter":
        resource["processing_steps"] = [{"filter": "{{ (" + template.replace("{{", "").replace("}}", "") + ") != '' }}"}]
        where = "resources[0].processing_steps[0].filter"
    else:
        endpoint["paginator"] = {"type": "cursor", "cursor_value": template, "cursor_param": "c"}
        where = "resources[0].endpoint.paginator.cursor_value"
    return {"source": {"client": {"base_url": api.url("/api")}, "resources": [resource]}}, where


def respond(request: Request) -> Reply:
    return Reply(200, {"data": [{"id": 1}]})


PLACES = ["params", "path", "headers", "processing map", "processing filter", "paginator"]


def one_expression(template: str) -> bool:
    return template.startswith("{{") and template.count("{{") == 1


#: Every attack in every place, but a processing filter only takes one expression.
CASES = [
    (attack, place)
    for place in PLACES
    for attack, (template, _) in ATTACKS.items()
    if place != "processing filter" or one_expression(template)
]


@pytest.mark.parametrize(("attack", "place"), CASES)
def test_a_template_with_a_huge_result_is_one_line_naming_its_place(attack, place, tmp_path):
    template, reason = ATTACKS[attack]
    with Listener("127.0.0.1", respond) as api:
        cfg, where = config(api, place, template)
        out = run_cli([], cfg, tmp_path, timeout=60)
    assert out.returncode == 1
    assert last_line(out.stderr) == f"tap-restgeneric: config error: {where}: template refused: {reason}"
    assert "Traceback" not in out.stderr
    sent = [r.path for r in api.requests]
    assert sent == ([] if place in ("params", "path", "headers") else ["/api/items"])  # nothing sent after it


def test_a_paginator_template_reading_a_long_response_is_bounded_by_its_output(tmp_path):
    def long_text(request: Request) -> Reply:
        return Reply(200, {"data": [{"id": 1}], "text": "x\n" * 400_000})

    with Listener("127.0.0.1", long_text) as api:
        cfg, where = config(api, "paginator", "{{ response.text | indent(100) }}")
        out = run_cli([], cfg, tmp_path, timeout=60)
    assert last_line(out.stderr) == (
        f"tap-restgeneric: config error: {where}: template refused: indent() would build more than 1,000,000 characters"
    )
    assert out.returncode == 1


def test_a_processing_step_may_copy_a_large_field_of_the_record(tmp_path):
    big = [f"item {i}" for i in range(200_000)]  # 2 MB as JSON: more than a template may build, not more than it may pass on

    def respond_big(request: Request) -> Reply:
        return Reply(200, {"data": [{"id": 1, "big": big}]})

    with Listener("127.0.0.1", respond_big) as api:
        cfg, _ = config(api, "processing map", "{{ record.big }}")
        out = run_cli([], cfg, tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.records("items")[0]["q"] == big


# ---------------------------------------------------------------- refused exactly when too large


def evaluate(source: str) -> str | None:
    """The result, or None when refused for its size."""
    try:
        return Template(source, "q", {"config"})({"config": {}})
    except TemplateEvaluationError as exc:
        if "would build more than 1,000,000 characters" not in str(exc):
            raise
        return None


@settings(max_examples=60, deadline=None)
@given(lines=st.integers(1, 200_000), width=st.integers(0, 2_000))
def test_indent_is_refused_exactly_when_its_result_would_pass_the_limit(lines, width):
    text_length = 2 * lines
    result = evaluate(f"{{{{ ('x\\n' * {lines}) | indent({width}, true) }}}}")
    if text_length + (lines + 1) * width <= MAX_STRING_LENGTH:
        assert result is not None and len(result) == text_length + lines * width
    elif text_length + lines * width > MAX_STRING_LENGTH:
        assert result is None


@settings(max_examples=60, deadline=None)
@given(fields=st.integers(1, 300), width=st.integers(1, 99_999), argument=st.integers(0, 3_000))
def test_format_fields_are_refused_before_they_build_more_than_the_limit(fields, width, argument):
    spec = f"%{width}s" * fields
    result = evaluate(f"{{{{ {json.dumps(spec)} % ((('y' * {argument}),) * {fields}) }}}}")
    actual = fields * max(width, argument)
    if result is not None:
        assert len(result) == actual <= MAX_STRING_LENGTH
    else:
        assert len(spec) + fields * (width + len(str(width))) + fields * (argument + 4) > MAX_STRING_LENGTH
