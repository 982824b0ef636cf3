"""The translator's part B families on small manifests: date windows (DatetimeBasedCursor), list partitions
(ListPartitionRouter), incremental_dependency, the renewing and selective authenticators, HTTPAPIBudget and
the decoders: what each becomes in the source model the engine runs (no I/O), and the refusals."""

from __future__ import annotations

import typing as t

import pytest

from tap_restgeneric.airbyte import unsupported_components
from tap_restgeneric.airbyte.loading import manifest_source
from tap_restgeneric.errors import SourceConfigError
from tap_restgeneric.settings import Settings
from tests.airbyte.test_translation import NOW, endpoint, manifest, stream, translated

CURSOR = {
    "type": "DatetimeBasedCursor",
    "cursor_field": "updated_at",
    "datetime_format": "%Y-%m-%dT%H:%M:%SZ",
    "cursor_datetime_formats": ["%Y-%m-%dT%H:%M:%S.%fZ"],
    "step": "P1D",
    "cursor_granularity": "PT1S",
    "lookback_window": "PT6H",
    "start_datetime": {"type": "MinMaxDatetime", "datetime": "{{ config['start'] }}", "datetime_format": "%Y-%m-%d"},
    "start_time_option": {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "since"},
    "end_time_option": {"type": "RequestOption", "inject_into": "header", "field_name": "X-Until"},
}
CONFIG = {"api_key": "k", "start": "2026-01-13", "regions": ["eu", "us"]}


def windowed(**cursor: t.Any) -> dict[str, t.Any]:
    document = manifest(stream())
    document["streams"][0]["incremental_sync"] = {**CURSOR, **cursor}
    return document


# ---------------------------------------------------------------- date windows


def test_a_datetime_based_cursor_is_the_engines_date_windows_with_its_start_read_in_its_own_format():
    assert endpoint(windowed(), CONFIG)["incremental"] == {
        "cursor_path": "updated_at",
        "datetime_format": "%Y-%m-%dT%H:%M:%SZ",
        "cursor_datetime_formats": ["%Y-%m-%dT%H:%M:%S.%fZ"],
        "step": "P1D",
        "cursor_granularity": "PT1S",
        "lookback_window": "PT6H",
        "initial_value": "2026-01-13T00:00:00Z",  # read as %Y-%m-%d, written in the cursor's format
        "start_time_option": {"inject_into": "request_parameter", "field_name": "since"},
        "end_time_option": {"inject_into": "header", "field_name": "X-Until"},
    }


def test_min_and_max_datetime_bound_the_start_and_a_data_feed_also_drops_what_is_older_than_the_range():
    start = {**CURSOR["start_datetime"], "min_datetime": "2026-01-14", "max_datetime": "{{ config['start'] }}"}
    incremental = endpoint(windowed(start_datetime=start, is_data_feed=True), CONFIG)["incremental"]
    assert incremental["min_datetime"] == "2026-01-14T00:00:00Z"
    assert incremental["max_datetime"] == "2026-01-13T00:00:00Z"
    # the CDK's cursor drops a feed's records outside the sync's range as well as stopping the feed
    assert incremental["is_data_feed"] is incremental["is_client_side_incremental"] is True


def test_an_end_of_now_is_the_syncs_now_and_an_end_before_it_keeps_bookmarks():
    now_end = {"type": "MinMaxDatetime", "datetime": "{{ now_utc().strftime('%Y-%m-%dT%H:%M:%SZ') }}"}
    settings = Settings(manifest_config=CONFIG, now=NOW)
    source = manifest_source(settings, "m", windowed(end_datetime=now_end))
    windows = source.resources[0]["windows"]
    assert windows is not None
    assert (windows.end, windows.backfill) == (None, False)
    midnight = {"type": "MinMaxDatetime", "datetime": "{{ today_utc() }}", "datetime_format": "%Y-%m-%d"}
    windows = manifest_source(settings, "m", windowed(end_datetime=midnight)).resources[0]["windows"]
    assert windows is not None
    assert (windows.end, windows.backfill) == ("2026-01-15T00:00:00Z", False)  # not dlt's end_value: bookmarks kept


def test_request_values_read_the_windows_bounds_as_sent():
    document = windowed(start_time_option=None, end_time_option=None)
    document["streams"][0]["retriever"]["requester"]["request_parameters"] = {
        "from": "{{ stream_interval.start_time }}",
        "to": "{{ stream_slice['end_time'] }}",
    }
    params = endpoint(document, CONFIG)["params"]
    context = {"config": CONFIG, "incremental": {"start_value": "2026-01-13T00:00:00Z", "end_value": "2026-01-13T23:59:59Z"}}
    assert {name: value(context) for name, value in params.items()} == {
        "from": "2026-01-13T00:00:00Z",
        "to": "2026-01-13T23:59:59Z",
    }


def test_a_step_without_granularity_is_refused_with_its_place():
    with pytest.raises(SourceConfigError) as caught:
        translated(windowed(cursor_granularity=None), CONFIG)
    assert caught.value.problems == [
        "manifest: streams[0].incremental_sync.cursor_granularity: step and cursor_granularity go together"
    ]


def test_a_start_the_config_does_not_give_is_a_config_error_not_a_refusal():
    with pytest.raises(SourceConfigError) as caught:
        translated(windowed(), {"api_key": "k", "start": ""})
    assert caught.value.problems == [
        "manifest: streams[0].incremental_sync.start_datetime: renders empty (is the connector config's start set?)"
    ]
    assert unsupported_components(windowed()) == []


# ---------------------------------------------------------------- list partitions


def test_list_partition_routers_are_the_engines_partitions_their_product_in_order():
    document = manifest(stream(path="/reports/{{ stream_partition.kind }}"))
    document["streams"][0]["retriever"]["partition_router"] = [
        {"type": "ListPartitionRouter", "cursor_field": "kind", "values": ["daily", "weekly"]},
        {
            "type": "ListPartitionRouter",
            "cursor_field": "region",
            "values": "{{ config['regions'] }}",
            "request_option": {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "r"},
        },
    ]
    document["streams"][0]["transformations"] = [
        {"type": "AddFields", "fields": [{"path": ["region"], "value": "{{ stream_partition.region }}"}]}
    ]
    resource = translated(document, CONFIG)["resources"][0]
    assert resource["partitions"] == [
        {"name": "kind", "values": ["daily", "weekly"]},
        {"name": "region", "values": ["eu", "us"], "inject_into": "request_parameter", "field_name": "r"},
    ]
    path = resource["endpoint"]["path"]
    assert (
        path({"config": CONFIG, "partition": {"kind": "weekly", "region": "eu"}}) == "https://api.example.com/v1/reports/weekly"
    )
    (added,) = resource["processing_steps"]
    assert added["map"]["region"]({"record": {}, "config": CONFIG, "partition": {"kind": "daily", "region": "us"}}) == "us"


# ---------------------------------------------------------------- incremental_dependency


def _child_of_incremental_parent(dependency: bool) -> dict[str, t.Any]:
    parent = stream("parents", "/parents")
    parent["incremental_sync"] = CURSOR
    child = stream("children", "/parents/{{ stream_partition.pid }}/children")
    link = {"type": "ParentStreamConfig", "stream": parent, "parent_key": "id", "partition_field": "pid"}
    if dependency:
        link["incremental_dependency"] = True
    child["retriever"]["partition_router"] = {"type": "SubstreamPartitionRouter", "parent_stream_configs": [link]}
    return manifest(parent, child)


def test_a_child_reads_its_incremental_parent_whole_unless_it_says_incremental_dependency():
    resources = translated(_child_of_incremental_parent(dependency=False), CONFIG)["resources"]
    assert [(r["name"], r.get("selected", True), "incremental" in r["endpoint"]) for r in resources] == [
        ("parents", True, True),
        ("children", True, False),
        ("parents__whole", False, False),  # the CDK reads the parent from its start for the children
    ]
    resources = translated(_child_of_incremental_parent(dependency=True), CONFIG)["resources"]
    assert [r["name"] for r in resources] == ["parents", "children"]  # the parent's own state decides


# ---------------------------------------------------------------- renewing and selective auth


def _auth(authenticator: dict[str, t.Any], config: dict[str, t.Any] | None = None) -> t.Any:
    return translated(manifest(stream(requester={"authenticator": authenticator})), config)["client"].get("auth")


def test_oauth_with_the_refresh_token_grant_and_rotating_tokens_is_oauth2_refresh_token():
    found = _auth(
        {
            "type": "OAuthAuthenticator",
            "token_refresh_endpoint": "https://auth.example.com/token",
            "client_id": "id",
            "client_secret": "{{ config['api_key'] }}",
            "refresh_token": "{{ config['refresh'] }}",
            "scopes": ["read"],
            "refresh_request_body": {"audience": "api"},
            "token_expiry_date_format": "YYYY-MM-DDTHH:mm:ss[Z]",
            "refresh_token_updater": {"refresh_token_config_path": ["credentials", "refresh_token"]},
        },
        {"api_key": "k", "refresh": "r1"},
    )
    assert found == {
        "type": "oauth2_refresh_token",
        "access_token_url": "https://auth.example.com/token",
        "client_id": "id",
        "client_secret": "k",
        "refresh_token": "r1",
        "client_auth_method": "client_secret_post",
        "access_token_request_data": {"audience": "api"},
        "scopes": ["read"],
        "refresh_token_updater": {"refresh_token_name": "refresh_token"},  # rotated tokens go to the token store
    }


@pytest.mark.parametrize(
    ("sending", "expected"),
    [
        ({"type": "Bearer"}, {"inject_into": "bearer"}),
        (
            {"type": "ApiKey", "inject_into": {"type": "RequestOption", "inject_into": "header", "field_name": "X-Session"}},
            {"inject_into": "header", "field_name": "X-Session"},
        ),
    ],
)
def test_a_session_token_authenticator_logs_in_with_its_login_requester(sending, expected):
    found = _auth(
        {
            "type": "SessionTokenAuthenticator",
            "login_requester": {
                "type": "HttpRequester",
                "url_base": "https://api.example.com",
                "path": "/auth/login",
                "http_method": "POST",
                "request_body_json": {"username": "me", "password": "{{ config['api_key'] }}"},
            },
            "session_token_path": ["data", "token"],
            "expiration_duration": "PT1H",
            "request_authentication": sending,
        }
    )
    assert found == {
        "type": "session_login",
        "login_url": "https://api.example.com/auth/login",
        "method": "POST",
        "login_body_json": {"username": "me", "password": "k"},
        "session_token_path": ["data", "token"],
        "expiration_duration": "PT1H",
        **expected,
    }


def test_a_jwt_authenticator_keeps_its_fields():
    found = _auth(
        {
            "type": "JwtAuthenticator",
            "secret_key": "{{ config['api_key'] }}",
            "algorithm": "HS256",
            "token_duration": 600,
            "header_prefix": "Bearer",
            "jwt_headers": {"type": "JwtHeaders", "kid": "key-1"},
            "jwt_payload": {"type": "JwtPayload", "iss": "me"},
        }
    )
    assert found == {
        "type": "jwt",
        "secret_key": "k",
        "algorithm": "HS256",
        "token_duration": 600,
        "header_prefix": "Bearer",
        "jwt_headers": {"kid": "key-1"},
        "jwt_payload": {"iss": "me"},
    }


SELECTIVE = {
    "type": "SelectiveAuthenticator",
    "authenticator_selection_path": ["auth", "method"],
    "authenticators": {
        "token": {"type": "BearerAuthenticator", "api_token": "{{ config['auth']['token'] }}"},
        "basic": {"type": "BasicHttpAuthenticator", "username": "{{ config['api_key'] }}"},
    },
}


def test_a_selective_authenticator_is_the_branch_the_config_selects_and_a_bad_choice_is_one_line():
    assert _auth(SELECTIVE, {"api_key": "k", "auth": {"method": "token", "token": "t"}}) == {"type": "bearer", "token": "t"}
    with pytest.raises(SourceConfigError) as caught:
        _auth(SELECTIVE, {"api_key": "k", "auth": {"method": "oauth"}})
    assert caught.value.problems == [
        (
            "manifest_config.auth.method: 'oauth' names no authenticator of streams[0].retriever.requester.authenticator "
            "(valid: basic, token)"
        )
    ]


# ---------------------------------------------------------------- call budgets and decoders


def test_an_http_api_budget_is_the_clients_api_budget():
    budget = {
        "type": "HTTPAPIBudget",
        "ratelimit_remaining_header": "X-Left",
        "status_codes_for_ratelimit_hit": [429],
        "policies": [
            {
                "type": "FixedWindowCallRatePolicy",
                "period": "PT1M",
                "call_limit": 60,
                "matchers": [{"type": "HttpRequestRegexMatcher", "method": "GET", "url_path_pattern": "^/v1/search"}],
            },
            {
                "type": "MovingWindowCallRatePolicy",
                "rates": [{"type": "Rate", "limit": "{{ 5 }}", "interval": "PT1S"}],
                "matchers": [],
            },
            {"type": "UnlimitedCallRatePolicy", "matchers": [{"type": "HttpRequestRegexMatcher", "url_path_pattern": "^/v1/me"}]},
        ],
    }
    assert translated(manifest(stream(), api_budget=budget))["client"]["api_budget"] == {
        "policies": [
            {
                "type": "fixed_window",
                "call_limit": 60,
                "period": "PT1M",
                "matchers": [{"method": "GET", "url_path_pattern": "^/v1/search"}],
            },
            {"type": "moving_window", "rates": [{"limit": 5, "interval": "PT1S"}]},
            {"type": "unlimited", "matchers": [{"url_path_pattern": "^/v1/me"}]},
        ],
        "ratelimit_remaining_header": "X-Left",
        "status_codes_for_ratelimit_hit": [429],
    }


@pytest.mark.parametrize(
    ("decoder", "expected"),
    [
        ({"type": "JsonDecoder"}, None),
        ({"type": "JsonlDecoder"}, {"type": "jsonl"}),
        (
            {"type": "CsvDecoder", "delimiter": "\\t", "encoding": "latin-1"},
            {"type": "csv", "delimiter": "\t", "encoding": "latin-1"},
        ),
        ({"type": "XmlDecoder"}, {"type": "xml"}),
        ({"type": "GzipDecoder", "decoder": {"type": "CsvDecoder"}}, {"type": "csv", "compression": "gzip"}),
        ({"type": "ZipfileDecoder", "decoder": {"type": "JsonlDecoder"}}, {"type": "jsonl", "compression": "zip"}),
        (
            {"type": "CompositeRawDecoder", "parser": {"type": "GzipParser", "inner_parser": {"type": "JsonLineParser"}}},
            {"type": "jsonl", "compression": "gzip"},
        ),
    ],
)
def test_decoders_are_the_endpoints_decoder(decoder, expected):
    found = endpoint(manifest(stream(decoder=decoder)))
    assert found.get("decoder") == expected


def test_a_decoder_the_engine_does_not_read_is_refused():
    assert unsupported_components(manifest(stream(decoder={"type": "IterableDecoder"}))) == [
        "IterableDecoder",
        "decoder IterableDecoder",
    ]


def test_the_acceptance_check_translates_with_a_config_made_up_from_the_spec_and_goes_on_past_a_config_value():
    first = stream(requester={"url_base": "https://{{ config['account']['host'] }}.example.com"})  # not in the spec
    windowed_stream = windowed()["streams"][0]
    windowed_stream["name"] = "w"
    child = stream("c", "/c/{{ stream_partition.pid }}")
    link = {"type": "ParentStreamConfig", "stream": stream("p", "/p"), "parent_key": "id", "partition_field": "pid"}
    child["retriever"]["partition_router"] = {
        "type": "SubstreamPartitionRouter",
        "parent_stream_configs": [{**link, "extra_fields": [["x"]]}],
    }
    document = manifest(first, windowed_stream, child)
    document["spec"] = {
        "type": "Spec",
        "connection_specification": {
            "type": "object",
            "properties": {
                "start": {"type": "string", "examples": ["2024-03-01"]},
                "regions": {"type": "array", "items": {"type": "string"}},
            },
        },
    }
    # the first stream cannot be translated without a real config (not a refusal); the window reads the example
    # start; the child's extra_fields is found past them
    assert unsupported_components(document) == ["extra_fields is not supported yet"]
    del document["streams"][2]
    assert unsupported_components(document) == []


def test_a_schema_the_catalog_cannot_read_keeps_its_readable_parts():
    document = manifest(stream())
    document["streams"][0]["schema_loader"] = {
        "type": "InlineSchemaLoader",
        "schema": {"type": "object", "properties": {"tags": {"type": "array", "items": [{"type": "string"}]}, "x": None}},
    }
    assert translated(document)["resources"][0]["schema"] == {
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {}}, "x": {}},
    }


def test_a_record_filter_reads_the_windows_start_with_get_as_the_cdks_mapping_allows():
    document = windowed()
    document["streams"][0]["retriever"]["record_selector"]["record_filter"] = {
        "type": "RecordFilter",
        "condition": "{{ record['updated_at'] > stream_interval.get('start_time', '') }}",
    }
    (step,) = translated(document, CONFIG)["resources"][0]["processing_steps"]
    bounds = {"start_value": "2026-01-13T00:00:00Z", "end_value": "2026-01-13T23:59:59Z"}
    assert step["filter"]({"record": {"updated_at": "2026-01-13T08:00:00Z"}, "config": CONFIG, "incremental": bounds}) is True
    assert step["filter"]({"record": {"updated_at": "2026-01-12T08:00:00Z"}, "config": CONFIG, "incremental": bounds}) is False
