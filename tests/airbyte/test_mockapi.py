"""The mock API generated from a manifest: it answers the way the manifest asks (pages, tokens, windows,
partitions, logins), deterministically, on 127.0.0.1. Each test builds a small manifest, serves it,
and talks HTTP to it as the CDK would."""

from __future__ import annotations

import datetime

import pytest
import requests

from tests.airbyte import mockapi, oracle, resolve, timefmt

UTC = datetime.timezone.utc
NOW = oracle.FROZEN_NOW
START = oracle.DEFAULT_START


def _manifest(*streams: dict, **extra: object) -> dict:
    return {"version": "7.0.0", "type": "DeclarativeSource", "streams": list(streams), **extra}


def _stream(name: str, path: str, *, field_path: list | None = None, paginator: dict | None = None, **more: object) -> dict:
    retriever: dict = {
        "type": "SimpleRetriever",
        "requester": {"type": "HttpRequester", "url_base": "https://api.example.com/v1", "path": path},
        "record_selector": {
            "type": "RecordSelector",
            "extractor": {"type": "DpathExtractor", "field_path": ["data"] if field_path is None else field_path},
        },
    }
    if paginator:
        retriever["paginator"] = paginator
    retriever.update(more.pop("retriever_extra", {}))
    schema = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
    return {
        "type": "DeclarativeStream",
        "name": name,
        "primary_key": "id",
        "retriever": retriever,
        "schema_loader": {"type": "InlineSchemaLoader", "schema": schema},
        **more,
    }


@pytest.fixture
def serve():
    servers = []

    def start(manifest: dict, config: dict | None = None, **options: object) -> tuple[mockapi.MockApi, str]:
        server = mockapi.MockServer().start()
        servers.append(server)
        loaded = resolve.load(mockapi.rewrite_urls(manifest, server.base_url))
        api = mockapi.MockApi(loaded, config or {}, base_url=server.base_url, now=NOW, start=START, **options)
        server.api = api
        return api, server.base_url + "/api.example.com/v1"

    yield start
    for server in servers:
        server.stop()


def _page_increment(start_from_page: int | None = None, inject: bool = False) -> dict:
    strategy: dict = {"type": "PageIncrement", "page_size": 3, "inject_on_first_request": inject}
    if start_from_page is not None:
        strategy["start_from_page"] = start_from_page
    return {
        "type": "DefaultPaginator",
        "page_token_option": {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "page"},
        "page_size_option": {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "per_page"},
        "pagination_strategy": strategy,
    }


def test_rewrite_points_every_absolute_url_at_the_mock_and_leaves_the_spec_alone():
    manifest = {
        "definitions": {"base": "https://{{ config['shop'] }}.example.com/api", "token": "http://auth.example.com/token"},
        "streams": [{"url": "{{ 'https://a.example.com' if config.x else 'https://b.example.com' }}"}],
        "spec": {"documentation_url": "https://docs.example.com", "connection_specification": {"description": "see https://x"}},
    }
    rewritten = mockapi.rewrite_urls(manifest, "http://127.0.0.1:9")
    assert rewritten["definitions"] == {
        "base": "http://127.0.0.1:9/{{ config['shop'] }}.example.com/api",
        "token": "http://127.0.0.1:9/auth.example.com/token",
    }
    assert (
        rewritten["streams"][0]["url"]
        == "{{ 'http://127.0.0.1:9/a.example.com' if config.x else 'http://127.0.0.1:9/b.example.com' }}"
    )
    assert rewritten["spec"] == manifest["spec"]


def test_page_increment_pages_as_the_cdk_asks_and_ends_on_a_short_page(serve):
    api, base = serve(_manifest(_stream("items", "/items", paginator=_page_increment())))
    first = requests.get(f"{base}/items", params={"per_page": 3}, timeout=5).json()["data"]
    again = requests.get(f"{base}/items", params={"per_page": 3, "page": 0}, timeout=5).json()["data"]
    second = requests.get(f"{base}/items", params={"per_page": 3, "page": 1}, timeout=5).json()["data"]
    assert len(first) == 3
    assert again == first  # no page parameter is start_from_page (0 by default, as in the CDK)
    assert len(second) == 1  # page_size + 1 records: a full page, then a short one
    assert {r["id"] for r in first}.isdisjoint({r["id"] for r in second})
    assert [r.path for r in api.requests] == ["/api.example.com/v1/items"] * 3
    assert api.requests[2].query == [["per_page", "3"], ["page", "1"]]


def test_page_increment_counts_from_start_from_page(serve):
    _api, base = serve(_manifest(_stream("items", "/items", paginator=_page_increment(start_from_page=1, inject=True))))
    page1 = requests.get(f"{base}/items", params={"page": 1}, timeout=5).json()["data"]
    page2 = requests.get(f"{base}/items", params={"page": 2}, timeout=5).json()["data"]
    assert (len(page1), len(page2)) == (3, 1)


def test_offset_increment_slices_by_offset_and_limit(serve):
    paginator = {
        "type": "DefaultPaginator",
        "page_token_option": {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "offset"},
        "page_size_option": {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "limit"},
        "pagination_strategy": {"type": "OffsetIncrement", "page_size": 4},
    }
    _api, base = serve(_manifest(_stream("rows", "/rows", paginator=paginator)))
    whole = requests.get(f"{base}/rows", params={"limit": 10}, timeout=5).json()["data"]
    first = requests.get(f"{base}/rows", params={"limit": 4}, timeout=5).json()["data"]
    rest = requests.get(f"{base}/rows", params={"limit": 4, "offset": 4}, timeout=5).json()["data"]
    assert len(whole) == 10  # the page size sent is the one served (page_size + 1 records exist... for 10: 11)
    assert first + rest == whole[:5]
    assert len(rest) == 1


def _cursor_paginator(cursor_value: str, stop_condition: str, token_field: str | None) -> dict:
    """CursorPagination; the token sent as a request parameter, or followed as the path when None."""
    option = (
        {"type": "RequestOption", "inject_into": "request_parameter", "field_name": token_field}
        if token_field
        else {"type": "RequestPath"}
    )
    strategy = {"type": "CursorPagination", "cursor_value": cursor_value, "stop_condition": stop_condition}
    return {"type": "DefaultPaginator", "page_token_option": option, "pagination_strategy": strategy}


def test_cursor_pagination_puts_the_token_where_cursor_value_reads_it_and_stops_at_the_end(serve):
    paginator = _cursor_paginator("{{ response.meta.next }}", "{{ response.meta.done }}", "cursor")
    _api, base = serve(_manifest(_stream("events", "/events", paginator=paginator)))
    pages, params = [], {}
    for _ in range(5):
        body = requests.get(f"{base}/events", params=params, timeout=5).json()
        pages.append(body)
        if body["meta"].get("done") or not body["meta"].get("next"):
            break
        params = {"cursor": body["meta"]["next"]}
    assert [len(p["data"]) for p in pages] == [2, 2, 1]
    assert [bool(p["meta"].get("done")) for p in pages] == [False, False, True]  # set so that stop_condition holds last only
    assert pages[0]["meta"]["next"] == "page-token-1"
    assert "next" not in pages[-1]["meta"]


def test_cursor_pagination_from_a_link_header_followed_as_the_path(serve):
    paginator = _cursor_paginator("{{ headers['link']['next']['url'] }}", "{{ 'next' not in headers['link'] }}", None)
    _api, base = serve(_manifest(_stream("members", "/members", field_path=[], paginator=paginator)))
    first = requests.get(f"{base}/members", params={"per_page": 2}, timeout=5)
    assert isinstance(first.json(), list)
    assert first.links["next"]["url"] == f"{base}/members?per_page=2&page_token=page-token-1"
    second = requests.get(first.links["next"]["url"], timeout=5)
    third = requests.get(second.links["next"]["url"], timeout=5)
    assert "next" not in third.links
    assert [len(r.json()) for r in (first, second, third)] == [2, 2, 1]


def test_cursor_pagination_from_the_last_record(serve):
    paginator = _cursor_paginator("{{ last_record['id'] }}", "{{ not response.has_more }}", "after")
    _api, base = serve(_manifest(_stream("logs", "/logs", paginator=paginator)))
    first = requests.get(f"{base}/logs", timeout=5).json()
    assert first["has_more"] is True
    second = requests.get(f"{base}/logs", params={"after": first["data"][-1]["id"]}, timeout=5).json()
    assert second["data"][0]["id"] == first["data"][-1]["id"] + 1


def _windowed(**cursor: object) -> dict:
    stream = _stream("orders", "/orders")
    stream["schema_loader"]["schema"]["properties"]["updated_at"] = {"type": "string"}
    stream["incremental_sync"] = {
        "type": "DatetimeBasedCursor",
        "cursor_field": "updated_at",
        "datetime_format": "%Y-%m-%dT%H:%M:%SZ",
        "start_datetime": "{{ config['start_date'] }}",
        "start_time_option": {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "since"},
        "end_time_option": {"type": "RequestOption", "inject_into": "request_parameter", "field_name": "until"},
        **cursor,
    }
    return _manifest(stream)


def test_cursor_values_are_written_in_the_cursor_format_between_start_and_now(serve):
    _api, base = serve(_windowed(cursor_datetime_formats=["%s"]), {"start_date": "2026-01-13T00:00:00Z"})
    records = requests.get(f"{base}/orders", timeout=5).json()["data"]
    stamps = [r["updated_at"] for r in records]
    assert all(isinstance(s, int) for s in stamps)
    assert START.timestamp() < stamps[0] < stamps[-1] < NOW.timestamp()


def test_records_are_filtered_by_the_window_the_request_sends(serve):
    _api, base = serve(_windowed(), {"start_date": "2026-01-13T00:00:00Z"})
    everything = requests.get(f"{base}/orders", timeout=5).json()["data"]
    day = requests.get(
        f"{base}/orders", params={"since": "2026-01-14T00:00:00Z", "until": "2026-01-14T23:59:59Z"}, timeout=5
    ).json()["data"]
    assert len(everything) == 3
    assert day == [r for r in everything if r["updated_at"].startswith("2026-01-14")]
    assert 0 < len(day) < 3


def test_a_window_in_a_request_parameter_template_is_recognised(serve):
    manifest = _windowed()
    cursor = manifest["streams"][0]["incremental_sync"]
    del cursor["start_time_option"], cursor["end_time_option"]
    manifest["streams"][0]["retriever"]["requester"]["request_parameters"] = {"from": "{{ stream_interval.start_time }}"}
    _api, base = serve(manifest, {"start_date": "2026-01-13T00:00:00Z"})
    late = requests.get(f"{base}/orders", params={"from": "2026-01-15T00:00:00Z"}, timeout=5).json()["data"]
    assert [r["updated_at"] >= "2026-01-15" for r in late] == [True] * len(late)
    assert len(late) < 3


def test_children_differ_per_parent_and_a_parent_is_answered_the_same_every_time(serve):
    parent = _stream("projects", "/projects")
    child = _stream("tasks", "/projects/{{ stream_partition.project_id }}/tasks")
    child["retriever"]["partition_router"] = {
        "type": "SubstreamPartitionRouter",
        "parent_stream_configs": [
            {"type": "ParentStreamConfig", "stream": parent, "parent_key": "id", "partition_field": "project_id"}
        ],
    }
    _api, base = serve(_manifest(parent, child))
    projects = requests.get(f"{base}/projects", timeout=5).json()["data"]
    assert requests.get(f"{base}/projects", timeout=5).json()["data"] == projects
    tasks = [requests.get(f"{base}/projects/{p['id']}/tasks", timeout=5).json()["data"] for p in projects]
    ids = [t["id"] for page in tasks for t in page]
    assert len(ids) == len(set(ids)) == 9


def test_records_go_where_a_wildcard_field_path_looks(serve):
    _api, base = serve(_manifest(_stream("groups", "/groups", field_path=["groups", "*", "attributes"])))
    body = requests.get(f"{base}/groups", timeout=5).json()
    assert [sorted(item) for item in body["groups"]] == [["attributes"]] * 3
    assert all(set(item["attributes"]) == {"id", "name"} for item in body["groups"])


def test_a_single_object_stream_answers_one_object(serve):
    _api, base = serve(_manifest(_stream("account", "/account", field_path=[])), single_object_streams=["account"])
    assert isinstance(requests.get(f"{base}/account", timeout=5).json(), dict)


def test_token_and_login_endpoints_answer_with_fake_tokens(serve):
    oauth = {
        "type": "OAuthAuthenticator",
        "token_refresh_endpoint": "https://auth.example.com/oauth/token",
        "access_token_name": "token",
        "refresh_token_updater": {"refresh_token_name": "rt"},
    }
    session = {
        "type": "SessionTokenAuthenticator",
        "login_requester": {
            "type": "HttpRequester",
            "url_base": "https://api.example.com",
            "path": "/login",
            "http_method": "POST",
        },
        "session_token_path": ["data", "token"],
    }
    one = _stream("one", "/one")
    one["retriever"]["requester"]["authenticator"] = oauth
    two = _stream("two", "/two")
    two["retriever"]["requester"]["authenticator"] = session
    _api, base = serve(_manifest(one, two))
    root = base.rsplit("/api.example.com", 1)[0]
    assert requests.post(f"{root}/auth.example.com/oauth/token", timeout=5).json() == {
        "token": "mock-access-token",
        "expires_in": 3600,
        "token_type": "Bearer",
        "rt": "mock-rotated-refresh-token",
    }
    assert requests.post(f"{root}/api.example.com/login", timeout=5).json() == {"data": {"token": "mock-session-token"}}


def test_faults_answer_first_then_the_endpoint_and_every_request_is_logged(serve):
    fault = mockapi.Fault(path="/api.example.com/v1/flaky", status=500, body={"error": "later"}, times=1)
    api, base = serve(_manifest(_stream("flaky", "/flaky")), faults=[fault])
    assert requests.get(f"{base}/flaky", headers={"Authorization": "Bearer x"}, timeout=5).status_code == 500
    assert requests.post(f"{base}/flaky", data={"a": "1", "b": "2"}, timeout=5).status_code == 404  # GET only
    assert requests.get(f"{base}/flaky", timeout=5).status_code == 200
    assert requests.get(f"{base}/nowhere", timeout=5).status_code == 404
    logged = [r.as_dict() for r in api.requests]
    assert logged[0]["headers"] == {"authorization": "Bearer x"}
    assert logged[1]["body"] == [["a", "1"], ["b", "2"]]
    assert api.unmatched == ["POST /api.example.com/v1/flaky", "GET /api.example.com/v1/nowhere"]
    api.reset()
    assert (api.requests, fault.seen) == ([], 0)


def test_records_do_not_depend_on_the_port_or_the_order_of_requests(serve):
    manifest = _manifest(_stream("a", "/a"), _stream("b", "/b"))
    _api1, base1 = serve(manifest)
    _api2, base2 = serve(manifest)
    first = [requests.get(f"{base1}/{p}", timeout=5).json() for p in ("a", "b")]
    second = [requests.get(f"{base2}/{p}", timeout=5).json() for p in ("b", "a")]
    assert first == second[::-1]


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("%Y-%m-%dT%H:%M:%SZ", "2026-01-15T12:34:56Z"),
        ("%Y-%m-%dT%H:%M:%S.%f%z", "2026-01-15T12:34:56.000000+0000"),
        ("%s", "1768480496"),
        ("%ms", "1768480496000"),
        ("%Y-%m-%d", "2026-01-15"),
    ],
)
def test_datetime_formats_round_trip(fmt, text):
    instant = NOW if fmt != "%Y-%m-%d" else datetime.datetime(2026, 1, 15, tzinfo=UTC)
    assert timefmt.format_datetime(instant, fmt) == text
    assert timefmt.parse_datetime(text, [fmt]) == instant
