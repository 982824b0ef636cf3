"""Airbyte's interpolation: the CDK's rendering rules, macros and filters in the tap's bounded sandbox.

The table's expected values were observed with airbyte-cdk 7.39.1 (InterpolatedString and
InterpolatedBoolean, the clock frozen at NOW, TZ=UTC as in its container). A scratch comparison of
the same table found no other difference than the ones tested below as the tap's own rules, and the
tap's results identical under three machine time zones (the CDK's are not: ``strftime('%s')``)."""

from __future__ import annotations

import ast
import datetime
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tap_restgeneric.airbyte import vocabulary
from tap_restgeneric.airbyte.interpolated import Interpolation
from tap_restgeneric.airbyte.interpolation import PAGINATION_NAMES, StreamSlice, literal_value
from tap_restgeneric.airbyte.macros import macros
from tap_restgeneric.errors import SourceConfigError, TemplateEvaluationError
from tests.time_zones import machine_time_zone  # noqa: F401 - the fixture, used by pytestmark

pytestmark = pytest.mark.usefixtures("machine_time_zone")

NOW = datetime.datetime(2024, 3, 9, 22, 45, 30, 123456, tzinfo=datetime.timezone.utc)
CONFIG = {
    "a": 1,
    "s": "x",
    "n": None,
    "lst": [1, 2],
    "num": "12",
    "d": {"k": "v"},
    "start": "2024-01-01T00:00:00Z",
    "ts": 1700000000,
}
CONFIG |= {"empty": "", "zero": 0}
PARAMETERS = {"name": "users", "page": "2"}
CONTEXT = {
    "next_page_token": {"next_page_token": 3},
    "response": {"data": [1], "next": "abc", "meta": {}},
    "last_record": None,
    "headers": {"link": {}},
    "stream_slice": StreamSlice({"parent_id": "p1"}, {"start_time": "2024-01-01", "end_time": "2024-01-31"}, {"x": 1}),
}
INTERPOLATION = Interpolation(clock=lambda: NOW)


def string(source, default=None, **context):
    values = {**CONTEXT, **context}
    return INTERPOLATION.string(source, "streams[0].retriever.requester.path", values, PARAMETERS, default).eval(CONFIG, **values)


def boolean(source, **context):
    values = {**CONTEXT, **context}
    return INTERPOLATION.boolean(
        source, "streams[0].retriever.paginator.pagination_strategy.stop_condition", values, PARAMETERS
    ).eval(CONFIG, **values)


# (template, InterpolatedString's value, InterpolatedBoolean's value), as the CDK gives them (a golden file)
CDK_TABLE = [
    (template, ast.literal_eval(value), truth == "True")
    for template, value, truth in (
        line.split("\t")
        for line in (Path(__file__).parent / "cdk_interpolation.tsv").read_text().splitlines()
        if not line.startswith("#")
    )
]


@pytest.mark.parametrize(("source", "expected", "truth"), CDK_TABLE)
def test_templates_evaluate_as_the_cdk_evaluates_them(source, expected, truth):
    value = string(source)
    assert value == expected
    assert type(value) is type(expected)
    assert boolean(source) is truth


def test_rendered_text_is_read_as_a_python_literal_when_it_is_one():
    assert literal_value("[1, 2]") == [1, 2]
    assert literal_value("1, 2") == (1, 2)  # a joined list reads back as a tuple
    assert literal_value("2024-10-12") == "2024-10-12"
    assert literal_value("1j") == "1j"
    assert literal_value("9" * 5000) == "9" * 5000  # past Python's digit limit: text
    assert literal_value("12", valid_types=(str,)) == "12"
    assert literal_value("[" * 1000 + "]" * 1000) == "[" * 1000 + "]" * 1000


def test_an_undefined_value_used_gives_the_default_and_without_one_the_error_in_one_line():
    assert string("{{ config.missing.x }}", default="fallback") == "fallback"
    assert string("{{ config.missing }}", default="{{ config.a }}") == 1
    with pytest.raises(TemplateEvaluationError) as caught:
        string("{{ response.meta.missing.deeper }}")
    assert str(caught.value) == "streams[0].retriever.requester.path: template error: 'dict object' has no attribute 'missing'"
    assert boolean("{{ config.missing.x }}") is False  # a condition's default is False


def test_a_type_error_fails_in_one_line_where_the_cdk_would_send_the_templates_text():
    """CDK: ``{{ 1 + 'a' }}`` evaluates to its own text, and as a stop condition to True."""
    with pytest.raises(TemplateEvaluationError, match=r"^streams\[0\]\.retriever\.requester\.path: template error: TypeError: "):
        string("{{ 1 + 'a' }}")
    with pytest.raises(TemplateEvaluationError, match="stop_condition: template error: TypeError"):
        boolean("{{ 1 + 'a' }}")
    with pytest.raises(TemplateEvaluationError, match="ZeroDivisionError: division by zero"):
        string("{{ 1/0 }}")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ nope }}", "template uses undefined name 'nope' (available here: config, parameters, response)"),
        ("{{ range(3) }}", "template uses undefined name 'range' (available here: config, parameters, response)"),
        (
            "{{ stream_state.updated_at }}",
            "`stream_state` is not available in templates (Airbyte's CDK refuses it too): use stream_interval",
        ),
        (
            "literally stream_state",
            "`stream_state` is not available in templates (Airbyte's CDK refuses it too): use stream_interval",
        ),
        ("{{ config.a ) }}", "template syntax error: unexpected ')'"),
        ("{% macro m() %}{% endmacro %}", "{% macro %} are not allowed in templates"),
        ("{% for x in config.lst recursive %}{{ loop(x) }}{% endfor %}", "recursive loops are not allowed in templates"),
    ],
)
def test_what_the_cdk_refuses_late_the_tap_refuses_when_it_compiles(source, message):
    with pytest.raises(SourceConfigError) as caught:
        INTERPOLATION.compile(source, "streams[2].retriever.requester.path", {"response"})
    assert str(caught.value) == f"streams[2].retriever.requester.path: {message}"


def test_each_place_offers_its_names_absent_ones_are_none_and_the_slice_has_its_aliases():
    cursor = INTERPOLATION.string("{{ last_record.id or response.next }}", "cursor_value", PAGINATION_NAMES)
    assert cursor.eval(CONFIG, response={"next": "n2"}) == "n2"
    assert cursor.eval(CONFIG, response={"next": "n2"}, last_record={"id": 7}) == 7
    interval = INTERPOLATION.string("{{ stream_interval.start_time }}/{{ stream_partition.id }}", "path", {"stream_slice"})
    assert interval.eval(CONFIG, stream_slice=StreamSlice({"id": 5}, {"start_time": "2024-01-01"})) == "2024-01-01/5"
    assert interval.eval(CONFIG) == "/"  # no slice: None, whose attributes are undefined and render empty


def test_a_stream_slice_renders_as_its_keys_and_refuses_overlapping_ones():
    assert repr(StreamSlice({"a": 1}, {"b": 2})) == "{'a': 1, 'b': 2}"
    with pytest.raises(ValueError, match="cannot share keys"):
        StreamSlice({"a": 1}, {"a": 2})


def test_mappings_render_keys_as_text_and_empty_values_as_none():
    # CDK: InterpolatedMapping and InterpolatedNestedMapping, same inputs
    mapping = {
        "{{ config.a }}": "{{ config.a }}",
        "k": "{{ config.missing }}",
        "{{ config.missing }}": 1,
        "x": 5,
        "y": "{{ '[1]' }}",
    }
    assert INTERPOLATION.mapping(mapping, "request_parameters").eval(CONFIG) == {"1": 1, "k": None, None: 1, "x": 5, "y": [1]}
    nested = {
        "a": {"b": "{{ config.missing }}", "c": ["{{ config.a }}", "{{ config.missing }}"], "{{ config.a }}": "z"},
        "n": None,
        "q": 3,
    }
    assert INTERPOLATION.nested(nested, "request_body_json").eval(CONFIG) == {"a": {"c": [1, None], 1: "z"}, "q": 3}


def test_now_is_the_clock_wherever_a_template_looks_for_it():
    assert string("{{ now_utc().now() }}") == "2024-03-09 22:45:30.123456"
    assert string("{{ now_utc().utcnow().isoformat() }}") == "2024-03-09T22:45:30.123456"
    assert string("{{ today_utc().today() }}") == "2024-03-09"
    assert string("{{ now_utc().now(now_utc().tzinfo).year }}") == 2024
    later = Interpolation(clock=lambda: datetime.datetime(2030, 1, 1))  # noqa: DTZ001 - a naive clock is taken as UTC
    assert later.string("{{ now_utc() }}", "w").eval({}) == "2030-01-01 00:00:00+00:00"


def test_nothing_depends_on_the_machine_time_zone():
    assert string("{{ now_utc().astimezone() }}") == "2024-03-09 22:45:30.123456+00:00"
    assert string("{{ str_to_datetime('2024-03-09T10:00:00').replace(tzinfo=None).timestamp() | int }}") == 1709978400
    assert string("{{ now_utc().fromtimestamp(0) }}") == "1970-01-01 00:00:00"
    assert string("{{ today_utc().fromtimestamp(0) }}") == "1970-01-01"
    assert string("{{ str_to_datetime('2024-03-09T10:00:00+02:00').astimezone(None).hour }}") == 8


def test_generate_uuid_is_injectable():
    numbered = Interpolation(clock=lambda: NOW, new_uuid=lambda: "00000000-0000-4000-8000-000000000001")
    assert numbered.string("{{ generate_uuid() }}", "w").eval({}) == "00000000-0000-4000-8000-000000000001"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", string("{{ generate_uuid() }}"))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        # filters the CDK lets reach anything are limited
        ("{{ 'x' | hash('new') }}", "AttributeError: No hashing function named new"),
        ("{{ 'x' | hmac('k', 'md5') }}", "ValueError: Hash type 'md5' is not allowed. Allowed types: sha256"),
        ("{{ today_with_timezone('Mars/Olympus') }}", "ValueError: today_with_timezone(): unknown time zone 'Mars/Olympus'"),
        # the sandbox's bounds hold
        ("{{ 'x' * 10**7 }}", "refused: repeating a value 10,000,000 times would exceed 1,000,000 items"),
        ("{{ 'x' | center(10**8) }}", "refused: an argument of center() 100,000,000 is above the limit 1,000,000"),
        (
            "{% for a in config.lst * 10**5 %}{% for b in config.lst * 10**5 %}{% endfor %}{% endfor %}",
            "refused: ran longer than 1 s",
        ),
    ],
)
def test_what_a_template_may_not_do_is_one_line(source, message):
    with pytest.raises(TemplateEvaluationError) as caught:
        string(source)
    assert str(caught.value) in (
        f"streams[0].retriever.requester.path: template error: {message}",
        f"streams[0].retriever.requester.path: template {message}",
    )


def test_the_sandbox_refuses_escapes_and_mutations_but_list_append():
    assert string("{{ config.__class__ }}") == ""  # an unsafe attribute is undefined
    with pytest.raises(TemplateEvaluationError, match="SecurityError"):
        string("{{ config.__class__.__mro__ }}")
    with pytest.raises(TemplateEvaluationError, match="SecurityError"):
        string("{{ config.lst.pop() }}")  # of the mutations, only list.append is allowed (manifests build lists)
    assert CONFIG["lst"] == [1, 2]


def test_the_census_knows_every_macro_and_filter_the_interpolation_offers():
    environment = INTERPOLATION.environment
    assert set(macros(lambda: NOW)) == vocabulary.MACROS
    assert set(environment.globals) >= vocabulary.MACROS
    assert set(environment.filters) >= vocabulary.FILTERS


@given(st.text(alphabet=st.characters(blacklist_characters="{}%#\r", blacklist_categories=("Cs",)), max_size=40))
def test_plain_text_goes_through_jinja_and_reads_as_a_literal_like_any_template(text):
    expected = literal_value(text.removesuffix("\n"))  # Jinja drops one trailing newline
    value = INTERPOLATION.string(text, "w").eval({}) if text else ""
    assert value == expected or (value != value and expected != expected)  # noqa: PLR0124 - NaN is not equal to itself
