"""The oracle's manifest reader (references, parameters, implied types) and the census built on it."""

from __future__ import annotations

import datetime
import re

import pytest

from tests.airbyte import census, connector_config, resolve

START = datetime.datetime(2026, 1, 13, tzinfo=datetime.timezone.utc)


def test_a_ref_is_splatted_under_the_keys_beside_it():
    manifest = {
        "definitions": {"requester": {"type": "HttpRequester", "url_base": "https://a", "http_method": "GET"}},
        "streams": [{"retriever": {"requester": {"$ref": "#/definitions/requester", "http_method": "POST"}}}],
    }
    resolved = resolve.resolve_references(manifest)
    assert resolved["streams"][0]["retriever"]["requester"] == {
        "type": "HttpRequester",
        "url_base": "https://a",
        "http_method": "POST",
    }


def test_a_string_reference_and_nested_and_slashed_keys():
    manifest = {
        "dict": {"limit": 50},
        "nested": {"path": "first"},
        "nested/path": "slashed",
        "a": "#/dict/limit",
        "b": "#/nested/path",
    }
    resolved = resolve.resolve_references(manifest)
    assert resolved["a"] == 50
    assert resolved["b"] == "slashed"  # the whole key is tried before descending, as the CDK does


def test_references_chain_and_undefined_or_circular_ones_are_named():
    assert resolve.resolve_references({"x": "#/y", "y": "#/z", "z": 3})["x"] == 3
    with pytest.raises(resolve.ManifestError, match=re.escape("undefined reference #/nowhere")):
        resolve.resolve_references({"x": "#/nowhere"})
    with pytest.raises(resolve.ManifestError, match="circular reference"):
        resolve.resolve_references({"x": "#/y", "y": "#/x"})


def test_parameters_flow_down_fill_unset_fields_and_the_nearest_wins():
    manifest = {
        "type": "DeclarativeSource",
        "streams": [
            {
                "$parameters": {"name": "users", "path": "/users", "field": "outer"},
                "retriever": {
                    "record_selector": {
                        "extractor": {"$parameters": {"field": "inner"}, "field_path": ["{{ parameters.field }}"]}
                    },
                    "requester": {"url_base": "https://a"},
                },
            }
        ],
    }
    loaded = resolve.load(manifest)
    stream = loaded["streams"][0]
    assert stream["type"] == "DeclarativeStream"
    assert stream["name"] == "users"  # a parameter fills the field of the same name
    requester = stream["retriever"]["requester"]
    assert (requester["type"], requester["path"]) == ("HttpRequester", "/users")
    extractor = stream["retriever"]["record_selector"]["extractor"]
    assert extractor["type"] == "DpathExtractor"
    assert extractor["$parameters"]["field"] == "inner"
    assert stream["retriever"]["$parameters"]["field"] == "outer"


def test_a_field_set_on_the_component_wins_over_a_parameter():
    loaded = resolve.load({"streams": [{"name": "own", "$parameters": {"name": "param"}, "retriever": {}}]})
    assert loaded["streams"][0]["name"] == "own"


def test_json_schemas_are_not_components():
    loaded = resolve.load(
        {
            "streams": [
                {
                    "retriever": {},
                    "schema_loader": {
                        "type": "InlineSchemaLoader",
                        "schema": {"type": "object", "properties": {"type": {"type": "string"}}},
                    },
                }
            ]
        }
    )
    kinds = sorted({c["type"] for _p, c in resolve.walk(loaded)})
    assert kinds == ["DeclarativeSource", "DeclarativeStream", "InlineSchemaLoader", "SimpleRetriever"]


def _stream(name: str, **retriever: object) -> dict:
    return {"type": "DeclarativeStream", "name": name, "retriever": {"type": "SimpleRetriever", **retriever}}


def test_census_names_the_sub_features_the_issue_counts():
    parent = _stream("parent", partition_router={"type": "SubstreamPartitionRouter", "parent_stream_configs": []})
    manifest = {
        "type": "DeclarativeSource",
        "streams": [
            {
                **_stream(
                    "child",
                    partition_router=[
                        {
                            "type": "SubstreamPartitionRouter",
                            "parent_stream_configs": [{"stream": parent, "parent_key": "id", "incremental_dependency": True}],
                        },
                        {"type": "ListPartitionRouter", "values": ["a"], "cursor_field": "x"},
                    ],
                    paginator={
                        "type": "DefaultPaginator",
                        "pagination_strategy": {"type": "CursorPagination", "stop_condition": "{{ 1 }}"},
                    },
                    requester={
                        "authenticator": {
                            "type": "OAuthAuthenticator",
                            "refresh_token_updater": {},
                        }
                    },
                ),
                "incremental_sync": {"type": "DatetimeBasedCursor", "step": "P1D", "is_data_feed": "true"},
            }
        ],
    }
    found = census.features(resolve.load(manifest))
    expected = {
        "SubstreamPartitionRouter.nested",
        "SubstreamPartitionRouter.incremental_dependency",
        "SubstreamPartitionRouter.per_partition_state",
        "partition_router.cartesian",
        "CursorPagination.stop_condition",
        "OAuthAuthenticator.refresh_token_grant",
        "OAuthAuthenticator.rotating_refresh_token",
        "DatetimeBasedCursor.step",
        "DatetimeBasedCursor.is_data_feed",
        "ParentStreamConfig",
        "ListPartitionRouter",
        "NoPagination",  # the parent has no paginator: the CDK's default
    }
    assert expected <= found
    assert "DatetimeBasedCursor.lookback_window" not in found


def test_census_macros_are_read_inside_templates_only():
    text = "a: '{{ now_utc() }}'\nb: '{{ x | base64encode }}'\nc: 'now_utc() is not a template here'\nd: '{{ format_datetime(today_utc(), \"%Y\") }}'"
    assert census.macros(text) == {"now_utc", "|base64encode", "format_datetime", "today_utc"}


def test_config_from_a_spec_dates_in_the_pattern_secrets_choices_and_small_pages():
    spec = {
        "connection_specification": {
            "type": "object",
            "required": ["api_key", "region", "page_size", "credentials", "start_date"],
            "properties": {
                "api_key": {"type": "string", "airbyte_secret": True},
                "region": {"type": "string", "enum": ["eu", "us"]},
                "page_size": {"type": "integer", "default": 100},
                "start_date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                "updated_since": {"type": "string", "format": "date-time"},
                "optional_note": {"type": "string"},
                "read_by_manifest": {"type": "string", "default": "d"},
                "credentials": {
                    "type": "object",
                    "oneOf": [
                        {
                            "type": "object",
                            "properties": {"auth_type": {"const": "oauth"}, "token": {"type": "string", "airbyte_secret": True}},
                            "required": ["auth_type", "token"],
                        },
                        {"type": "object", "properties": {"auth_type": {"const": "key"}}},
                    ],
                },
            },
        }
    }
    config = connector_config.generate(spec, START, {"region": "us"}, referenced=frozenset({"read_by_manifest"}))
    assert config == {
        "api_key": "fake-secret-api_key",
        "region": "us",
        "page_size": 5,
        "start_date": "2026-01-13",
        "updated_since": "2026-01-13T00:00:00Z",
        "read_by_manifest": "d",
        "credentials": {"auth_type": "oauth", "token": "fake-secret-credentials.token"},
    }


def test_referenced_config_keys_come_from_templates_and_selection_paths():
    manifest = {
        "a": "{{ config['one'] }} {{ config.two }} {{ config.get('three', 1) }}",
        "auth": {"authenticator_selection_path": ["credentials", "type"]},
    }
    assert connector_config.referenced_keys(manifest) == {"one", "two", "three", "credentials"}
