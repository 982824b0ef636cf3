"""The translator, one component family at a time, on small manifests: what each becomes in the
source model the engine runs (no I/O), the refusals, manifest_config's checks and its secrets."""

from __future__ import annotations

import datetime
import typing as t

import pytest

from tap_restgeneric.airbyte import unsupported_components
from tap_restgeneric.airbyte.context import Translation
from tap_restgeneric.airbyte.loading import manifest_source
from tap_restgeneric.airbyte.manifest import read_manifest
from tap_restgeneric.airbyte.translate import translate
from tap_restgeneric.errors import SourceConfigError
from tap_restgeneric.settings import Settings

NOW = datetime.datetime(2026, 1, 15, 12, 34, 56, tzinfo=datetime.timezone.utc)
SPEC = {
    "type": "Spec",
    "connection_specification": {
        "type": "object",
        "required": ["api_key"],
        "properties": {"api_key": {"type": "string", "airbyte_secret": True}, "region": {"type": "string", "enum": ["eu", "us"]}},
    },
}


def manifest(*streams: dict[str, t.Any], **extra: t.Any) -> dict[str, t.Any]:
    return {"version": "7.0.0", "type": "DeclarativeSource", "streams": list(streams), "spec": SPEC, **extra}


def stream(name: str = "items", path: str = "/items", **retriever: t.Any) -> dict[str, t.Any]:
    requester = {
        "type": "HttpRequester",
        "url_base": "https://api.example.com/v1",
        "path": path,
        **retriever.pop("requester", {}),
    }
    return {
        "type": "DeclarativeStream",
        "name": name,
        "primary_key": "id",
        "retriever": {
            "type": "SimpleRetriever",
            "requester": requester,
            "record_selector": {"type": "RecordSelector", "extractor": {"type": "DpathExtractor", "field_path": ["data"]}},
            **retriever,
        },
        **retriever.pop("stream", {}),
    }


def translated(document: dict[str, t.Any], config: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    return translate(read_manifest(document), Translation(config or {"api_key": "k"}, NOW))


def endpoint(document: dict[str, t.Any], config: dict[str, t.Any] | None = None, index: int = 0) -> dict[str, t.Any]:
    return translated(document, config)["resources"][index]["endpoint"]


# ---------------------------------------------------------------- requester


def test_url_base_and_path_are_joined_and_config_and_parameters_rendered_as_the_cdk_renders_them():
    document = manifest(
        {
            **stream(
                path="/{{ parameters.kind }}/{{ config['region'] }}",
                requester={
                    "http_method": "POST",
                    "request_parameters": {
                        "per_page": "{{ 5 }}",
                        "empty": "{{ config.get('missing', '') }}",
                        "none": "{{ config.get('missing') }}",
                    },
                    "request_headers": {"X-Region": "{{ config['region'] }}"},
                    "request_body_json": {"filter": "{{ {'a': 1} }}", "dropped": "{{ config.get('missing') }}", "n": "{{ 2 }}"},
                },
            ),
            "$parameters": {"kind": "things"},
        }
    )
    found = endpoint(document, {"api_key": "k", "region": "eu"})
    assert found["path"] == "https://api.example.com/v1/things/eu"
    assert found["method"] == "POST"
    assert found["params"] == {"per_page": "5", "none": "None"}  # text, as sent (None renders "None"); an empty value is not sent
    assert found["headers"] == {"X-Region": "eu"}
    assert found["json"] == {"filter": {"a": 1}, "n": 2}  # literals read, None dropped (the CDK's nested mapping)


# ---------------------------------------------------------------- selectors and filter


def test_the_extractor_path_is_read_with_dpath_rules_and_a_record_filter_is_a_filter_step():
    document = manifest(stream())
    document["streams"][0]["retriever"]["record_selector"]["record_filter"] = {
        "type": "RecordFilter",
        "condition": "{{ record['id'] > 1 }}",
    }
    resource = translated(document)["resources"][0]
    assert resource["endpoint"]["data_selector"] == ["data"]
    assert resource["endpoint"]["record_selection"] == "dpath"
    [(kind, condition)] = [next(iter(step.items())) for step in resource["processing_steps"]]
    assert kind == "filter"
    assert condition({"record": {"id": 2}, "config": {}}) is True
    assert condition({"record": {"id": 1}, "config": {}}) is False


# ---------------------------------------------------------------- paginators


def _paginated(strategy: dict[str, t.Any], **options: t.Any) -> dict[str, t.Any]:
    paginator = {
        "type": "DefaultPaginator",
        "page_token_option": {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "page"},
        "pagination_strategy": strategy,
        **options,
    }
    return endpoint(manifest(stream(paginator=paginator)))


def test_page_increment_sends_no_page_on_the_first_request_unless_told_and_stops_on_a_short_page():
    size_option = {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "per_page"}
    found = _paginated({"type": "PageIncrement", "page_size": 3}, page_size_option=size_option)
    assert found["paginator"] == {
        "type": "page_number",
        "page_param": "page",
        "base_page": 0,
        "limit": 3,
        "limit_param": "per_page",
        "total_path": None,
        "stop_after_empty_page": True,
        "inject_on_first_request": False,
    }
    injected = _paginated({"type": "PageIncrement", "start_from_page": 1, "inject_on_first_request": True})
    assert (injected["paginator"]["base_page"], injected["paginator"]["inject_on_first_request"]) == (1, True)


def test_offset_increment_without_a_page_size_option_sends_no_limit():
    found = _paginated({"type": "OffsetIncrement", "page_size": 10})
    assert found["paginator"]["type"] == "offset"
    assert found["paginator"]["limit"] == 10
    assert found["paginator"]["limit_param"] is None
    assert found["paginator"]["offset_param"] == "page"


def test_cursor_pagination_checks_stop_condition_and_reads_the_parsed_link_header():
    found = _paginated(
        {
            "type": "CursorPagination",
            "cursor_value": "{{ headers['link']['next']['url'] }}",
            "stop_condition": "{{ not response.more }}",
        },
        page_size_option={"type": "RequestOption", "inject_into": "request_parameter", "field_name": "limit"},
    )
    paginator = found["paginator"]
    assert paginator["parsed_link_header"] is True
    assert paginator["stop_after_empty_page"] is False  # the CDK stops on an empty token, not an empty page
    context = {"config": {}, "response": {"more": True}, "headers": {"link": {"next": {"url": "/v1/items?p=2"}}}}
    assert paginator["cursor_value"](context) == "/v1/items?p=2"
    assert paginator["stop_condition"](context) is False
    assert paginator["stop_condition"]({**context, "response": {}}) is True  # an undefined value is false, as in the CDK
    assert "page_size" not in paginator


def test_no_pagination_is_one_page():
    assert endpoint(manifest(stream(paginator={"type": "NoPagination"})))["paginator"] == {"type": "single_page"}


# ---------------------------------------------------------------- error handlers


def test_response_filters_become_ignore_actions_and_retried_statuses():
    handler = {
        "type": "CompositeErrorHandler",
        "error_handlers": [
            {
                "type": "DefaultErrorHandler",
                "max_retries": 2,
                "backoff_strategies": [{"type": "ConstantBackoffStrategy", "backoff_time_in_seconds": 3}],
                "response_filters": [
                    {"type": "HttpResponseFilter", "action": "IGNORE", "http_codes": [404], "error_message_contains": "gone"},
                    {"type": "HttpResponseFilter", "action": "RETRY", "http_codes": [409]},
                    {"type": "HttpResponseFilter", "action": "FAIL", "http_codes": [500]},
                ],
            }
        ],
    }
    found = endpoint(manifest(stream(requester={"error_handler": handler})))
    assert found["response_actions"] == [{"action": "ignore", "status_code": [404], "content": "gone"}]
    assert found["error_handler"] == {"max_retries": 2, "backoff_factor": 3.0, "retry_on_status_codes": [429, 502, 503, 504, 409]}


# ---------------------------------------------------------------- transformations


def test_add_fields_and_remove_fields_are_steps_in_the_manifests_order():
    document = manifest(stream())
    document["streams"][0]["transformations"] = [
        {
            "type": "AddFields",
            "fields": [{"path": ["one"], "value": "1"}, {"path": ["meta", "at"], "value": "{{ record['id'] }}"}],
        },
        {"type": "RemoveFields", "field_pointers": [["secret"], ["meta", "drop"]]},
    ]
    steps = translated(document)["resources"][0]["processing_steps"]
    assert steps[0] == {"map": {"one": 1}}  # a plain value read as a literal, as the CDK does
    assert steps[2] == {"exclude": ["secret"]}
    context = {"record": {"id": 7, "meta": {"drop": 1, "keep": 2}}, "config": {}}
    assert steps[1]["map"]["meta"](context) == {"drop": 1, "keep": 2, "at": 7}
    assert steps[3]["map"]["meta"](context) == {"keep": 2}


# ---------------------------------------------------------------- schema loader and substreams


def test_a_substream_reads_its_parents_key_and_a_parent_outside_streams_is_not_selected():
    parent = stream("projects", "/projects")
    child = stream(
        "tasks",
        "/projects/{{ stream_partition.project_id }}/tasks",
        partition_router={
            "type": "SubstreamPartitionRouter",
            "parent_stream_configs": [
                {"type": "ParentStreamConfig", "parent_key": "id", "partition_field": "project_id", "stream": parent}
            ],
        },
    )
    child["schema_loader"] = {
        "type": "InlineSchemaLoader",
        "schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
    }
    resources = translated(manifest(child))["resources"]
    assert [(r["name"], r.get("selected", True)) for r in resources] == [("tasks", True), ("projects", False)]
    path = resources[0]["endpoint"]["path"]
    assert path.resource_paths == [("projects", "id")]
    assert path({"config": {}, "resources": {"projects": {"id": 12}}}) == "https://api.example.com/v1/projects/12/tasks"
    assert resources[0]["schema"] == {"type": "object", "properties": {"id": {"type": "integer"}}}
    assert resources[0]["records_as_received"] is True


# ---------------------------------------------------------------- auth


@pytest.mark.parametrize(
    ("authenticator", "expected"),
    [
        ({"type": "BearerAuthenticator", "api_token": "{{ config['api_key'] }}"}, {"type": "bearer", "token": "k"}),
        (
            {"type": "BasicHttpAuthenticator", "username": "{{ config['api_key'] }}"},
            {"type": "http_basic", "username": "k", "password": ""},
        ),
        (
            {
                "type": "ApiKeyAuthenticator",
                "api_token": "Token {{ config['api_key'] }}",
                "inject_into": {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "key"},
            },
            {"type": "api_key", "name": "key", "location": "query", "api_key": "Token k"},
        ),
        (
            {
                "type": "OAuthAuthenticator",
                "grant_type": "client_credentials",
                "token_refresh_endpoint": "https://auth.example.com/token",
                "client_id": "id",
                "client_secret": "{{ config['api_key'] }}",
            },
            {
                "type": "oauth2_client_credentials",
                "access_token_url": "https://auth.example.com/token",
                "client_id": "id",
                "client_secret": "k",
                "client_auth_method": "client_secret_post",
            },
        ),
        ({"type": "NoAuth"}, None),
    ],
)
def test_authenticators_become_the_engines_auth_blocks(authenticator, expected):
    found = translated(manifest(stream(requester={"authenticator": authenticator})))
    assert found["client"].get("auth") == expected


# ---------------------------------------------------------------- refusals, manifest_config, secrets


def test_what_the_tap_cannot_run_is_refused_in_one_line_naming_each_component_and_its_place():
    document = manifest(stream(), stream("b", "/b"))
    document["streams"][0]["retriever"]["type"] = "AsyncRetriever"
    document["streams"][1]["retriever"]["record_selector"]["extractor"] = {"type": "CustomRecordExtractor", "class_name": "x.Y"}
    with pytest.raises(SourceConfigError) as caught:
        manifest_source(Settings(manifest_config={"api_key": "k"}), "m", document)
    assert caught.value.problems == [
        (
            "manifest: the tap cannot run AsyncRetriever at streams[0].retriever; "
            "CustomRecordExtractor (x.Y) at streams[1].retriever.record_selector.extractor"
        )
    ]
    assert unsupported_components(document) == ["AsyncRetriever", "CustomRecordExtractor"]


def test_manifest_config_is_checked_against_the_spec_without_showing_values():
    with pytest.raises(SourceConfigError) as caught:
        manifest_source(Settings(manifest_config={"region": "mars"}), "m", manifest(stream()))
    assert caught.value.problems == [
        "manifest_config: 'api_key' is required",
        "manifest_config.region: does not match the spec (enum: ['eu', 'us'])",
    ]


def test_airbyte_secret_fields_are_the_sources_secrets_and_config_is_the_connector_config():
    document = manifest(
        stream(requester={"authenticator": {"type": "BearerAuthenticator", "api_token": "{{ config['api_key'] }}"}})
    )
    source = manifest_source(Settings(manifest_config={"api_key": "s3cret-value", "region": "eu"}), "m", document)
    assert "s3cret-value" in source.secret_values
    assert source.template_config == {"api_key": "s3cret-value", "region": "eu"}
    assert source.base_url == "https://api.example.com"
    assert [r["name"] for r in source.resources] == ["items"]


def test_a_child_record_reading_its_partition_gets_the_parent_field_copied_in_and_removed_after():
    parent = stream("projects", "/projects")
    child = stream(
        "tasks",
        "/tasks",
        partition_router={
            "type": "SubstreamPartitionRouter",
            "parent_stream_configs": [
                {
                    "type": "ParentStreamConfig",
                    "parent_key": "owner/id",
                    "partition_field": "owner_id",
                    "stream": parent,
                    "request_option": {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "owner"},
                }
            ],
        },
    )
    child["transformations"] = [
        {"type": "AddFields", "fields": [{"path": ["owner_id"], "value": "{{ stream_partition.owner_id }}"}]}
    ]
    resource = translated(manifest(parent, child))["resources"][1]
    assert resource["include_from_parent"] == ["owner"]
    assert resource["endpoint"]["params"] == {"owner": "{{ resources['projects']['owner']['id'] }}"}
    [added, removed] = resource["processing_steps"]
    assert added["map"]["owner_id"]({"record": {"id": 1, "_projects_owner": {"id": 5}}, "config": {}}) == 5
    assert removed == {"exclude": ["_projects_owner"]}


def test_a_template_that_fails_is_one_line_naming_its_place_where_the_cdk_sends_the_templates_text():
    document = manifest(stream(requester={"request_parameters": {"limit": "{{ config['limit'] + 'x' }}"}}))
    with pytest.raises(SourceConfigError) as caught:
        translated(document, {"api_key": "k", "limit": 5})
    [line] = caught.value.problems
    assert line.startswith("streams[0].retriever.requester.request_parameters.limit: template error: TypeError")
