"""The census of a manifest: its components with their paths, the macros and filters its templates
call, and one line per component the tap refuses."""

from __future__ import annotations

from tap_restgeneric.airbyte.census import CallUse, ComponentUse, components, refusals, survey, unknown_types
from tap_restgeneric.airbyte.manifest import read_manifest

MANIFEST = read_manifest(
    {
        "version": "6.44.0",
        "definitions": {"unused": {"type": "CustomRetriever", "class_name": "components.Unused"}},
        "check": {"stream_names": ["users"]},
        "streams": [
            {
                "type": "DeclarativeStream",
                "name": "users",
                "retriever": {
                    "type": "SimpleRetriever",
                    "requester": {
                        "url_base": "https://api.example.com",
                        "path": "/users",
                        "request_parameters": {
                            "since": "{{ format_datetime(config['start'], '%s') }}",
                            "q": "{{ config.q | string }}",
                        },
                        "request_body_json": {"type": "Report", "when": "{{ now_utc() }}"},
                    },
                    "record_selector": {"extractor": {"class_name": "source_x.components.Flatten"}},
                    "paginator": {
                        "type": "DefaultPaginator",
                        "pagination_strategy": {"type": "CursorPagination", "cursor_value": "{{ response.next | default('') }}"},
                    },
                },
            },
            {
                "type": "DeclarativeStream",
                "name": "exports",
                "retriever": {"type": "AsyncRetriever", "status_extractor": {"type": "DpathExtractor", "field_path": ["s"]}},
                "transformations": [{"type": "CustomTransformation", "class_name": "components.T"}],
            },
        ],
    }
)


def test_components_are_listed_with_their_paths_in_document_order():
    assert components(MANIFEST) == [
        ComponentUse("DeclarativeSource", "the top"),
        ComponentUse("CheckStream", "check"),
        ComponentUse("DeclarativeStream", "streams[0]"),
        ComponentUse("SimpleRetriever", "streams[0].retriever"),
        ComponentUse("HttpRequester", "streams[0].retriever.requester"),
        ComponentUse("RecordSelector", "streams[0].retriever.record_selector"),
        ComponentUse("CustomRecordExtractor", "streams[0].retriever.record_selector.extractor", "source_x.components.Flatten"),
        ComponentUse("DefaultPaginator", "streams[0].retriever.paginator"),
        ComponentUse("CursorPagination", "streams[0].retriever.paginator.pagination_strategy"),
        ComponentUse("DeclarativeStream", "streams[1]"),
        ComponentUse("AsyncRetriever", "streams[1].retriever"),
        ComponentUse("DpathExtractor", "streams[1].retriever.status_extractor"),
        ComponentUse("CustomTransformation", "streams[1].transformations[0]", "components.T"),
    ]


def test_the_survey_lists_macro_and_filter_calls_where_they_are():
    found = survey(MANIFEST)
    assert set(found.calls) == {
        CallUse("format_datetime", "macro", "streams[0].retriever.requester.request_parameters.since"),
        CallUse("string", "filter", "streams[0].retriever.requester.request_parameters.q"),
        CallUse("now_utc", "macro", "streams[0].retriever.requester.request_body_json.when"),
        CallUse("default", "filter", "streams[0].retriever.paginator.pagination_strategy.cursor_value"),
    }
    assert found.macros == {"format_datetime", "now_utc"}
    assert "CustomRetriever" not in found.types  # definitions hold templates for references, not components
    assert found.problems == []


def test_templates_that_do_not_parse_are_problems_naming_their_path():
    found = survey(
        read_manifest({"version": "1", "streams": [{"name": "s", "retriever": {"requester": {"path": "{{ config.x ) }}"}}}]})
    )
    assert found.problems == ["streams[0].retriever.requester.path: template syntax error: unexpected ')'"]


def test_refusals_name_every_unsupported_component_and_always_custom_code_and_async_jobs():
    supported = {"DeclarativeSource", "CheckStream", "DeclarativeStream", "SimpleRetriever", "HttpRequester", "RecordSelector"}
    supported |= {"DpathExtractor", "AsyncRetriever", "CustomTransformation"}
    assert refusals(MANIFEST, supported) == [
        "CustomRecordExtractor (source_x.components.Flatten) at streams[0].retriever.record_selector.extractor",
        "DefaultPaginator at streams[0].retriever.paginator",
        "CursorPagination at streams[0].retriever.paginator.pagination_strategy",
        "AsyncRetriever at streams[1].retriever",
        "CustomTransformation (components.T) at streams[1].transformations[0]",
    ]


def test_an_explicit_custom_type_without_code_is_refused_and_a_class_name_in_an_unmapped_field_too():
    tree = read_manifest(
        {
            "version": "1",
            "streams": [
                {
                    "name": "s",
                    "retriever": {"record_selector": {"record_filter": {"type": "CustomRecordFilter"}}},
                    "schema_loader": {"class_name": "components.Loader"},
                }
            ],
        }
    )
    lines = refusals(tree, {"DeclarativeStream", "SimpleRetriever", "RecordSelector", "DeclarativeSource", "CustomRecordFilter"})
    assert lines == [
        "CustomRecordFilter at streams[0].retriever.record_selector.record_filter",
        "custom component (components.Loader) at streams[0].schema_loader",  # no Custom* type for this field
    ]


def test_a_manifest_the_tap_supports_whole_has_no_refusals():
    tree = read_manifest({"version": "1", "streams": [{"name": "s", "retriever": {"requester": {"url_base": "u"}}}]})
    assert refusals(tree, {"DeclarativeSource", "DeclarativeStream", "SimpleRetriever", "HttpRequester"}) == []


def test_unknown_types_in_component_fields_are_listed_but_request_bodies_are_not_looked_into():
    tree = read_manifest(
        {
            "version": "1",
            "streams": [
                {
                    "name": "s",
                    "retriever": {
                        "paginator": {"type": "DefaultPaginator", "pagination_strategy": {"type": "TokenBased"}},
                        "requester": {"request_body_json": {"type": "Report"}},
                    },
                }
            ],
        }
    )
    assert list(unknown_types(tree)) == [
        "unknown component type TokenBased at streams[0].retriever.paginator.pagination_strategy"
    ]
