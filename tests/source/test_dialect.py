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


# ------------------------------------------------------------------ processing steps


def test_processing_steps_filter_map_and_exclude_in_order(httpserver):
    httpserver.expect_request("/api/users").respond_with_json(
        [
            {"id": 1, "first": "Ada", "last": "Lovelace", "state": "active", "password": "x"},
            {"id": 2, "first": "Bob", "last": "Builder", "state": "gone", "password": "y"},
        ]
    )
    steps = [
        {"filter": "{{ record.state == 'active' }}"},
        {"map": {"name": "{{ record.first ~ ' ' ~ record.last }}", "source": "api", "id": "{{ record.id * 10 }}"}},
        {"map": {"who": {"initials": ["{{ record.first[0] }}", "{{ record.last[0] }}"]}}},  # templates at any depth
        {"exclude": ["password", "first", "last"]},
    ]
    out = sync(
        source(
            httpserver, {"name": "users", "processing_steps": steps, "endpoint": {"path": "users", "paginator": "single_page"}}
        )
    )
    assert out.records("users") == [
        {"id": 10, "state": "active", "name": "Ada Lovelace", "source": "api", "who": {"initials": ["A", "L"]}}
    ]
    properties = out.schema("users")["schema"]["properties"]
    assert "name" in properties and "password" not in properties  # inferred from processed samples


def test_a_parents_filter_decides_which_records_have_children(httpserver):
    httpserver.expect_request("/api/issues").respond_with_json([{"id": 1, "open": True}, {"id": 2, "open": False}])
    httpserver.expect_request("/api/issues/1/comments").respond_with_json([{"id": 11}])
    httpserver.expect_request("/api/issues/2/comments").respond_with_json([{"id": 21}])
    out = sync(
        source(
            httpserver,
            {
                "name": "issues",
                "processing_steps": [{"filter": "{{ record.open }}"}],
                "endpoint": {"path": "issues", "paginator": "single_page"},
            },
            {"name": "comments", "endpoint": {"path": "issues/{resources.issues.id}/comments", "paginator": "single_page"}},
        )
    )
    assert out.ids("issues") == [1] and out.ids("comments") == [11]
    assert not [r for r, _ in httpserver.log if r.path == "/api/issues/2/comments"]


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        (
            {"filter": "open"},
            "resources[0].processing_steps[0].filter: must be a template such as \"{{ record.state == 'open' }}\"",
        ),
        ({"map": {"x": "{{ secrets.key }}"}}, "resources[0].processing_steps[0].map.x: template uses undeclared name 'secrets'"),
        (
            {"filter": "{{ x }}", "exclude": ["a"]},
            "resources[0].processing_steps[0]: a step has exactly one of filter, map, exclude",
        ),
    ],
)
def test_processing_step_errors_name_their_path(step, problem):
    from tap_restgeneric.errors import SourceConfigError

    with pytest.raises(SourceConfigError) as raised:
        load_source(
            {
                "source": {
                    "client": {"base_url": "https://api.example.com"},
                    "resources": [{"name": "a", "processing_steps": [step]}],
                }
            }
        )
    assert raised.value.problems[0].startswith(problem)


# ------------------------------------------------------------------ paginators and bodies


def test_header_cursor(httpserver):
    def handler(request):
        after = request.args.get("after")
        if after is None:
            return Response(json.dumps([{"id": 1}]), headers={"X-Next": "c2"}, content_type="application/json")
        return Response(json.dumps([{"id": 2}]), content_type="application/json")

    httpserver.expect_request("/api/items").respond_with_handler(handler)
    paginator = {"type": "header_cursor", "cursor_key": "X-Next", "cursor_param": "after"}
    out = sync(source(httpserver, {"name": "items", "endpoint": {"path": "items", "paginator": paginator}}))
    assert out.ids("items") == [1, 2]
    assert [r.args.get("after") for r, _ in httpserver.log][-2:] == [None, "c2"]


@pytest.mark.parametrize("more", [False, "false", "False", 0, None, "no"])
@pytest.mark.parametrize(
    "paginator",
    [
        {"type": "cursor", "cursor_path": "next", "has_more_path": "more"},
        {"type": "offset", "limit": 1, "total_path": None, "has_more_path": "more"},
        {"type": "page_number", "total_path": None, "has_more_path": "more"},
    ],
    ids=["cursor", "offset", "page_number"],
)
def test_every_paginator_reads_has_more_the_same_way(httpserver, paginator, more):
    """One rule (paginators.base.says_no_more): false, "false", 0, null or "no" ends paging."""

    def handler(request):
        first = not (request.args.get("cursor") or int(request.args.get("offset", 0)) or int(request.args.get("page", 1)) > 1)
        body = {"data": [{"id": 1 if first else 2}], "next": "b", "more": True if first else more}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/items").respond_with_handler(handler)
    items = {"name": "items", "schema": {"properties": {"id": {"type": "integer"}}}}
    out = sync(source(httpserver, {**items, "endpoint": {"path": "items", "paginator": paginator}}))
    assert out.ids("items") == [1, 2]
    assert len(httpserver.log) == 2  # the page saying no more is the last one requested


def test_cursor_stops_when_has_more_is_false(httpserver):
    def handler(request):
        if request.args.get("cursor") == "b":
            body = {"data": [{"id": 2}], "next": "c", "has_more": False}
        else:
            body = {"data": [{"id": 1}], "next": "b", "has_more": True}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/items").respond_with_handler(handler)
    paginator = {"type": "cursor", "cursor_path": "next", "has_more_path": "has_more"}
    out = sync(source(httpserver, {"name": "items", "endpoint": {"path": "items", "paginator": paginator}}))
    assert out.ids("items") == [1, 2]


@pytest.mark.parametrize(
    ("paginator", "sent"),
    [
        ({"type": "page_number", "page_body_path": "paging.page", "total_path": None}, lambda body: body["paging"]["page"]),
        (
            {
                "type": "offset",
                "limit": 1,
                "offset_body_path": "paging.offset",
                "limit_body_path": "paging.size",
                "total_path": None,
            },
            lambda body: body["paging"]["offset"] + 1,
        ),
    ],
    ids=["page_body_path", "offset_body_path"],
)
def test_pagination_in_a_post_body(httpserver, paginator, sent):
    bodies = []

    def handler(request):
        body = json.loads(request.data)
        bodies.append(body)
        page = sent(body)
        return Response(json.dumps({"data": [{"id": page}] if page <= 2 else []}), content_type="application/json")

    httpserver.expect_request("/api/search", method="POST").respond_with_handler(handler)
    endpoint = {"path": "search", "method": "POST", "json": {"query": "x", "paging": {"size": 1}}, "paginator": paginator}
    out = sync(source(httpserver, {"name": "search", "endpoint": endpoint}))
    assert out.ids("search") == [1, 2]
    assert all(body["query"] == "x" and body["paging"]["size"] == 1 for body in bodies)
    assert not [r for r, _ in httpserver.log if r.args]  # nothing in the query string


def test_cursor_in_a_post_body(httpserver):
    def handler(request):
        body = json.loads(request.data)
        if body.get("after") == "n1":
            return Response(json.dumps({"items": [{"id": 2}], "next": None}), content_type="application/json")
        return Response(json.dumps({"items": [{"id": 1}], "next": "n1"}), content_type="application/json")

    httpserver.expect_request("/api/q", method="POST").respond_with_handler(handler)
    paginator = {"type": "cursor", "cursor_path": "next", "cursor_body_path": "after"}
    endpoint = {"path": "q", "method": "POST", "json": {"q": 1}, "paginator": paginator}
    assert sync(source(httpserver, {"name": "q", "endpoint": endpoint})).ids("q") == [1, 2]


@pytest.mark.parametrize(
    ("data", "content_type", "expected"),
    [
        (
            {"grant": "read", "since": "{{ incremental.start_value }}"},
            "application/x-www-form-urlencoded",
            b"grant=read&since=2024",
        ),
        ("raw text body", None, b"raw text body"),
    ],
    ids=["form", "raw"],
)
def test_endpoint_data_is_sent_as_a_form_or_raw(httpserver, data, content_type, expected):
    httpserver.expect_request("/api/things", method="POST").respond_with_json([{"id": 1, "ts": 2025}])
    endpoint = {
        "path": "things",
        "method": "POST",
        "data": data,
        "paginator": "single_page",
        "incremental": {"cursor_path": "ts", "initial_value": 2024},
    }
    sync(source(httpserver, {"name": "things", "endpoint": endpoint}))
    request, _ = httpserver.log[-1]
    assert request.get_data() == expected
    if content_type:
        assert request.headers["Content-Type"] == content_type


def test_json_and_data_together_are_a_config_error():
    from tap_restgeneric.errors import SourceConfigError

    with pytest.raises(SourceConfigError) as raised:
        load_source(
            {
                "source": {
                    "client": {"base_url": "https://x.example"},
                    "resources": [{"name": "a", "endpoint": {"json": {}, "data": "x"}}],
                }
            }
        )
    assert raised.value.problems == ["resources[0].endpoint: set either json or data (a form or raw body), not both (as in dlt)"]


@pytest.mark.parametrize(
    ("pages", "chosen"),
    [
        (
            {
                "1": {"items": [{"id": 1}], "links": {"next": "/api/items?page=2"}},
                "2": {"items": [{"id": 2}], "links": {"next": None}},
            },
            "json_link, from a next URL at links.next",
        ),
        (
            {"1": {"data": [{"id": 1}], "total_pages": 2}, "2": {"data": [{"id": 2}], "total_pages": 2}},
            "page_number, from a page count at total_pages",
        ),
        (
            {"1": {"data": [{"id": 1}], "next_cursor": "xyz"}, "xyz": {"data": [{"id": 2}], "next_cursor": None}},
            "cursor, from a cursor at next_cursor",
        ),
    ],
    ids=["json_link", "page_count", "cursor"],
)
def test_auto_detects_what_dlt_detects_and_says_so(httpserver, tmp_path, pages, chosen):
    def handler(request):
        key = request.args.get("page") or request.args.get("cursor") or "1"
        return Response(json.dumps(pages[key]), content_type="application/json")

    httpserver.expect_request("/api/items").respond_with_handler(handler)
    out = run_cli([], source(httpserver, "items"), tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.ids("items") == [1, 2]
    assert f"stream 'items': paginator auto: {chosen} in the first response (set paginator to choose another)" in out.stderr


def test_auto_refuses_when_two_pages_disagree(httpserver, tmp_path):
    def handler(request):
        if request.args.get("page") == "2":
            return Response(
                json.dumps({"items": [{"id": 2}]}),
                headers={"Link": '</api/items?page=3>; rel="next"'},
                content_type="application/json",
            )
        return Response(json.dumps({"items": [{"id": 1}], "next": "/api/items?page=2"}), content_type="application/json")

    httpserver.expect_request("/api/items").respond_with_handler(handler)
    out = run_cli([], source(httpserver, {"name": "items", "schema": {"properties": {"id": {"type": "integer"}}}}), tmp_path)
    assert out.returncode != 0
    assert out.stderr.strip().splitlines()[-1] == (
        "tap-restgeneric: error: stream 'items': paginator auto chose json_link from a next URL at next in the first response, "
        'but response 2 has none and shows a Link rel="next" header; set endpoint.paginator instead of guessing'
    )
    assert out.ids("items") == [1, 2]


def test_auto_ends_a_link_paged_api_on_the_page_without_a_next_link(httpserver, tmp_path):
    """dlt's test API: every page states total_pages, the last one has no next_page."""

    def handler(request):
        page = int(request.args.get("page", 1))
        body = {"data": [{"id": page}], "page": page, "total_pages": 3}
        if page < 3:
            body["next_page"] = httpserver.url_for(f"/api/items?page={page + 1}")
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/items").respond_with_handler(handler)
    out = run_cli([], source(httpserver, "items"), tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.ids("items") == [1, 2, 3]
    assert [request.args.get("page") for request, _ in httpserver.log] == [None, "2", "3"] * 2  # discovery's sample, the sync


def auto_refusal(httpserver, tmp_path, last_page: dict, headers: dict | None = None, first_page: dict | None = None) -> str:
    """The line a sync stops with when page 1 names page 2 (by a body link, or ``first_page``'s way)
    and page 2, the last, is ``last_page``."""

    def handler(request):
        if request.args.get("page") == "2":
            return Response(json.dumps(last_page), headers=headers or {}, content_type="application/json")
        first = first_page or {"items": [{"id": 1}], "next": "/api/items?page=2", "total_pages": 3}
        link = {"Link": '</api/items?page=2>; rel="next"'} if first_page else {}
        return Response(json.dumps(first), headers=link, content_type="application/json")

    httpserver.expect_request("/api/items").respond_with_handler(handler)
    out = run_cli([], source(httpserver, {"name": "items", "schema": {"properties": {"id": {"type": "integer"}}}}), tmp_path)
    assert out.returncode == 1
    assert out.ids("items") == [1, 2]  # what was read is written, then the one line
    return out.stderr.strip().splitlines()[-1]


def test_auto_refuses_a_last_link_page_whose_page_count_says_more(httpserver, tmp_path):
    """Stopping there would skip page 3: the link ran out, the count did not."""
    assert auto_refusal(httpserver, tmp_path, {"items": [{"id": 2}], "total_pages": 3}) == (
        "tap-restgeneric: error: stream 'items': paginator auto chose json_link from a next URL at next in the first "
        "response, but response 2 has none and shows a page count of 3 at total_pages, and 2 pages were read; "
        "set endpoint.paginator instead of guessing"
    )


def test_auto_refuses_a_header_link_page_that_names_its_next_page_in_the_body(httpserver, tmp_path):
    line = auto_refusal(
        httpserver, tmp_path, {"items": [{"id": 2}], "links": {"next": "/api/items?page=3"}}, first_page={"items": [{"id": 1}]}
    )
    assert line == (
        "tap-restgeneric: error: stream 'items': paginator auto chose header_link from a Link rel=\"next\" header in the "
        "first response, but response 2 has none and shows a next URL at links.next; set endpoint.paginator instead of guessing"
    )


def test_auto_reads_one_page_of_a_post_whose_paging_it_cannot_place(httpserver, tmp_path):
    """A page count in a POST's response: page 2 would go in the body, which auto cannot guess (a
    query ?page=2 would be ignored, and page 1 read again)."""
    httpserver.expect_request("/api/search", method="POST").respond_with_json(
        {"data": [{"id": 1}], "next_page": 2, "total_pages": 5}
    )
    config = source(httpserver, {"name": "search", "endpoint": {"path": "search", "method": "POST", "json": {}}})
    out = run_cli([], config, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.ids("search") == [1]
    assert len([r for r, _ in httpserver.log]) == 2  # discovery's sample, then the sync: one request each
    assert (
        "stream 'search': paginator auto: one page: the first response shows a page count at total_pages, but a POST "
        "request is paged in its body, where auto cannot tell the key (set endpoint.paginator, e.g. {type: page_number, "
        "page_body_path: …})"
    ) in out.stderr


def test_an_initial_value_that_cannot_compare_with_inferred_cursor_values_is_a_config_error(httpserver, tmp_path):
    config = events(httpserver, initial_value="yesterday")
    out = run_cli([], config, tmp_path)
    assert out.returncode != 0
    assert out.stderr.strip().splitlines()[-1] == (
        "tap-restgeneric: config error: events: incremental.initial_value: 'yesterday' is not an ISO 8601 date or "
        "date-time like cursor 'ts' of stream 'events'"
    )
    assert not out.records("events")


def test_a_sort_parameter_that_the_records_do_not_keep_stops_with_one_line(httpserver, tmp_path):
    httpserver.expect_request("/api/events").respond_with_json(
        [{"id": 1, "ts": "2024-01-02T00:00:00Z"}, {"id": 2, "ts": "2024-01-01T00:00:00Z"}]
    )
    config = source(
        httpserver,
        {
            "name": "events",
            "primary_key": "id",
            "schema": {"properties": {"id": {"type": "integer"}, "ts": {"type": "string", "format": "date-time"}}},
            "endpoint": {
                "path": "events",
                "paginator": "single_page",
                "params": {"order_by": "ts"},
                "incremental": {"cursor_path": "ts", "initial_value": "2024-01-01T00:00:00Z"},
            },
        },
    )
    out = run_cli([], config, tmp_path)
    assert out.returncode == 1
    line = out.stderr.strip().splitlines()[-1]
    assert line.startswith("tap-restgeneric: error: Unsorted data detected in stream.")
    assert line.endswith(
        "the records do not arrive in cursor order although incremental.row_order or a sort parameter says so "
        "(the API does not sort as asked: drop row_order: asc, or the sort parameter); the records written are covered "
        "by the last STATE"
    )
    assert out.ids("events") == [1, 2]  # written before the order broke; the last STATE claims none of them
