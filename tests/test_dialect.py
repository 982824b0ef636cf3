"""dlt dialect parity: configs in dlt's own forms run with dlt's meaning (against a loopback server)."""

from __future__ import annotations

import json

import pytest
from werkzeug import Response

from tap_restgeneric.source import load_source
from tests.support import run_cli, sync


def source(httpserver, *resources, **client) -> dict:
    return {"source": {"client": {"base_url": httpserver.url_for("/api"), **client}, "resources": list(resources)}}


def paged(httpserver, path: str, pages: dict[str, object], param: str = "page") -> None:
    """Pages of a JSON list by ``param`` (a missing page is []; an int is that HTTP status)."""

    def handler(request):
        page = pages.get(request.args.get(param, "1"), [])
        if isinstance(page, int):
            return Response('{"message": "Not Found"}', status=page, content_type="application/json")
        return Response(json.dumps(page), content_type="application/json")

    httpserver.expect_request(path).respond_with_handler(handler)


# ------------------------------------------------------------------ response actions


def test_a_404_past_the_last_page_is_ignored_and_ends_paging(httpserver):
    paged(httpserver, "/api/items", {"1": [{"id": 1}, {"id": 2}], "2": [{"id": 3}], "3": 404})
    out = sync(
        source(
            httpserver,
            {
                "name": "items",
                "endpoint": {
                    "path": "items",
                    "paginator": {"type": "page_number", "total_path": None, "stop_after_empty_page": False},
                    "response_actions": [{"status_code": 404, "action": "ignore"}],
                },
            },
        )
    )
    assert out.ids("items") == [1, 2, 3]
    assert [request.args.get("page") for request, _ in httpserver.log][-3:] == ["1", "2", "3"]


def test_a_200_whose_content_matches_is_ignored(httpserver):
    httpserver.expect_request("/api/items").respond_with_json({"status": "no results for this query"})
    out = sync(
        source(
            httpserver,
            {"name": "items", "endpoint": {"path": "items", "response_actions": [{"content": "no results", "action": "ignore"}]}},
        )
    )
    assert out.records("items") == []


def test_a_status_that_no_action_matches_still_fails(httpserver, tmp_path):
    httpserver.expect_request("/api/items").respond_with_json({"message": "gone"}, status=410)
    config = source(
        httpserver,
        {
            "name": "items",
            "endpoint": {"path": "items", "response_actions": [{"status_code": 404, "content": "gone", "action": "ignore"}]},
        },
    )
    out = run_cli([], config, tmp_path)
    assert out.returncode != 0 and "HTTP 410" in out.stderr


# ------------------------------------------------------------------ resources and defaults


def test_a_bare_path_resource_is_named_like_dlts_table(httpserver):
    httpserver.expect_request("/api/users/posts").respond_with_json([{"id": 1}])
    out = sync(source(httpserver, "users/posts"))
    assert out.ids("users_posts") == [1]


def test_path_parameters_are_bound_from_params(httpserver):
    httpserver.expect_request("/api/things/books").respond_with_json({"id": 7, "kind": "books"})
    out = sync(source(httpserver, {"name": "kind", "endpoint": {"path": "things/{kind}", "params": {"kind": "books", "x": 1}}}))
    # A path ending in a parameter reads one object (dlt: selector "$", one page).
    assert out.records("kind") == [{"id": 7, "kind": "books"}]
    request, _ = httpserver.log[-1]
    assert dict(request.args) == {"x": "1"}


def test_null_resets_an_inherited_paginator_and_a_resource_paginator_replaces_the_default(httpserver):
    paged(httpserver, "/api/a", {"1": [{"id": 1}], "2": [{"id": 2}]})
    paged(httpserver, "/api/b", {"0": [{"id": 1}, {"id": 2}], "2": [{"id": 3}]}, param="offset")
    config = {
        "source": {
            "client": {"base_url": httpserver.url_for("/api")},
            "resource_defaults": {"endpoint": {"paginator": {"type": "page_number", "page_param": "page", "total_path": None}}},
            "resources": [
                {"name": "a", "endpoint": {"path": "a", "paginator": None}},
                {"name": "b", "endpoint": {"path": "b", "paginator": {"type": "offset", "limit": 2, "total_path": None}}},
            ],
        }
    }
    loaded = load_source(config)
    assert loaded.resources[0]["endpoint"]["paginator"] == {"type": "auto"}
    assert loaded.resources[1]["endpoint"]["paginator"] == {"type": "offset", "limit": 2, "total_path": None}


def test_loading_hints_columns_selected_and_skip(httpserver, tmp_path):
    for name in ("a", "b", "c"):
        httpserver.expect_request(f"/api/{name}").respond_with_json([{"id": 1, "amount": "12.5", "at": "2024-01-01"}])
    config = source(
        httpserver,
        {"name": "a", "columns": {"amount": {"data_type": "double"}, "at": {"data_type": "date", "nullable": False}}},
        {"name": "b", "selected": False, "table_name": "bees", "max_table_nesting": 0},
        {"name": "c", "write_disposition": "skip"},
    )
    catalog = json.loads(run_cli(["--discover"], config, tmp_path).stdout)
    by_stream = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
    assert by_stream["a"]["schema"]["properties"]["amount"] == {"type": ["number", "null"]}
    assert by_stream["a"]["schema"]["properties"]["at"] == {"type": ["string"], "format": "date"}
    selected = {
        name: next(m["metadata"].get("selected-by-default") for m in entry["metadata"] if m["breadcrumb"] == [])
        for name, entry in by_stream.items()
    }
    assert selected == {"a": True, "b": False, "c": False}
    out = run_cli([], config, tmp_path)
    assert out.returncode == 0
    assert {m["stream"] for m in out.messages if m["type"] == "RECORD"} == {"a"}
    assert "resources[1].table_name: accepted and ignored: the Singer stream is named after the resource" in out.stderr
    assert "resources[1].max_table_nesting: accepted and ignored" in out.stderr


# ------------------------------------------------------------------ selectors


def test_a_jsonpath_matching_an_empty_list_is_an_empty_page(httpserver):
    httpserver.expect_request("/api/items").respond_with_json({"data": []})
    out = sync(source(httpserver, {"name": "items", "endpoint": {"path": "items", "data_selector": "$.data[*]"}}))
    assert out.records("items") == []


def test_an_object_without_a_list_is_one_record_with_a_warning(httpserver, tmp_path):
    httpserver.expect_request("/api/me").respond_with_json({"id": 1, "name": "me"})
    out = run_cli([], source(httpserver, {"name": "me", "endpoint": {"path": "me", "paginator": "single_page"}}), tmp_path)
    assert out.records("me") == [{"id": 1, "name": "me"}]
    assert "stream 'me': the response is an object without a list of records; it is taken as one record" in out.stderr


# ------------------------------------------------------------------ incremental


EVENTS = [
    {"id": 1, "ts": "2024-01-01T00:00:00Z"},
    {"id": 2, "ts": "2024-01-02T00:00:00Z"},
    {"id": 3, "ts": "2024-01-03T00:00:00Z"},
    {"id": 4},
]


def events(httpserver, **incremental) -> dict:
    httpserver.expect_request("/api/events").respond_with_json(EVENTS)
    return source(
        httpserver,
        {
            "name": "events",
            "primary_key": "id",
            "endpoint": {
                "path": "events",
                "paginator": "single_page",
                "incremental": {
                    "cursor_path": "ts",
                    "start_param": "since",
                    "initial_value": "2024-01-01T00:00:00Z",
                    **incremental,
                },
            },
        },
    )


def test_end_value_bounds_a_backfill_that_never_moves_the_bookmark(httpserver):
    state = {"bookmarks": {"events": {"replication_key": "ts", "replication_key_value": "2024-01-03T00:00:00Z"}}}
    out = sync(events(httpserver, end_value="2024-01-03T00:00:00Z", end_param="until"), state=state)
    assert out.ids("events") == [1, 2, 4]  # from initial_value (not the bookmark), before end_value (open)
    request, _ = httpserver.log[-1]  # (the first is discovery's sample)
    assert dict(request.args) == {"since": "2024-01-01T00:00:00Z", "until": "2024-01-03T00:00:00Z"}
    assert out.states[-1]["bookmarks"]["events"]["replication_key_value"] == "2024-01-03T00:00:00Z"


def test_lag_moves_the_start_back_from_the_bookmark_but_never_the_bookmark(httpserver):
    state = {"bookmarks": {"events": {"replication_key": "ts", "replication_key_value": "2024-01-03T00:00:00Z"}}}
    out = sync(events(httpserver, lag=86400), state=state)
    request, _ = httpserver.log[-1]  # (the first is discovery's sample)
    assert request.args["since"] == "2024-01-02T00:00:00Z"
    assert out.ids("events") == [2, 3, 4]
    assert out.states[-1]["bookmarks"]["events"]["replication_key_value"] == "2024-01-03T00:00:00Z"


@pytest.mark.parametrize(
    ("options", "ids"),
    [
        ({}, [1, 2, 3, 4]),
        ({"range_start": "open"}, [2, 3, 4]),
        ({"on_cursor_value_missing": "exclude"}, [1, 2, 3]),
        ({"end_value": "2024-01-02T00:00:00Z", "range_end": "closed"}, [1, 2, 4]),
    ],
)
def test_incremental_ranges_and_missing_cursors(httpserver, options, ids):
    assert sync(events(httpserver, **options)).ids("events") == ids


def test_a_missing_cursor_can_stop_the_stream(httpserver, tmp_path):
    out = run_cli([], events(httpserver, on_cursor_value_missing="raise"), tmp_path)
    assert out.returncode != 0
    assert out.stderr.strip().splitlines()[-1] == (
        "tap-restgeneric: error: stream 'events': a record has no cursor field 'ts' (incremental.on_cursor_value_missing: raise)"
    )
