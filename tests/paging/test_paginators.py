"""Each paginator's stop rules, asserted on the exact requests a real HTTP server saw."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug import Response

from tap_restgeneric.errors import StreamError
from tests.support import last_line, run_cli, sync, sync_until_error

ITEMS = [{"id": i, "name": f"item {i}"} for i in range(1, 251)]
SCHEMA = {"properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}}}


def config(httpserver, endpoint: dict, max_concurrency: int = 1, **client) -> dict:
    # Stop rules are asserted one request after the other; concurrency has its own tests below.
    return {
        "max_concurrency": max_concurrency,
        "source": {
            "client": {"base_url": httpserver.url_for("/api"), **client},
            "resources": [
                {
                    "name": "items",
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "schema": SCHEMA,
                    "endpoint": {"path": "/items", **endpoint},
                }
            ],
        },
    }


def queries(httpserver) -> list[dict]:
    return [dict(request.args) for request, _ in httpserver.log]


def serve(httpserver, handler) -> None:
    httpserver.expect_request("/api/items").respond_with_handler(handler)


def json_response(body, **headers) -> Response:
    return Response(json.dumps(body), status=200, headers=headers, content_type="application/json")


# ---------------------------------------------------------------- page_number


def page_handler(total: int, size: int, body_extra=lambda page, n_pages: {}):
    data = ITEMS[:total]

    def handler(request):
        page = int(request.args.get("page", 1))
        chunk = data[(page - 1) * size : page * size]
        n_pages = -(-total // size)
        return json_response({"items": chunk, **body_extra(page, n_pages)})

    return handler


@pytest.mark.parametrize(
    ("total", "expected_pages"),
    [(0, ["1"]), (1, ["1"]), (10, ["1", "2"]), (11, ["1", "2"]), (25, ["1", "2", "3"])],
    ids=["empty", "one-record", "exactly-one-page", "one-page-plus-one", "short-last-page"],
)
def test_page_number_stops_on_empty_or_short_page(httpserver, total, expected_pages):
    serve(httpserver, page_handler(total, 10))
    out = sync(
        config(httpserver, {"data_selector": "items", "paginator": {"type": "page_number", "limit": 10, "page_param": "page"}})
    )
    assert out.ids("items") == [r["id"] for r in ITEMS[:total]]
    assert [q["page"] for q in queries(httpserver)] == expected_pages


def test_page_number_starts_at_one_and_sends_limit_param(httpserver):
    serve(httpserver, page_handler(15, 10))
    sync(
        config(
            httpserver, {"data_selector": ["items"], "paginator": {"type": "page_number", "limit": 10, "limit_param": "per_page"}}
        )
    )
    assert queries(httpserver) == [{"page": "1", "per_page": "10"}, {"page": "2", "per_page": "10"}]


def test_page_number_base_page_zero_and_total_pages(httpserver):
    def handler(request):
        page = int(request.args["p"])
        return json_response({"items": ITEMS[page * 10 : page * 10 + 10], "meta": {"pages": 3}})

    serve(httpserver, handler)
    out = sync(
        config(
            httpserver,
            {
                "data_selector": "items",
                "paginator": {"type": "page_number", "page_param": "p", "base_page": 0, "total_path": "meta.pages"},
            },
        )
    )
    assert [q["p"] for q in queries(httpserver)] == ["0", "1", "2"]
    assert out.ids("items") == list(range(1, 31))


def test_page_number_maximum_page_is_exclusive_like_dlt(httpserver):
    serve(httpserver, page_handler(250, 10))
    out = sync(config(httpserver, {"data_selector": "items", "paginator": {"type": "page_number", "maximum_page": 4}}))
    assert [q["page"] for q in queries(httpserver)] == ["1", "2", "3"]
    assert len(out.ids("items")) == 30


def test_page_number_has_more_false_stops(httpserver):
    serve(httpserver, page_handler(40, 10, lambda page, n: {"has_more": page < 2}))
    sync(config(httpserver, {"data_selector": "items", "paginator": {"type": "page_number", "has_more_path": "has_more"}}))
    assert [q["page"] for q in queries(httpserver)] == ["1", "2"]


# ---------------------------------------------------------------- offset


def offset_handler(total: int, with_total: bool):
    def handler(request):
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        body = {"data": ITEMS[offset : min(offset + limit, total)]}
        if with_total:
            body["total"] = total
        return json_response(body)

    return handler


@pytest.mark.parametrize(
    ("total", "with_total", "expected_offsets"),
    [
        (0, False, ["0"]),
        (10, False, ["0", "10"]),
        (11, False, ["0", "10"]),
        (10, True, ["0"]),
        (20, True, ["0", "10"]),
    ],
    ids=["empty", "exactly-one-page", "one-page-plus-one", "total-reached", "total-two-pages"],
)
def test_offset_stops_on_empty_short_page_or_total(httpserver, total, with_total, expected_offsets):
    serve(httpserver, offset_handler(total, with_total))
    out = sync(config(httpserver, {"data_selector": "data", "paginator": {"type": "offset", "limit": 10}}))
    assert out.ids("items") == [r["id"] for r in ITEMS[:total]]
    assert [q["offset"] for q in queries(httpserver)] == expected_offsets
    assert {q["limit"] for q in queries(httpserver)} == {"10"}


def test_offset_custom_params_and_maximum_offset(httpserver):
    def handler(request):
        start = int(request.args["skip"])
        return json_response({"data": ITEMS[start : start + int(request.args["take"])]})

    serve(httpserver, handler)
    sync(
        config(
            httpserver,
            {"paginator": {"type": "offset", "limit": 5, "offset_param": "skip", "limit_param": "take", "maximum_offset": 15}},
        )
    )
    assert queries(httpserver) == [{"skip": "0", "take": "5"}, {"skip": "5", "take": "5"}, {"skip": "10", "take": "5"}]


# ---------------------------------------------------------------- cursor, json_link, header_link


def test_cursor_dlt_form_sends_cursor_param(httpserver):
    def handler(request):
        after = int(request.args.get("after", 0))
        nxt = after + 3 if after + 3 < 7 else None
        return json_response({"results": ITEMS[after : after + 3], "cursors": {"next": str(nxt) if nxt else None}})

    serve(httpserver, handler)
    out = sync(config(httpserver, {"paginator": {"type": "cursor", "cursor_path": "cursors.next", "cursor_param": "after"}}))
    assert queries(httpserver) == [{}, {"after": "3"}, {"after": "6"}]
    assert out.ids("items") == [1, 2, 3, 4, 5, 6, 7, 8, 9]


@pytest.mark.parametrize("form", ["absolute", "path", "token"])
def test_cursor_template_form_follows_urls_paths_and_tokens(httpserver, form):
    def handler(request):
        position = int(request.args.get("cursor", 0))
        body = {"data": ITEMS[position : position + 2], "paging": {}}
        if position + 2 < 5:
            nxt = position + 2
            body["paging"]["next"] = {
                "absolute": httpserver.url_for(f"/api/items?cursor={nxt}"),
                "path": f"/api/items?cursor={nxt}",
                "token": str(nxt),
            }[form]
        return json_response(body)

    serve(httpserver, handler)
    out = sync(
        config(
            httpserver,
            {
                "data_selector": "data",
                "params": {"limit": 2},
                "paginator": {
                    "type": "cursor",
                    "cursor_value": '{{ response.get("paging", {}).get("next", {}) }}',
                    "stop_condition": '{{ not response.get("paging", {}).get("next", {}) }}',
                },
            },
        )
    )
    assert out.ids("items") == [1, 2, 3, 4, 5, 6]
    expected = [{"limit": "2"}] + (
        [{"cursor": "2"}, {"cursor": "4"}] if form != "token" else [{"limit": "2", "cursor": "2"}, {"limit": "2", "cursor": "4"}]
    )
    assert queries(httpserver) == expected


def test_json_link_follows_next_url_until_null(httpserver):
    def handler(request):
        page = int(request.args.get("page", 1))
        return json_response(
            {"data": ITEMS[(page - 1) * 4 : page * 4], "links": {"next": f"items?page={page + 1}" if page < 3 else None}}
        )

    serve(httpserver, handler)
    out = sync(config(httpserver, {"paginator": {"type": "json_link", "next_url_path": "links.next"}}))
    assert [q.get("page") for q in queries(httpserver)] == [None, "2", "3"]
    assert out.ids("items") == list(range(1, 13))


def test_header_link_follows_rfc8288_next(httpserver):
    def handler(request):
        page = int(request.args.get("page", 1))
        headers = {}
        if page < 3:
            headers["Link"] = (
                f'<{httpserver.url_for("/api/items")}?page={page + 1}>; rel="next", <{httpserver.url_for("/api/items")}?page=1>; rel="first"'
            )
        return json_response(ITEMS[(page - 1) * 2 : page * 2], **headers)

    serve(httpserver, handler)
    out = sync(config(httpserver, {"paginator": "header_link"}))
    assert [q.get("page") for q in queries(httpserver)] == [None, "2", "3"]
    assert out.ids("items") == [1, 2, 3, 4, 5, 6]


def test_single_page_makes_one_request(httpserver):
    serve(httpserver, lambda request: json_response({"data": ITEMS[:5], "next": "/api/items?page=2"}))
    out = sync(config(httpserver, {"paginator": "single_page"}))
    assert len(httpserver.log) == 1 and out.ids("items") == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "paginator",
    [
        {"type": "cursor", "cursor_path": "next"},
        {"type": "json_link", "next_url_path": "next"},
    ],
    ids=["cursor", "json_link"],
)
def test_paginator_that_would_repeat_a_page_stops_with_an_error(httpserver, paginator):
    def handler(request):
        cursor = request.args.get("cursor", "")
        nxt = {"": "A", "A": "B", "B": "A"}[cursor]
        records = {"": ITEMS[0:1], "A": ITEMS[1:2], "B": ITEMS[2:3]}[cursor]  # distinct pages: the token guard fires
        return json_response({"data": records, "next": f"/api/items?cursor={nxt}" if paginator["type"] == "json_link" else nxt})

    serve(httpserver, handler)
    with pytest.raises(StreamError) as info:
        sync(config(httpserver, {"paginator": paginator, **({"params": {}} if paginator["type"] == "json_link" else {})}) | {})
    assert str(info.value).startswith(f"stream 'items': paginator '{paginator['type']}' would request the same page twice")
    assert len(httpserver.log) == 3


@pytest.mark.parametrize(
    ("paginator", "expected"),
    [
        (
            {"type": "page_number", "limit": 2, "total_path": "total_pages", "has_more_path": "has_more"},
            [("page", "1"), ("page", "2")],
        ),
        ({"type": "offset", "limit": 2, "total_path": "total", "has_more_path": "has_more"}, [("offset", "0"), ("offset", "2")]),
    ],
    ids=["page_number", "offset"],
)
def test_has_more_true_does_not_page_past_the_total(httpserver, paginator, expected):
    """dlt 1.31 (changed since 1.26): has_more_path can only end paging; a true has_more does not
    undo a stop the total (or maximum) already decided."""

    def handler(request):
        offset = int(request.args.get("offset", (int(request.args.get("page", 1)) - 1) * 2))
        return json_response({"data": ITEMS[offset : offset + 2], "total_pages": 2, "total": 4, "has_more": True})

    serve(httpserver, handler)
    out = sync(config(httpserver, {"paginator": paginator}))
    assert out.ids("items") == [1, 2, 3, 4]
    key = expected[0][0]
    assert [(key, q.get(key)) for q in queries(httpserver)][-2:] == expected


def test_auto_paginator_follows_next_link_in_body(httpserver):
    def handler(request):
        page = int(request.args.get("page", 1))
        return json_response(
            {"results": ITEMS[(page - 1) * 2 : page * 2], "next": f"/api/items?page={page + 1}" if page < 2 else None}
        )

    serve(httpserver, handler)
    out = sync(config(httpserver, {}))
    assert out.ids("items") == [1, 2, 3, 4]
    assert [q.get("page") for q in queries(httpserver)] == [None, "2"]


@pytest.mark.parametrize(
    ("paginator", "primary_key"),
    [
        ({"type": "offset", "limit": 5}, "id"),
        ({"type": "page_number", "limit": 5}, None),
        ({"type": "cursor", "cursor_path": "next"}, "id"),
    ],
    ids=["offset-keyed", "page_number-content", "cursor-keyed"],
)
def test_an_api_that_ignores_the_paging_parameter_stops_with_an_error(httpserver, paginator, primary_key):
    """The same full page every time (an API ignoring offset): not followed forever."""
    calls = iter(range(1, 1000))
    serve(httpserver, lambda request: json_response({"data": ITEMS[:5], "next": f"c{next(calls)}"}))
    cfg = config(httpserver, {"paginator": paginator})
    if primary_key is None:
        cfg["source"]["resources"][0].pop("primary_key", None)
    with pytest.raises(StreamError) as info:
        sync(cfg)
    assert str(info.value) == (
        f"stream 'items': page 2 has the same 5 records as the page before it; "
        f"the API ignores paginator {paginator['type']!r}'s parameters (stopping instead of looping)"
    )
    assert len(httpserver.log) == 2


@pytest.mark.parametrize(
    "paginator",
    [{"type": "cursor", "cursor_path": "next"}, {"type": "json_link"}, {"type": "header_link"}, {"type": "auto"}],
    ids=["cursor", "json_link", "header_link", "auto"],
)
def test_every_paginator_stops_on_an_empty_page_unless_told_not_to(httpserver, paginator):
    """An API whose pages turn empty but keep naming a next one."""

    def handler(request):
        page = int(request.args.get("page") or request.args.get("cursor") or 1)
        records = ITEMS[(page - 1) * 2 : page * 2] if page <= 2 else []
        following = page + 1 if page < 6 else None
        link = f"/api/items?page={following}" if following else None
        body = {"data": records, "next": (following and str(following)) if paginator["type"] == "cursor" else link}
        response = json_response(body)
        if link:
            response.headers["Link"] = f'<{link}>; rel="next"'
        return response

    serve(httpserver, handler)
    out = sync(config(httpserver, {"paginator": paginator}))
    assert out.ids("items") == [1, 2, 3, 4]
    assert len(httpserver.log) == 3  # pages 1 and 2, then the empty page 3 ends it
    httpserver.clear_log()
    out = sync(config(httpserver, {"paginator": {**paginator, "stop_after_empty_page": False}}))
    assert out.ids("items") == [1, 2, 3, 4] and len(httpserver.log) == 6


def test_max_pages_stops_a_stream_that_pages_forever_with_an_error(httpserver):
    def handler(request):
        page = int(request.args.get("page", 1))
        return json_response({"data": ITEMS[page - 1 : page], "next": f"/api/items?page={page + 1}"})

    serve(httpserver, handler)
    with pytest.raises(StreamError) as info:
        sync(config(httpserver, {"paginator": "json_link"}) | {"max_pages": 3})
    assert str(info.value) == (
        "stream 'items': stopped after 3 pages (the max_pages setting) while paginator 'json_link' still had a next page; "
        "raise max_pages if the API really has more"
    )
    assert len(httpserver.log) == 3


def test_maximum_page_stops_with_a_warning_not_silently(httpserver, tmp_path):
    serve(httpserver, page_handler(total=100, size=10))
    out = run_cli([], config(httpserver, {"paginator": {"type": "page_number", "limit": 10, "maximum_page": 3}}), tmp_path)
    assert out.returncode == 0
    assert out.ids("items") == list(range(1, 21))
    assert [q["page"] for q in queries(httpserver)] == ["1", "2"]
    warning = [line for line in out.stderr.splitlines() if "paging stopped" in line and "WARNING" in line]
    assert len(warning) == 1
    assert warning[0].endswith("stream 'items': paging stopped: maximum_page 3 reached (as configured); the API may have more")


# ---------------------------------------------------------------- loops through links that change


def nonce_loop_handler(distinct: int, period: int, paginator: str = "json_link", keyed_only: bool = False):
    """An API whose page n names page n+1 under a fresh nonce (a next URL, a Link header or a
    cursor), and whose pages from ``distinct`` on repeat the records of the last ``period`` pages
    (with ``keyed_only`` another field changes each time, so only the keys repeat)."""
    nonces = iter(range(10**6))

    def handler(request):
        page = int(request.args.get("page") or request.args.get("cursor", "0").split("-")[0])
        shown = page if page < distinct else distinct - period + (page - distinct) % period
        records = [{"id": shown * 10 + i, "name": f"item {shown * 10 + i}"} for i in range(3)]
        if keyed_only:
            records = [{**r, "name": f"seen {next(nonces)}"} for r in records]
        nonce = next(nonces)
        link = f"/api/items?page={page + 1}&nonce={nonce}"
        response = json_response({"data": records, "next": f"{page + 1}-{nonce}" if paginator == "cursor" else link})
        if paginator == "header_link":
            response.headers["Link"] = f'<{link}>; rel="next"'
        return response

    return handler


LOOPING_PAGINATORS = {
    "json_link": {"type": "json_link", "next_url_path": "next"},
    "header_link": {"type": "header_link"},
    "cursor": {"type": "cursor", "cursor_path": "next", "cursor_param": "cursor"},
}


def test_links_that_change_but_lead_back_stop_with_an_error_before_the_repeats(httpserver, tmp_path):
    """Two pages alternating under new nonces: the token guard cannot see the loop (every URL is
    new); the records can. Nothing is written twice, and the sync fails in one line."""
    serve(httpserver, nonce_loop_handler(distinct=2, period=2))
    out = run_cli([], config(httpserver, {"paginator": LOOPING_PAGINATORS["json_link"]}), tmp_path)
    assert out.returncode == 1
    assert out.ids("items") == [0, 1, 2, 10, 11, 12]
    assert last_line(out.stderr) == (
        "tap-restgeneric: error: stream 'items': page 3 has the same 3 records as page 1; paginator 'json_link' is going "
        "round in a loop (its next pages lead back to pages already read), stopping before writing them again"
    )
    assert len(httpserver.log) == 3
    assert "Traceback" not in out.stderr


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    distinct=st.integers(min_value=1, max_value=12),
    period=st.integers(min_value=1, max_value=6),
    keyed=st.booleans(),
    paginator=st.sampled_from(sorted(LOOPING_PAGINATORS)),
)
def test_a_loop_of_any_period_is_caught_at_its_first_repeat(httpserver, distinct, period, keyed, paginator):
    """Whatever the loop's length (within the pages remembered) and whether the records repeat by
    key or by content, its first repeated page stops the stream before its records are written."""
    period = min(period, distinct)
    httpserver.clear()
    serve(httpserver, nonce_loop_handler(distinct, period, paginator, keyed_only=keyed))
    cfg = config(httpserver, {"paginator": LOOPING_PAGINATORS[paginator]})
    if not keyed:
        cfg["source"]["resources"][0].pop("primary_key")
    out, error = sync_until_error(cfg)
    assert isinstance(error, StreamError)
    repeated = "the page before it" if period == 1 else f"page {distinct - period + 1};"
    assert str(error).startswith(f"stream 'items': page {distinct + 1} has the same 3 records as {repeated}")
    assert out.ids("items") == [p * 10 + i for p in range(distinct) for i in range(3)]
    assert len(httpserver.log) == distinct + 1
