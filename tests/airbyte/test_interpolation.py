"""Airbyte's interpolation: the CDK's rendering rules, macros and filters in the tap's bounded sandbox.

The table's expected values were observed with airbyte-cdk 7.39.1 (InterpolatedString and
InterpolatedBoolean, the clock frozen at NOW, TZ=UTC as in its container). A scratch comparison of
the same table found no other difference than the ones tested below as the tap's own rules, and the
tap's results identical under three machine time zones (the CDK's are not: ``strftime('%s')``)."""

from __future__ import annotations

import datetime
import re

import pytest

from tap_restgeneric.airbyte.interpolated import Interpolation
from tap_restgeneric.airbyte.interpolation import PAGINATION_NAMES, StreamSlice, literal_value
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


# (template, InterpolatedString's value, InterpolatedBoolean's value), as the CDK gives them
CDK_TABLE = [
    ("{{ config.a }}", 1, True),
    ("{{ config.missing }}", "", False),
    ("{{ config.num }}", 12, True),
    ("{{ config.d }}", {"k": "v"}, True),
    ("{{ config.lst }}", [1, 2], True),
    ("{{ config.n }}", None, False),
    ("plain", "plain", True),
    ("123", 123, True),
    ("0123", "0123", True),
    ("plain with trailing newline", "plain with trailing newline", True),
    ("{{ '1e3' }}", 1000.0, True),
    ("{{ ' 5' }}", 5, True),
    ("{{ True }}", True, True),
    ("{{ '1j' }}", "1j", True),
    ("{{ 'None' }}", None, False),
    ("{{ config['missing'] }}", "", False),
    ("{{ config.get('missing') }}", None, False),
    ("{{ config.get('missing', 'dflt') }}", "dflt", True),
    ("{{ config.s | hash }}", "9dd4e461268c8034f5c8564e155c67a6", True),
    ("{{ config.s | hash('sha256', 'salt') }}", "59098e2e749becb74e501e20763edb94b09433e20c2aff0ebc9a061bb92448e6", True),
    ("{{ config.lst | string }}", "[1, 2]", True),
    ("{{ 'abc' | string }}", "abc", True),
    ("{{ config.d | string }}", '{"k": "v"}', True),
    ("{{ 'a' | base64encode }}", "YQ==", True),
    ("{{ 'YQ==' | base64decode }}", "a", True),
    ("{{ 'x' | base64binascii_decode }}", "eA==", True),
    ("{{ 'ab12' | regex_search('([0-9]+)') }}", 12, True),
    ("{{ 'ab' | regex_search('[0-9]') }}", "", False),
    ("{{ 'a-b-c' | regex_replace('-', '_') }}", "a_b_c", True),
    ("{{ 'msg' | hmac('key') }}", "2d93cbc1be167bcb1637a4a23cbff01a7878f0c50ee833954ea5221bb1b8c628", True),
    ("{% set x = [] %}{% set _ = x.append(1) %}{{ x }}", [1], True),
    (
        "{% set out = [] %}{% for k, v in config.d.items() %}{% set _ = out.append(k ~ '=' ~ v) %}{% endfor %}{{ out | join(',') }}",
        "k=v",
        True,
    ),
    ("{% for i in config.lst %}{{ i }}{% endfor %}", 12, True),
    ("{% for i in config.lst if i > 1 %}{{ i }}{% else %}none{% endfor %}", 2, True),
    ("{{ stream_interval.start_time }}", "2024-01-01", True),
    ("{{ stream_partition.parent_id }}", "p1", True),
    ("{{ stream_slice.start_time }}", "2024-01-01", True),
    ("{{ stream_slice }}", {"parent_id": "p1", "start_time": "2024-01-01", "end_time": "2024-01-31"}, True),
    ("{{ stream_partition.partition }}", {"parent_id": "p1"}, True),
    ("{{ stream_partition.extra_fields }}", {"x": 1}, True),
    ("{{ stream_partition._partition.parent_id }}", "p1", True),
    ("{{ stream_slice.get('end_time') }}", "2024-01-31", True),
    ("{{ parameters.name }}", "users", True),
    ("{{ parameters['page'] }}", 2, True),
    ("{{ next_page_token.next_page_token }}", 3, True),
    ("{{ next_page_token['next_page_token'] }}", 3, True),
    ("{{ response.next }}", "abc", True),
    ("{{ response.missing }}", "", False),
    ("{{ response.meta.missing }}", "", False),
    ("{{ last_record.id }}", "", False),
    ("{{ last_record['id'] }}", "", False),
    ("{{ headers.link.next }}", "", False),
    ("{{ max(1, 2) }}", 2, True),
    ("{{ max([3,4]) }}", 4, True),
    ("{{ min(config.lst) }}", 1, True),
    ("{{ camel_case_to_snake_case('CamelCaseX') }}", "camel_case_x", True),
    ("{{ sanitize_url('a b/c?d=e') }}", "a+b%2Fc%3Fd%3De", True),
    ("{{ timestamp(1658505815.223235) }}", 1658505815, True),
    ("{{ timestamp('2022-01-01T01:01:01+02:00') }}", 1640991661.0, True),
    ("{{ timestamp(config.start) }}", 1704067200.0, True),
    ("{{ str_to_datetime('2022-01-14') }}", "2022-01-14 00:00:00+00:00", True),
    ("{{ str_to_datetime('2022-01-14T10:00:00+05:30') }}", "2022-01-14 04:30:00+00:00", True),
    ("{{ format_datetime('2022-01-14T10:00:00+02:00', '%Y-%m-%dT%H:%M:%S%z') }}", "2022-01-14T08:00:00+0000", True),
    ("{{ format_datetime(1700000000, '%Y-%m-%d') }}", "2023-11-14", True),
    ("{{ format_datetime(config.ts, '%Y-%m-%dT%H:%M:%SZ') }}", "2023-11-14T22:13:20Z", True),
    ("{{ format_datetime(1700000000123, '%Y-%m-%dT%H:%M:%S.%_msZ', '%ms') }}", "2023-11-14T22:13:20.123Z", True),
    ("{{ format_datetime('2022-01-14', '%s') }}", 1642118400, True),
    ("{{ format_datetime(str_to_datetime('2022-01-14'), '%s') }}", 1642118400, True),
    ("{{ format_datetime(str_to_datetime('2022-01-14'), '%ms') }}", "01s", True),
    ("{{ format_datetime('14/01/2022', '%Y-%m-%d', '%d/%m/%Y') }}", "2022-01-14", True),
    ("{{ format_datetime(config.start, '%Y-%m-%d') }}", "2024-01-01", True),
    ("{{ format_datetime(now_utc(), '%Y-%m-%dT%H:%M:%SZ') }}", "2024-03-09T22:45:30Z", True),
    ("{{ format_datetime(now_utc(), '%s') }}", 1710024330, True),
    ("{{ duration('P1D') }}", "1 day, 0:00:00", True),
    ("{{ duration('P1M') }}", "1 month, 0:00:00", True),
    ("{{ duration('PT0.000001S') }}", "0:00:00.000001", True),
    ("{{ str_to_datetime('2022-01-14') - duration('P1M') }}", "2021-12-14 00:00:00+00:00", True),
    ("{{ (str_to_datetime('2022-03-31') - duration('P1M')).strftime('%Y-%m-%d') }}", "2022-02-28", True),
    ("{{ now_utc() }}", "2024-03-09 22:45:30.123456+00:00", True),
    ("{{ now_utc().strftime('%Y-%m-%dT%H:%M:%SZ') }}", "2024-03-09T22:45:30Z", True),
    ("{{ now_utc().strftime('%s') }}", 1710024330, True),
    ("{{ now_utc().timestamp() | int }}", 1710024330, True),
    ("{{ (now_utc() - duration('P7D')).strftime('%Y-%m-%d') }}", "2024-03-02", True),
    ("{{ now_utc().isoformat() }}", "2024-03-09T22:45:30.123456+00:00", True),
    ("{{ (now_utc() - duration('PT1H')).isoformat(timespec='seconds') }}", "2024-03-09T21:45:30+00:00", True),
    ("{{ today_utc() }}", "2024-03-09", True),
    ("{{ today_utc() - duration('P1D') }}", "2024-03-08", True),
    ("{{ (today_utc() - duration('P1D')).strftime('%Y-%m-%d') }}", "2024-03-08", True),
    ("{{ today_utc().strftime('%s') }}", 1709942400, True),
    ("{{ day_delta(1) }}", "2024-03-10T22:45:30.123456+0000", True),
    ("{{ day_delta(-1, '%Y-%m-%d') }}", "2024-03-08", True),
    ("{{ day_delta(-30, format='%Y-%m-%dT%H:%M:%SZ') }}", "2024-02-08T22:45:30Z", True),
    ("{{ today_with_timezone('Pacific/Tarawa') }}", "2024-03-10", True),
    ("{{ today_with_timezone('America/Los_Angeles') }}", "2024-03-09", True),
    ("{{ config.start | int }}", 0, False),
    ("{{ config.a ~ '' }}", 1, True),
    ("{{ [] }}", [], False),
    ("{{ {} }}", {}, False),
    ("{{ '' }}", "", False),
    ("{{ 0 }}", 0, False),
    ("{{ '0' }}", 0, False),
    ("{{ false }}", False, False),
    ("{{ 'False' }}", False, False),
    ("{{ '0.0' }}", 0.0, False),
    ("{{ config.empty }}", "", False),
    ("{{ config.zero }}", 0, False),
    ("{{ config.a if config.a else 2 }}", 1, True),
    ("{{ 'x' * 3 }}", "xxx", True),
    ("{{ config.d.k }}", "v", True),
    ("{{ config.lst[5] }}", "", False),
    ("{{ config.lst | first }}", 1, True),
    ("{{ config.lst | length }}", 2, True),
    ("{{ config.start | default('x') }}", "2024-01-01T00:00:00Z", True),
    ("{{ config.missing | default('dflt') }}", "dflt", True),
    ("{{ config.missing or 'alt' }}", "alt", True),
    ("{{ namespace(a=1).a }}", 1, True),
    ("{{ config.s.upper() }}", "X", True),
    ("{{ '%s' % 5 }}", 5, True),
    ("{{ 'a,b'.split(',') }}", ["a", "b"], True),
    ("{{ config.a | tojson }}", 1, True),
    ("{{ {'a': 1} | tojson }}", {"a": 1}, True),
    ("{{ config.lst | tojson }}", [1, 2], True),
    ("{{ '\"x\"' }}", "x", True),
    ("{{ \"'x'\" }}", "x", True),
    ("{{ '[1, \"a\"]' }}", [1, "a"], True),
    ("{{ config.a > 0 }}", True, True),
    ("{{ not response.next }}", False, False),
    ("{{ response.data | length < 10 }}", True, True),
    ("{{ config.get('start_date', '2020-01-01T00:00:00Z') }}", "2020-01-01T00:00:00Z", True),
    ("{{ config['lst'] | join(',') }}", (1, 2), True),
    ("{{ config.d.items() | list }}", [("k", "v")], True),
    ("{{ response['data'] }}", [1], True),
    ('{{ "true" if config.a else "false" }}', "true", True),
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


def test_filters_that_the_cdk_lets_reach_anything_are_limited():
    with pytest.raises(TemplateEvaluationError, match="No hashing function named new"):
        string("{{ 'x' | hash('new') }}")
    with pytest.raises(TemplateEvaluationError, match="Hash type 'md5' is not allowed"):
        string("{{ 'x' | hmac('k', 'md5') }}")
    with pytest.raises(TemplateEvaluationError, match="unknown time zone 'Mars/Olympus'"):
        string("{{ today_with_timezone('Mars/Olympus') }}")


def test_the_sandbox_bounds_hold_for_manifest_templates():
    with pytest.raises(TemplateEvaluationError, match="template refused: repeating a value"):
        string("{{ 'x' * 10**7 }}")
    with pytest.raises(TemplateEvaluationError, match="template refused"):
        string("{{ 'x' | center(10**8) }}")
    with pytest.raises(TemplateEvaluationError, match="template refused"):
        INTERPOLATION.string("{% for a in config.big %}{% for b in config.big %}{% endfor %}{% endfor %}", "w").eval(
            {"big": list(range(20000))}
        )
    assert string("{{ config.__class__ }}") == ""  # an unsafe attribute is undefined
    with pytest.raises(TemplateEvaluationError, match="SecurityError"):
        string("{{ config.__class__.__mro__ }}")
    with pytest.raises(TemplateEvaluationError, match="SecurityError"):
        string("{{ config.lst.pop() }}")  # of the mutations, only list.append is allowed (manifests build lists)
    assert CONFIG["lst"] == [1, 2]
