"""dlt's own rest_api test suite, ported: every config of dlt's tests that is written without
Python callables, run by the tap against a loopback copy of dlt's mock API, asserting what dlt's
test asserts.

Specification: dlt-hub/dlt at commit 58d66fceef2bf6e04a2d1b3cb52dd8134dfb65bc (2026-04-30; its
pyproject says dlt 1.26.0, and the wheels of 1.26.0 and of 1.31.0, the newest release, differ
in ``rest_api`` only as README "Differences from dlt" lists), files:

- ``tests/sources/rest_api/integration/test_offline.py``
- ``tests/sources/rest_api/integration/test_response_actions.py``
- ``tests/sources/helpers/rest_client/test_paginators.py`` (the ``test_client_pagination*`` cases:
  a paginator config run against the mock API; the other cases there call paginator methods on
  hand-made response objects)
- the mock API: ``tests/sources/rest_api/conftest.py`` -> ``tests/dlt_mock.py`` (our own).

Each case names dlt's test (``test_function[param id]``); its config is dlt's, with only the
base URL pointing at the mock. The configs are read from dlt's tests; the expected values too.

How dlt's harness maps onto the tap's:

- dlt's ``add_limit(1)`` stops a resource after its first page. The tap has no such setting
  (``max_pages`` is a guard that fails the stream), so the tap reads every page, and an assertion
  about "the N requests" of one page of parents is made for every request, counted per parent or
  per page (dlt's 5 parents -> the tap's 25).
- dlt's ``User-Agent: dlt/…`` is the tap's ``tap-restgeneric/…``.
- Each sync runs as a user's does: discovery (the tap samples the API for a schema), then the sync
  with that catalog; the requests asserted are the sync's.

Left out, as Python callables have no place in a declarative config: ``test_source_with_post_request``'s
paginator class (its behaviour is ported as a ``cursor`` with ``cursor_body_path`` below),
``convert`` lambdas (``test_posts_with_incremental_date_conversion``,
``test_incremental_values_in_param_template_with_conversion``, ``test_incremental_convert_without_end_value``),
a custom ``Session`` (``test_custom_session_is_used``), a Python ``@dlt.resource`` parent
(``test_DltResource_gets_called``), and callable response actions (``test_response_action_on_status_code``,
``test_response_action_on_every_response``, ``test_multiple_response_actions_on_every_response``,
``test_response_actions_called_in_order``; ``test_auth_overwrites_for_specific_endpoints`` uses a
callable only to look at the request, so it is ported, asserting on what the server saw).

Where the tap differs on purpose, the case is in ``DIFFERENCES`` with the reason: its dlt config is
run and the tap's answer asserted, and, for dlt's ``'{{x}}'`` brace escape, the same case is run again
with the tap's spelling of a literal brace and must give dlt's expected values.

Count: 83 cases (63 of test_offline.py, 8 of test_response_actions.py counting the two orders of
``test_ignoring_endpoint_returning_404_others_422`` apart, 12 of test_paginators.py); 67 give dlt's
answer as dlt's config is written, 16 are differences (12 brace escapes, which give dlt's answer in
the tap's spelling). Where the tap is right and dlt is not, the check says so and asserts the tap's
rows (``check_per_parent_cursor``: dlt-hub/dlt#2429).
"""

from __future__ import annotations

import dataclasses
import json
import re
import string
import typing as t
from urllib.parse import parse_qs

import pytest

from tap_restgeneric.tap import TapRestGeneric
from tests.dlt_mock import COMMENTS, PAGE_SIZE, TOTAL_PAGES, DltMockAPI, query_of
from tests.support import Output, sync

if t.TYPE_CHECKING:
    from tests.listeners import Request

DLT_COMMIT = "58d66fceef2bf6e04a2d1b3cb52dd8134dfb65bc"
MOCK_BASE_URL = "https://api.example.com"  # dlt's mock host, replaced by the loopback server's
POSTS = PAGE_SIZE * TOTAL_PAGES


@dataclasses.dataclass
class Result:
    """What a run gave: the Singer output, the requests the mock answered during the sync, and the
    error (its one-line text) if the run stopped with one."""

    out: Output
    requests: list[Request]
    error: str | None
    base_url: str

    def rows(self, stream: str) -> list[dict]:
        return self.out.records(stream)

    def to(self, pattern: str) -> list[Request]:
        """The requests whose path matches ``pattern`` (from its start, as dlt's test filters them)."""
        return [r for r in self.requests if re.match(pattern, r.path)]


@dataclasses.dataclass
class Case:
    dlt_test: str  # dlt's test function[param id], in the files the module docstring names
    source: dict  # the config exactly as dlt's test writes it
    check: t.Callable[[Result], None]
    #: Runs of the same config, each with the STATE the previous one ended with (dlt's pipeline.run twice).
    runs: int = 1


def client(**extra: t.Any) -> dict:
    return {"base_url": MOCK_BASE_URL, **extra}


# ---------------------------------------------------------------- checks, as dlt's asserts


def by_post(calls: list[Request], post_id: t.Callable[[Request], str]) -> list[Request]:
    """Requests of a child, in its parents' order. dlt sends them one after the other; the tap
    requests the children of upcoming parents at once (README: fan-out), so they arrive in any
    order, and dlt's "request i is for post i" is asserted after sorting by the post they name."""
    return sorted(calls, key=lambda call: int(post_id(call)))


def posts_rows(count: int = POSTS) -> list[dict]:
    return [{"id": i, "title": f"Post {i}"} for i in range(count)]


def check_load_mock_api(children: tuple[str, ...] = ("post_comments", "post_details")) -> t.Callable[[Result], None]:
    """test_load_mock_api: table counts and the first 25 titles, bodies and comments."""

    def check(result: Result) -> None:
        assert result.error is None
        assert [r["title"] for r in sorted(result.rows("posts"), key=lambda r: r["id"])] == [f"Post {i}" for i in range(25)]
        if "post_details" in children:
            details = sorted(result.rows("post_details"), key=lambda r: r["id"])
            assert len(details) == POSTS
            assert [r["body"] for r in details[:25]] == [f"Post body {i}" for i in range(25)]
        comments = sorted(result.rows("post_comments"), key=lambda r: (r["post_id"], r["id"]))
        assert len(comments) == COMMENTS * POSTS
        assert [r["body"] for r in comments[:5]] == [f"Comment {i} for post 0" for i in range(5)]

    return check


def check_pages(path: str, expected: dict[str, list[str]], pages: int = TOTAL_PAGES) -> t.Callable[[Result], None]:
    """test_single_resource_query_string_params: 5 requests, request i has ``expected`` and page=i."""

    def check(result: Result) -> None:
        assert result.error is None
        calls = result.to(path)
        assert len(calls) == pages
        for i, call in enumerate(calls, start=1):
            assert query_of(call) == {**expected, "page": [str(i)]}

    return check


def check_children_query(expected: dict[str, list[str]]) -> t.Callable[[Result], None]:
    """test_dependent_resource_query_string_params: every comments request has exactly ``expected``
    and a page in 1..10; dlt's 50 requests (5 parents) are 10 per parent."""

    def check(result: Result) -> None:
        assert result.error is None
        calls = result.to(r"/posts/\d+/comments")
        assert len(calls) == 10 * POSTS
        for call in calls:
            query = query_of(call)
            assert set(query) == set(expected) | {"page"}
            assert all(query[key] == values for key, values in expected.items())
            assert 1 <= int(query["page"][0]) <= 10

    return check


def check_per_parent_cursor(expected: dict[str, list[str]]) -> t.Callable[[Result], None]:
    """dlt's assertions (every comments request's query), plus the rows: one cursor per parent keeps
    comments 1..49 of every post, 1,225 rows. dlt 1.31 shares one cursor across parents (dlt-hub/dlt#2429):
    once post 0's comment 49 is seen, later posts' older comments are dropped, and it loads 915 rows of
    this config (run against this mock), losing 310 comments."""
    requests = check_children_query(expected)

    def check(result: Result) -> None:
        requests(result)
        comments = result.rows("post_comments")
        assert len(comments) == 1225
        assert {(r["post_id"], r["id"]) for r in comments} == {(p, i) for p in range(POSTS) for i in range(1, COMMENTS)}

    return check


def check_detail_query(expected: dict[str, list[str]]) -> t.Callable[[Result], None]:
    """test_interpolate_params_in_query_string: one /post_detail request per post, post_id in order."""

    def check(result: Result) -> None:
        assert result.error is None
        calls = by_post(result.to("/post_detail"), lambda call: query_of(call)["post_id"][0])
        assert len(calls) == POSTS
        for index, call in enumerate(calls):
            query = query_of(call)
            assert set(query) == set(expected) | {"post_id"}
            assert query["post_id"] == [str(index)]
            assert all(query[key] == values for key, values in expected.items())

    return check


def check_error(*fragments: str) -> t.Callable[[Result], None]:
    def check(result: Result) -> None:
        assert result.error is not None, "the run was expected to fail"
        for fragment in fragments:
            assert fragment in result.error

    return check


def check_first_five(stream: str, selector: str | None = None) -> t.Callable[[Result], None]:
    """test_posts_under_results_key / test_posts_without_key: res[:5] == posts 0..4."""

    def check(result: Result) -> None:
        assert result.error is None
        assert result.rows(stream)[:5] == posts_rows(5)

    return check


def check_ignored_details(result: Result) -> None:
    """test_response_actions: res[:5] == [detail 0, post 0, post 1, post 2, post 3]: post 0 has
    details, every other post's answer is ignored by the response action."""
    assert result.error is None
    assert result.rows("post_details") == [{"id": 0, "body": "Post body 0"}]
    assert result.rows("posts")[:4] == posts_rows(4)


def check_client_pages(stream: str, pages: int = TOTAL_PAGES) -> t.Callable[[Result], None]:
    """rest_client's assert_pagination: 5 pages of 5 posts, in order (1 page for single_page)."""

    def check(result: Result) -> None:
        assert result.error is None
        assert result.rows(stream) == posts_rows(pages * PAGE_SIZE)

    return check


def check_headers(expected: dict[str, str], requests: int | None = None) -> t.Callable[[Result], None]:
    """test_headers_*: the headers each request of the resource carried."""

    def check(result: Result) -> None:
        assert result.error is None
        calls = result.to("/posts")
        assert len(calls) == (requests or TOTAL_PAGES)
        for call in calls:
            assert call.headers["user-agent"].startswith("tap-restgeneric/")
            for name, value in expected.items():
                assert call.headers[name.lower()] == value

    return check


def check_form_bodies(path: str, expected: t.Callable[[int], dict]) -> t.Callable[[Result], None]:
    """test_dependent_resource_post_data_param and friends: one form body per post, in order."""

    def check(result: Result) -> None:
        assert result.error is None
        calls = by_post(result.to(path), lambda call: parse_qs(call.body.decode())["post_id"][0].split("_")[0])
        assert len(calls) == POSTS
        for index, call in enumerate(calls):
            assert call.headers.get("content-type") == "application/x-www-form-urlencoded"
            assert parse_qs(call.body.decode()) == expected(index)

    return check


def check_data_body(content_type: str | None, body: str | None, error: str | None = None) -> t.Callable[[Result], None]:
    """test_request_data_body: the first request's Content-Type and body (and the run's ``error``)."""

    def check(result: Result) -> None:
        assert result.error == error
        assert result.requests
        first = result.requests[0]
        assert first.headers.get("content-type") == content_type
        assert (first.body.decode() or None) == body

    return check


# ---------------------------------------------------------------- dlt's configs

CHILDREN_BY_RESOLVE = {
    "name": "post_comments",
    "endpoint": {
        "path": "posts/{post_id}/comments",
        "params": {"post_id": {"type": "resolve", "resource": "posts", "field": "id"}},
    },
}
PAGE_NUMBER = {"type": "page_number", "base_page": 1, "total_path": "total_pages"}
INCREMENTAL_1_10 = {"start_param": "since", "end_param": "until", "cursor_path": "id", "initial_value": 1, "end_value": 10}


def single_resource(endpoint: dict) -> dict:
    return {"client": client(paginator=PAGE_NUMBER), "resources": [{"name": "posts", "endpoint": endpoint}]}


def dependent_resource(endpoint: dict) -> dict:
    return {"client": client(paginator=PAGE_NUMBER), "resources": ["posts", {"name": "post_comments", "endpoint": endpoint}]}


def details_resource(endpoint: dict) -> dict:
    return {"client": client(), "resources": ["posts", {"name": "post_details", "endpoint": endpoint}]}


def response_actions_source(path: str, actions: list) -> dict:
    """test_response_actions' make_mock_source_for_response_actions."""
    endpoint = {
        "path": path,
        "params": {"post_id": {"type": "resolve", "resource": "posts", "field": "id"}},
        "response_actions": actions,
    }
    return {"client": client(), "resources": ["posts", {"name": "post_details", "endpoint": endpoint}]}


def resolve(field: str = "id") -> dict:
    return {"type": "resolve", "resource": "posts", "field": field}


CASES: list[Case] = [
    # ---- test_offline.py: test_load_mock_api
    Case(
        "test_load_mock_api[resolve_params_in_path]",
        {
            "client": client(),
            "resources": [
                "posts",
                CHILDREN_BY_RESOLVE,
                {"name": "post_details", "endpoint": {"path": "posts/{post_id}", "params": {"post_id": resolve()}}},
            ],
        },
        check_load_mock_api(),
    ),
    Case(
        "test_load_mock_api[interpolated_params_in_path]",
        {
            "client": client(),
            "resources": [
                "posts",
                {"name": "post_comments", "endpoint": "posts/{resources.posts.id}/comments"},
                {"name": "post_details", "endpoint": "posts/{resources.posts.id}"},
            ],
        },
        check_load_mock_api(),
    ),
    Case(
        "test_load_mock_api[interpolated_params_in_query_string]",
        {
            "client": client(),
            "resources": [
                "posts",
                {"name": "post_comments", "endpoint": {"path": "post_comments", "params": {"post_id": "{resources.posts.id}"}}},
                {"name": "post_details", "endpoint": {"path": "post_detail", "params": {"post_id": "{resources.posts.id}"}}},
            ],
        },
        check_load_mock_api(),
    ),
    Case(
        "test_load_mock_api[interpolated_params_in_json_string]",
        {
            "client": client(),
            "resources": [
                "posts",
                {
                    "name": "post_comments",
                    "endpoint": {"path": "post_comments", "method": "POST", "json": {"post_id": "{resources.posts.id}"}},
                },
                {
                    "name": "post_details",
                    "endpoint": {"path": "post_detail", "method": "POST", "json": {"post_id": "{resources.posts.id}"}},
                },
            ],
        },
        check_load_mock_api(),
    ),
    Case(
        "test_load_mock_api[interpolated_params_in_the_headers]",
        {
            "client": client(),
            "resources": [
                "posts",
                {
                    "name": "post_comments",
                    "endpoint": {"path": "post_comments_via_headers", "headers": {"post_id": "{resources.posts.id}"}},
                },
                {
                    "name": "post_details",
                    "endpoint": {"path": "post_detail_via_headers", "headers": {"post_id": "{resources.posts.id}"}},
                },
            ],
        },
        check_load_mock_api(),
    ),
    # ---- test_single_resource_query_string_params
    Case(
        "test_single_resource_query_string_params[static_params]",
        single_resource({"path": "posts", "params": {"sort": "desc", "locale": "en"}}),
        check_pages("/posts", {"sort": ["desc"], "locale": ["en"]}),
    ),
    Case(
        "test_single_resource_query_string_params[empty_params]",
        single_resource({"path": "posts", "params": {}}),
        check_pages("/posts", {}),
    ),
    Case(
        "test_single_resource_query_string_params[one_empty_param]",
        single_resource({"path": "posts", "params": {"sort": "desc", "locale": ""}}),
        check_pages("/posts", {"sort": ["desc"], "locale": [""]}),
    ),
    Case(
        "test_single_resource_query_string_params[explicit_page_param]",
        single_resource({"path": "posts", "params": {"sort": "desc", "locale": "en", "page": "100"}}),
        check_pages("/posts", {"sort": ["desc"], "locale": ["en"]}),
    ),
    Case(
        "test_single_resource_query_string_params[incremental_in_endpoint]",
        single_resource({"path": "posts", "incremental": INCREMENTAL_1_10}),
        check_pages("/posts", {"since": ["1"], "until": ["10"]}),
    ),
    Case(
        "test_single_resource_query_string_params[incremental_in_endpoint_mixed_with_static]",
        single_resource({"path": "posts", "params": {"sort": "desc", "locale": "en"}, "incremental": INCREMENTAL_1_10}),
        check_pages("/posts", {"sort": ["desc"], "locale": ["en"], "since": ["1"], "until": ["10"]}),
    ),
    Case(
        "test_single_resource_query_string_params[incremental_in_params]",
        single_resource(
            {
                "path": "posts",
                "params": {"sort": "desc", "since": {"type": "incremental", "cursor_path": "id", "initial_value": 1}},
            }
        ),
        check_pages("/posts", {"since": ["1"], "sort": ["desc"]}),
    ),
    Case(
        "test_single_resource_query_string_params[escaped_braces_in_params]",
        single_resource(
            {
                "path": "posts",
                "params": {
                    "sort": "desc",
                    "param_with_braces": "{{not_this}}",
                    "param_with_nested_braces": "{{not_this {{and}} {{not_that}}}}",
                },
            }
        ),
        check_pages(
            "/posts",
            {"sort": ["desc"], "param_with_braces": ["{not_this}"], "param_with_nested_braces": ["{not_this {and} {not_that}}"]},
        ),
    ),
    # ---- test_dependent_resource_query_string_params
    Case(
        "test_dependent_resource_query_string_params[static_params]",
        dependent_resource(
            {"path": "posts/{post_id}/comments", "params": {"post_id": resolve(), "sort": "desc", "locale": "en"}}
        ),
        check_children_query({"sort": ["desc"], "locale": ["en"]}),
    ),
    Case(
        "test_dependent_resource_query_string_params[empty_params]",
        dependent_resource({"path": "posts/{post_id}/comments", "params": {"post_id": resolve()}}),
        check_children_query({}),
    ),
    Case(
        "test_dependent_resource_query_string_params[one_empty_param]",
        dependent_resource({"path": "posts/{post_id}/comments", "params": {"post_id": resolve(), "sort": "desc", "locale": ""}}),
        check_children_query({"sort": ["desc"], "locale": [""]}),
    ),
    Case(
        "test_dependent_resource_query_string_params[explicit_page_param]",
        dependent_resource(
            {"path": "posts/{post_id}/comments", "params": {"post_id": resolve(), "sort": "desc", "locale": "en", "page": "100"}}
        ),
        check_children_query({"sort": ["desc"], "locale": ["en"]}),
    ),
    Case(
        "test_dependent_resource_query_string_params[incremental_in_endpoint]",
        dependent_resource(
            {"path": "posts/{post_id}/comments", "params": {"post_id": resolve()}, "incremental": INCREMENTAL_1_10}
        ),
        check_children_query({"since": ["1"], "until": ["10"]}),
    ),
    Case(
        "test_dependent_resource_query_string_params[incremental_in_endpoint_mixed_with_static]",
        dependent_resource(
            {
                "path": "posts/{post_id}/comments",
                "params": {"post_id": resolve(), "sort": "desc", "locale": "en"},
                "incremental": INCREMENTAL_1_10,
            }
        ),
        check_children_query({"sort": ["desc"], "locale": ["en"], "since": ["1"], "until": ["10"]}),
    ),
    Case(
        "test_dependent_resource_query_string_params[incremental_in_params]",
        dependent_resource(
            {
                "path": "posts/{post_id}/comments",
                "params": {"post_id": resolve(), "since": {"type": "incremental", "cursor_path": "id", "initial_value": 1}},
            }
        ),
        check_per_parent_cursor({"since": ["1"]}),
    ),
    Case(
        "test_dependent_resource_query_string_params[incremental_in_params_with_static]",
        dependent_resource(
            {
                "path": "posts/{post_id}/comments",
                "params": {
                    "post_id": resolve(),
                    "since": {"type": "incremental", "cursor_path": "id", "initial_value": 1},
                    "sort": "desc",
                    "locale": "en",
                },
            }
        ),
        check_per_parent_cursor({"since": ["1"], "sort": ["desc"], "locale": ["en"]}),
    ),
    # ---- test_interpolate_params_in_query_string
    Case(
        "test_interpolate_params_in_query_string[interpolate_param_only]",
        details_resource({"path": "post_detail", "params": {"post_id": "{resources.posts.id}"}}),
        check_detail_query({}),
    ),
    Case(
        "test_interpolate_params_in_query_string[interpolate_param_with_static]",
        details_resource({"path": "post_detail", "params": {"post_id": "{resources.posts.id}", "sort": "desc"}}),
        check_detail_query({"sort": ["desc"]}),
    ),
    Case(
        "test_interpolate_params_in_query_string[one_static_param_is_empty]",
        details_resource({"path": "post_detail", "params": {"post_id": "{resources.posts.id}", "sort": "desc", "locale": ""}}),
        check_detail_query({"sort": ["desc"], "locale": [""]}),
    ),
    Case(
        "test_interpolate_params_in_query_string[escaped_braces_in_params]",
        details_resource(
            {
                "path": "post_detail",
                "params": {"post_id": "{resources.posts.id}", "sort": "desc", "param_with_braces": "{{not_this}}"},
            }
        ),
        check_detail_query({"sort": ["desc"], "param_with_braces": ["{not_this}"]}),
    ),
]


def check_comments_bodies(body: bytes | None) -> t.Callable[[Result], None]:
    """test_request_json_body: dlt's 50 requests (5 parents) are 10 per parent; the first one's body."""

    def check(result: Result) -> None:
        assert result.error is None
        calls = result.to(r"/posts/\d+/comments")
        assert len(calls) == 10 * POSTS
        assert (calls[0].body or None) == body

    return check


def check_search_body(expected: dict) -> t.Callable[[Result], None]:
    """test_json_body_in_top_level_resource: one request, whose JSON body is ``expected``."""

    def check(result: Result) -> None:
        assert result.error is None
        assert len(result.requests) == 1
        assert json.loads(result.requests[0].body) == expected

    return check


def check_search_by_id(result: Result) -> None:
    """test_interpolate_parent_values_in_path_and_json_body."""
    assert result.error is None
    assert len(result.rows("posts")) == POSTS
    details = sorted(result.rows("post_details"), key=lambda r: r["id"])
    assert len(details) == POSTS
    assert [r["body"] for r in details] == [f"Post body {i}" for i in range(25)]
    assert [r["title"] for r in details] == [f"Post {i}" for i in range(25)]
    assert [r["more"] for r in details] == [f"More is equale to id: {i}" for i in range(25)]


def check_object_interpolation(result: Result) -> None:
    """test_incremental_object_interpolation: 5 requests (every page's records are before the start
    value, so all pages are read); the first carries the four incremental values."""
    assert result.error is None
    assert len(result.requests) == TOTAL_PAGES
    assert query_of(result.requests[0]) == {
        "initial_value": ["1600000000"],
        "lag": ["3600"],
        "since": ["1600000000"],
        "until": ["1700000000"],
    }


def check_second_run_empty(result: Result) -> None:
    """test_incremental_implicitly_filters_out_data: the first run loads, the second loads nothing."""
    assert result.error is None
    first, second = result.out.runs  # type: ignore[attr-defined]
    assert first.records("posts")
    assert second.records("posts") == []


def check_detail_headers(result: Result) -> None:
    """test_headers_in_dependent_resource: each /post_detail request carries its post's headers."""
    assert result.error is None
    calls = by_post(result.to("/post_detail"), lambda call: call.headers["x-post-id"])
    assert len(calls) == POSTS
    for index, call in enumerate(calls):
        assert call.headers["user-agent"].startswith("tap-restgeneric/")
        assert call.headers["x-post-id"] == str(index)
        assert call.headers["x-post-title"] == f"Post {index}"
        assert call.headers["x-escaped"] == "{value_escaped}"


def check_incremental_headers(result: Result) -> None:
    """test_headers_with_incremental_values: 5 requests, the first with the incremental values."""
    assert result.error is None
    assert len(result.requests) == TOTAL_PAGES
    headers = result.requests[0].headers
    assert headers["x-initial-value"] == "1600000000"
    assert headers["x-start-value"] == "1600000000"
    assert headers["x-end-value"] == "1700000000"
    assert headers["x-escaped"] == "{not_this}"


def check_client_headers(result: Result) -> None:
    """test_client_headers_are_not_interpolated: client headers are sent as written."""
    assert result.error is None
    headers = result.requests[0].headers
    assert headers["x-static-header"] == "static-value"
    assert headers["x-not-interpolated"] == "{resources.posts.id}"
    assert headers["x-escaped"] == "{{literal_braces}}"


def check_redacted_logs(result: Result) -> None:
    """test_secret_redaction_in_logs_and_errors: the secrets written in params never show in the logs."""
    assert result.error is None
    assert result.rows("protected_resource") == [{"id": 1, "data": "test"}]
    assert "super_secret_key_12345" not in result.out.stderr
    assert "another_secret_token" not in result.out.stderr


def check_redacted_error(result: Result) -> None:
    """test_secret_redaction_in_http_errors: 404 said, params named like credentials masked, the
    others shown, the response body not quoted."""
    assert result.error is not None
    for fragment in ("404", "api_key=***", "access_token=***", "normal_param=public_value"):
        assert fragment in result.error
    for secret in ("secret_api_key_xyz", "secret_token_abc", "Resource not found"):
        assert secret not in result.error
        assert secret not in result.out.stderr


def check_raw_bodies(result: Result) -> None:
    """test_post_data_param_with_raw_data: each body is the post id, with no Content-Type."""
    assert result.error is None
    calls = by_post(result.to("/post_comments_via_form_data"), lambda call: call.body.decode())
    assert len(calls) == POSTS
    for index, call in enumerate(calls):
        assert call.body.decode() == str(index)
        assert call.headers.get("content-type") is None


def check_include_from_parent(result: Result) -> None:
    """test_dependent_resource_parallelized_with_include_from_parent."""
    check_load_mock_api(("post_comments",))(result)
    comments = sorted(result.rows("post_comments"), key=lambda r: (r["_posts_id"], r["id"]))
    assert [r["_posts_id"] for r in comments[:5]] == [0, 0, 0, 0, 0]
    assert [r["_posts_title"] for r in comments[:5]] == ["Post 0"] * 5
    assert {r["_posts_title"] for r in comments if r["_posts_id"] == 3} == {"Post 3"}


def check_child_incremental(result: Result) -> None:
    """test_dependent_resource_parallelized_with_incremental: fewer than 1,250 comments, none before
    id 45. (The tap keeps a cursor per parent: exactly ids 45..49 of each of the 25 posts.)"""
    assert result.error is None
    comments = result.rows("post_comments")
    assert len(comments) < POSTS * COMMENTS
    assert min(r["id"] for r in comments) == 45
    assert len(comments) == POSTS * 5


def check_search_pages(result: Result) -> None:
    """test_source_with_post_request: res[i] == post 51 + i for the first 49 records."""
    assert result.error is None
    rows = result.rows("search_posts")
    assert rows[:49] == [{"id": 51 + i, "title": f"Post {51 + i}"} for i in range(49)]


def check_basic_auth_seen(result: Result) -> None:
    """test_auth_overwrites_for_specific_endpoints: the endpoint's http_basic replaced the client's bearer."""
    assert result.error is None
    expected = "Basic VTpQ"  # base64 of U:P
    assert result.requests
    assert all(r.headers.get("authorization") == expected for r in result.requests)


def check_no_rows(stream: str) -> t.Callable[[Result], None]:
    def check(result: Result) -> None:
        assert result.error is None
        assert result.rows(stream) == []

    return check


SEARCH_JSON_DLT = {
    "initial_value": "{incremental.initial_value}",
    "escaped_braces": "{{not_this}}",
    "nested": {"initial_value": "{incremental.initial_value}", "escaped": "{{not_this_either}}"},
    "array_values": ["{incremental.initial_value}", "{{not_array_either}}"],
}
SEARCH_JSON_EXPECTED = {
    "initial_value": 1,
    "escaped_braces": "{not_this}",
    "nested": {"initial_value": 1, "escaped": "{not_this_either}"},
    "array_values": [1, "{not_array_either}"],
}


def search_source(body: dict) -> dict:
    endpoint = {"path": "posts/search", "method": "POST", "json": body, "incremental": {"cursor_path": "id", "initial_value": 1}}
    return {"client": client(), "resources": [{"name": "posts", "endpoint": endpoint}]}


def search_by_id_source(json_body: dict) -> dict:
    endpoint = {"path": "posts/search_by_id/{resources.posts.id}", "method": "POST", "json": json_body}
    return {"client": client(), "resources": ["posts", {"name": "post_details", "endpoint": endpoint}]}


SEARCH_BY_ID_JSON = {
    "post_id": "{resources.posts.id}",
    "limit": 5,
    "more": {"title": "{resources.posts.title}"},
    "more_array": ["{resources.posts.id}"],
    "escaped_braces": "{{ string in escaped braces }}",
}


def top_level_headers(headers: dict) -> dict:
    return {"client": client(), "resources": [{"name": "posts", "endpoint": {"path": "posts", "headers": headers}}]}


DETAIL_HEADERS_DLT = {
    "X-Static-Header": "test-value",
    "X-Double-Braces-{{Escaped}}": "name-escaped",
    "X-Post-ID": "{resources.posts.id}",
    "X-Post-Title": "{resources.posts.title}",
    "X-Escaped": "{{value_escaped}}",
}


def detail_headers_source(headers: dict) -> dict:
    endpoint = {"path": "post_detail", "params": {"post_id": "{resources.posts.id}"}, "headers": headers}
    return {"client": client(), "resources": ["posts", {"name": "post_details", "endpoint": endpoint}]}


INCREMENTAL_HEADERS_DLT = {
    "X-Initial-Value": "{incremental.initial_value}",
    "X-Start-Value": "{incremental.start_value}",
    "X-End-Value": "{incremental.end_value}",
    "X-Escaped": "{{not_this}}",
}


def incremental_headers_source(headers: dict) -> dict:
    incremental = {"cursor_path": "id", "initial_value": 1600000000, "end_value": 1700000000}
    return {
        "client": client(),
        "resources": [{"name": "posts", "endpoint": {"path": "posts", "headers": headers, "incremental": incremental}}],
    }


def client_headers_source(headers: dict) -> dict:
    return {"client": client(headers=headers), "resources": ["posts"]}


CLIENT_HEADERS_DLT = {
    "X-Static-Header": "static-value",
    "X-Not-Interpolated": "{resources.posts.id}",
    "X-Escaped": "{{literal_braces}}",
}


def data_source(endpoint: dict) -> dict:
    return {"client": client(), "resources": [{"name": "test_data", "endpoint": endpoint}]}


def form_child_source(data: t.Any) -> dict:
    endpoint = {"path": "post_comments_via_form_data", "method": "POST", "data": data, "paginator": "single_page"}
    return {"client": client(), "resources": ["posts", {"name": "post_comments", "endpoint": endpoint}]}


FORM_CHILD_DLT = {"post_id": "{resources.posts.id}", "static_value": "constant", "escaped_braces": "{{not_interpolated}}"}
FORM_INCREMENTAL_DLT = {
    "initial_value": "{incremental.initial_value}",
    "start_value": "{incremental.start_value}",
    "end_value": "{incremental.end_value}",
    "escaped": "{{not_this}}",
}
FORM_TUPLES_DLT = [
    ["post_id", "{resources.posts.id}"],
    ["action", "comment"],
    ["post_id", "{resources.posts.id}_duplicate"],
    ["title", "{resources.posts.title}"],
    ["escaped", "{{literal_braces}}"],
]


def form_incremental_source(data: dict) -> dict:
    endpoint = {
        "path": "/posts_form_data_incremental",
        "method": "POST",
        "data": data,
        "incremental": {"cursor_path": "id", "initial_value": 100, "end_value": 200},
        "paginator": "single_page",
    }
    return {"client": client(), "resources": [{"name": "posts_form_data_incremental", "endpoint": endpoint}]}


def check_form_incremental(result: Result) -> None:
    """test_post_data_param_with_incremental_values: one request, its form body."""
    assert result.error is None
    assert len(result.requests) == 1
    assert result.requests[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert {k: v[0] for k, v in parse_qs(result.requests[0].body.decode()).items()} == {
        "initial_value": "100",
        "start_value": "100",
        "end_value": "200",
        "escaped": "{not_this}",
    }


def parallel_children(**resource: t.Any) -> dict:
    return {
        "client": client(),
        "resources": [
            "posts",
            {
                "name": "post_comments",
                "parallelized": True,
                "endpoint": {"path": "posts/{resources.posts.id}/comments"},
                **resource,
            },
        ],
    }


CASES += [
    # ---- test_request_json_body
    Case(
        "test_request_json_body[no_json_get]",
        {
            "client": client(),
            "resources": ["posts", {"name": "posts_comments", "endpoint": {"path": "posts/{resources.posts.id}/comments"}}],
        },
        check_comments_bodies(None),
    ),
    Case(
        "test_request_json_body[empty_json_get]",
        {
            "client": client(),
            "resources": [
                "posts",
                {
                    "name": "posts_comments",
                    "endpoint": {"path": "posts/{resources.posts.id}/comments", "method": "GET", "json": {}},
                },
            ],
        },
        check_comments_bodies(b"{}"),
    ),
    # ---- config errors, found before any request
    Case(
        "test_raises_error_for_unused_resolve_params",
        {
            "client": client(),
            "resources": ["posts", {"name": "post_details", "endpoint": {"path": "posts", "params": {"post_id": resolve()}}}],
        },
        check_error("resolve parameter 'post_id' is not bound in path 'posts'", "{resources.posts.id}"),
    ),
    Case(
        "test_raises_error_for_incorrect_interpolation[query_params]",
        {
            "client": client(),
            "resources": [
                "posts",
                {"name": "post_detail", "endpoint": {"path": "post_detail", "params": {"post_id": "{unknown.posts.id}"}}},
            ],
        },
        check_error("resources[1].endpoint.params.post_id", "{unknown.posts.id}", "{resources.<parent>.<field>}"),
    ),
    Case(
        "test_raises_error_for_incorrect_interpolation[json_body]",
        {
            "client": client(),
            "resources": [
                "posts",
                {
                    "name": "search_by_id",
                    "endpoint": {
                        "path": "posts/search_by_id/{resources.posts.id}",
                        "method": "POST",
                        "json": {"post_id": "{unknown.posts.id}"},
                    },
                },
            ],
        },
        check_error("resources[1].endpoint.json.post_id", "{unknown.posts.id}"),
    ),
    # ---- test_source_with_post_request: dlt pages it with a paginator class that reads next_page and
    # writes it into the JSON body's "page"; declared here as dlt's own cursor paginator does it.
    Case(
        "test_source_with_post_request",
        {
            "client": client(),
            "resources": [
                {
                    "name": "search_posts",
                    "endpoint": {
                        "path": "/posts/search",
                        "method": "POST",
                        "json": {"ids_greater_than": 50, "page_size": 25, "page_count": 4},
                        "paginator": {"type": "cursor", "cursor_path": "next_page", "cursor_body_path": "page"},
                    },
                }
            ],
        },
        check_search_pages,
    ),
    # ---- test_json_body_in_top_level_resource
    Case(
        "test_json_body_in_top_level_resource[complex_nested_json]",
        search_source(SEARCH_JSON_DLT),
        check_search_body(SEARCH_JSON_EXPECTED),
    ),
    Case("test_json_body_in_top_level_resource[empty_json]", search_source({}), check_search_body({})),
    Case("test_interpolate_parent_values_in_path_and_json_body", search_by_id_source(SEARCH_BY_ID_JSON), check_search_by_id),
    Case(
        "test_unauthorized_access_to_protected_endpoint",
        {"client": client(), "resources": ["/protected/posts/bearer-token-plain-text-error"]},
        check_error("401"),
    ),
    Case(
        "test_posts_under_results_key",
        {
            "client": client(),
            "resources": [
                {
                    "name": "posts",
                    "endpoint": {
                        "path": "posts_under_a_different_key",
                        "data_selector": "many-results",
                        "paginator": "json_link",
                    },
                }
            ],
        },
        check_first_five("posts"),
    ),
    Case(
        "test_posts_without_key",
        {
            "client": client(paginator="header_link"),
            "resources": [{"name": "posts_no_key", "endpoint": {"path": "posts_no_key"}}],
        },
        check_first_five("posts_no_key"),
    ),
    Case(
        "test_load_mock_api_typeddict_config[0]",
        {"client": client(), "resources": ["posts", CHILDREN_BY_RESOLVE]},
        check_load_mock_api(("post_comments",)),
    ),
    Case(
        "test_load_mock_api_typeddict_config[1]",
        {
            "client": client(),
            "resources": ["posts", {"name": "post_comments", "endpoint": {"path": "posts/{resources.posts.id}/comments"}}],
        },
        check_load_mock_api(("post_comments",)),
    ),
    Case(
        "test_incremental_object_interpolation",
        {
            "client": client(),
            "resources": [
                {
                    "name": "posts",
                    "endpoint": {
                        "path": "posts",
                        "params": {
                            "initial_value": "{incremental.initial_value}",
                            "lag": "{incremental.lag}",
                            "since": "{incremental.start_value}",
                            "until": "{incremental.end_value}",
                        },
                        "incremental": {"cursor_path": "id", "initial_value": 1600000000, "end_value": 1700000000, "lag": 3600},
                    },
                }
            ],
        },
        check_object_interpolation,
    ),
    Case(
        "test_incremental_implicitly_filters_out_data",
        {
            "client": client(),
            "resources": [
                {"name": "posts", "endpoint": {"path": "posts", "incremental": {"cursor_path": "id", "initial_value": 1}}}
            ],
        },
        check_second_run_empty,
        runs=2,
    ),
    # ---- headers
    Case(
        "test_headers_in_top_level_resource[basic]",
        top_level_headers({"X-Custom-Header": "test-value", "X-Another-Header": "another-value"}),
        check_headers({"X-Custom-Header": "test-value", "X-Another-Header": "another-value"}),
    ),
    Case(
        "test_headers_in_top_level_resource[empty-header-and-escaped-braces]",
        top_level_headers({"X-Custom-Header": "test-value with {{escaped}} braces", "X-Another-Header": ""}),
        check_headers({"X-Custom-Header": "test-value with {escaped} braces", "X-Another-Header": ""}),
    ),
    Case(
        "test_headers_in_top_level_resource[braces-in-header-name]",
        top_level_headers({"X-Double-Braces-{{escaped}}": "test-value"}),
        check_headers({"X-Double-Braces-{escaped}": "test-value"}),
    ),
    Case("test_headers_in_dependent_resource", detail_headers_source(DETAIL_HEADERS_DLT), check_detail_headers),
    Case("test_headers_with_incremental_values", incremental_headers_source(INCREMENTAL_HEADERS_DLT), check_incremental_headers),
    Case("test_client_headers_are_not_interpolated", client_headers_source(CLIENT_HEADERS_DLT), check_client_headers),
    # ---- redaction of credentials written in params
    Case(
        "test_secret_redaction_in_logs_and_errors",
        {
            "client": client(),
            "resources": [
                {
                    "name": "protected_resource",
                    "endpoint": {
                        "path": "data",
                        "params": {
                            "api_key": "super_secret_key_12345",
                            "token": "another_secret_token",
                            "public_param": "visible_value",
                        },
                    },
                }
            ],
        },
        check_redacted_logs,
    ),
    Case(
        "test_secret_redaction_in_http_errors",
        {
            "client": client(),
            "resources": [
                {
                    "name": "error_resource",
                    "endpoint": {
                        "path": "missing",
                        "params": {
                            "api_key": "secret_api_key_xyz",
                            "access_token": "secret_token_abc",
                            "normal_param": "public_value",
                        },
                    },
                }
            ],
        },
        check_redacted_error,
    ),
    # ---- test_request_data_body
    Case(
        "test_request_data_body[empty_data_dict]",
        data_source({"path": "post_form_data", "method": "POST", "data": {}}),
        check_data_body(None, None),
    ),
    Case(
        "test_request_data_body[data_as_dict]",
        data_source({"path": "post_form_data", "method": "POST", "data": {"key1": "value1", "key2": "value2"}}),
        check_data_body("application/x-www-form-urlencoded", "key1=value1&key2=value2"),
    ),
    Case(
        "test_request_data_body[data_as_list_of_tuples]",
        data_source(
            {
                "path": "post_form_data",
                "method": "POST",
                "data": [["key1", "value1"], ["key2", "value2"], ["key1", "another_value"]],
            }
        ),
        check_data_body("application/x-www-form-urlencoded", "key1=value1&key2=value2&key1=another_value"),
    ),
    Case(
        "test_request_data_body[data_as_string]",
        data_source({"path": "post_raw_data", "method": "POST", "data": "raw string data"}),
        check_data_body(None, "raw string data"),
    ),
    Case(
        "test_request_data_body[no_data_post]",
        data_source({"path": "post_form_data", "method": "POST"}),
        check_data_body(None, None),
    ),
    Case(
        "test_data_and_json_mutual_exclusivity",
        data_source(
            {"path": "posts/search", "method": "POST", "json": {"search_term": "test"}, "data": {"should_be_ignored": "yes"}}
        ),
        check_error("resources[0].endpoint", "json", "data", "not both"),
    ),
    Case(
        "test_dependent_resource_post_data_param",
        form_child_source(FORM_CHILD_DLT),
        check_form_bodies(
            "/post_comments_via_form_data",
            lambda i: {"post_id": [str(i)], "static_value": ["constant"], "escaped_braces": ["{not_interpolated}"]},
        ),
    ),
    Case("test_post_data_param_with_incremental_values", form_incremental_source(FORM_INCREMENTAL_DLT), check_form_incremental),
    Case("test_post_data_param_with_raw_data", form_child_source("{resources.posts.id}"), check_raw_bodies),
    Case(
        "test_post_data_param_with_list_of_tuples",
        form_child_source(FORM_TUPLES_DLT),
        check_form_bodies(
            "/post_comments_via_form_data",
            lambda i: {
                "post_id": [str(i), f"{i}_duplicate"],
                "action": ["comment"],
                "title": [f"Post {i}"],
                "escaped": ["{literal_braces}"],
            },
        ),
    ),
    # ---- children
    Case(
        "test_dependent_resource_paginated_child",
        {
            "client": client(),
            "resources": [
                "posts",
                {"name": "post_comments", "endpoint": {"path": "posts/{resources.posts.id}/comments", "paginator": PAGE_NUMBER}},
            ],
        },
        check_load_mock_api(("post_comments",)),
    ),
    Case("test_dependent_resource_parallelized", parallel_children(), check_load_mock_api(("post_comments",))),
    Case(
        "test_dependent_resource_parallelized_with_include_from_parent",
        parallel_children(include_from_parent=["id", "title"]),
        check_include_from_parent,
    ),
    Case(
        "test_dependent_resource_parallelized_with_incremental",
        {
            "client": client(paginator=PAGE_NUMBER),
            "resources": [
                "posts",
                {
                    "name": "post_comments",
                    "parallelized": True,
                    "endpoint": {
                        "path": "posts/{resources.posts.id}/comments",
                        "incremental": {"start_param": "since", "cursor_path": "id", "initial_value": 45},
                    },
                },
            ],
        },
        check_child_incremental,
    ),
    # ---- test_response_actions.py
    Case(
        "test_ignoring_endpoint_returning_404",
        response_actions_source("posts/{post_id}/some_details_404", [{"status_code": 404, "action": "ignore"}]),
        check_ignored_details,
    ),
    Case(
        "test_ignoring_endpoint_returning_404_others_422[422 first]",
        response_actions_source(
            "posts/{post_id}/some_details_404_others_422",
            [{"status_code": 422, "action": "ignore"}, {"status_code": 404, "action": "ignore"}],
        ),
        check_ignored_details,
    ),
    Case(
        "test_ignoring_endpoint_returning_404_others_422[404 first]",
        response_actions_source(
            "posts/{post_id}/some_details_404_others_422",
            [{"status_code": 404, "action": "ignore"}, {"status_code": 422, "action": "ignore"}],
        ),
        check_ignored_details,
    ),
    Case(
        "test_response_action_ignore_on_content",
        {
            "client": client(),
            "resources": [
                {
                    "name": "post_details",
                    "endpoint": {
                        "path": "posts/0/some_details_404",
                        "response_actions": [{"content": "Post body 0", "action": "ignore"}],
                    },
                }
            ],
        },
        check_no_rows("post_details"),
    ),
    Case(
        "test_ignoring_endpoint_returning_204",
        response_actions_source("posts/{post_id}/some_details_204", [{"status_code": 204, "action": "ignore"}]),
        check_ignored_details,
    ),
    Case(
        "test_empty_response_actions_raise_on_404_by_default",
        {"client": client(), "resources": [{"name": "post_details", "endpoint": {"path": "posts/1/some_details_404"}}]},
        check_error("404"),
    ),
    Case(
        "test_non_empty_response_actions_raise_on_error_by_default",
        response_actions_source("posts/{post_id}/some_details_404_others_422", [{"status_code": 404, "action": "ignore"}]),
        check_error("422"),
    ),
    Case(
        "test_auth_overwrites_for_specific_endpoints",
        {
            "client": client(auth={"type": "bearer", "token": "T"}),
            "resources": [{"name": "posts", "endpoint": {"auth": {"type": "http_basic", "username": "U", "password": "P"}}}],
        },
        check_basic_auth_seen,
    ),
]


def paginated(path: str, paginator: dict | str, **endpoint: t.Any) -> dict:
    """rest_client's ``client.paginate(path, paginator=…)`` as a resource."""
    return {"client": client(), "resources": [{"name": "pages", "endpoint": {"path": path, "paginator": paginator, **endpoint}}]}


# ---- tests/sources/helpers/rest_client/test_paginators.py: each test_client_pagination* case
CASES += [
    Case(
        "TestHeaderLinkPaginator::test_client_pagination",
        paginated("/posts_header_link", {"type": "header_link"}),
        check_client_pages("pages"),
    ),
    Case(
        "TestJSONLinkPaginator::test_client_pagination",
        paginated("/posts", {"type": "json_link", "next_url_path": "next_page"}),
        check_client_pages("pages"),
    ),
    Case(
        "TestSinglePagePaginator::test_client_pagination",
        paginated("/posts", {"type": "single_page"}),
        check_client_pages("pages", 1),
    ),
    Case(
        "TestOffsetPaginator::test_client_pagination",
        paginated("/posts_offset_limit", {"type": "offset", "offset": 0, "limit": 5, "total_path": "total_records"}),
        check_client_pages("pages"),
    ),
    Case(
        "TestOffsetPaginator::test_client_pagination_with_json",
        paginated(
            "/posts_offset_limit_via_json_body",
            {
                "type": "offset",
                "offset": 0,
                "limit": 5,
                "offset_body_path": "offset",
                "limit_body_path": "limit",
                "total_path": "total_records",
            },
            method="POST",
            json={"limit": 5, "offset": 0, "ids_greater_than": -1},
        ),
        check_client_pages("pages"),
    ),
    Case(
        "TestPageNumberPaginator::test_client_pagination_one_based",
        paginated("/posts", {"type": "page_number", "base_page": 1, "page": 1, "total_path": "total_pages"}),
        check_client_pages("pages"),
    ),
    Case(
        "TestPageNumberPaginator::test_client_pagination_one_based_default_page",
        paginated("/posts", {"type": "page_number", "base_page": 1, "total_path": "total_pages"}),
        check_client_pages("pages"),
    ),
    Case(
        "TestPageNumberPaginator::test_client_pagination_zero_based",
        paginated("/posts_zero_based", {"type": "page_number", "base_page": 0, "page": 0, "total_path": "total_pages"}),
        check_client_pages("pages"),
    ),
    Case(
        "TestPageNumberPaginator::test_client_pagination_with_json",
        paginated(
            "/posts/search",
            {"type": "page_number", "base_page": 1, "page_body_path": "page", "total_path": "total_pages"},
            method="POST",
            json={"page_size": 5, "page": 1, "ids_greater_than": -1},
        ),
        check_client_pages("pages"),
    ),
    Case(
        "TestJSONResponseCursorPaginator::test_client_pagination_with_param",
        paginated("/posts_cursor", {"type": "cursor", "cursor_path": "next_cursor"}),
        check_client_pages("pages"),
    ),
    Case(
        "TestJSONResponseCursorPaginator::test_client_pagination_with_json",
        paginated(
            "/posts/search",
            {"type": "cursor", "cursor_path": "next_page", "cursor_body_path": "page"},
            method="POST",
            json={"ids_greater_than": -1, "page_size": 5, "page_count": 5},
        ),
        check_client_pages("pages"),
    ),
    Case(
        "TestHeaderCursorPaginator::test_client_pagination",
        paginated("/posts_header_cursor", {"type": "header_cursor", "cursor_key": "cursor", "cursor_param": "page"}),
        check_client_pages("pages"),
    ),
]


# ---------------------------------------------------------------- the differences


@dataclasses.dataclass
class Difference:
    """A case where the tap differs from dlt on purpose: ``reason``; ``as_written`` asserts what the
    tap does with dlt's config; ``tap_source``, when given, is dlt's case in the tap's spelling, which
    must pass dlt's check."""

    reason: str
    as_written: t.Callable[[Result], None]
    tap_source: dict | None = None


BRACES = (
    "dlt's '{{x}}' is str.format's escape for the literal text '{x}'; in the tap '{{ … }}' is a Jinja "
    "expression (one template language for the whole config, which the presets need), so a literal brace "
    "is written {{ '{x}' }} (README: Templates), and a header name is sent as written"
)


def tap_spelling(value: t.Any) -> t.Any:
    """dlt's config with each '{{…}}' escape written the tap's way: a value's literal braces as a
    Jinja string literal, a key's (header names are not templates) as the literal text."""
    if isinstance(value, dict):
        return {_literal(k) if isinstance(k, str) else k: tap_spelling(v) for k, v in value.items()}
    if isinstance(value, list):
        return [tap_spelling(v) for v in value]
    if not isinstance(value, str) or "{{" not in value:
        return value
    parts = []
    for literal, field, _, _ in string.Formatter().parse(value):
        assert field is None, "a value mixing dlt's escapes and placeholders"
        parts.append(f"{{{{ {literal!r} }}}}" if "{" in literal or "}" in literal else literal)
    return "".join(parts)


def _literal(text: str) -> str:
    return "".join(
        literal + (f"{{{field}}}" if field is not None else "") for literal, field, _, _ in string.Formatter().parse(text)
    )


def brace_error(*fragments: str) -> t.Callable[[Result], None]:
    """dlt's escape read as Jinja: a config error at the key, before any request."""

    def check(result: Result) -> None:
        check_error(*fragments)(result)
        assert result.requests == []

    return check


def brace_difference(case_id: str, *fragments: str) -> tuple[str, Difference]:
    case = next(c for c in CASES if c.dlt_test == case_id)
    return case_id, Difference(BRACES, brace_error(*fragments), tap_spelling(case.source))


def check_header_name_as_written(result: Result) -> None:
    assert result.error is None
    assert all(call.headers["x-double-braces-{{escaped}}"] == "test-value" for call in result.requests)


def check_boundary_record_again(result: Result) -> None:
    assert result.error is None
    first, second = result.out.runs  # type: ignore[attr-defined]
    assert first.records("posts") == posts_rows()[1:]
    assert second.records("posts") == [{"id": 24, "title": "Post 24"}]


def check_error_without_query(result: Result) -> None:
    assert result.error is not None
    assert result.error == f"stream 'error_resource': HTTP 404 Not Found from {result.base_url}/missing: Resource not found"
    for secret in ("secret_api_key_xyz", "secret_token_abc"):
        assert secret not in result.out.stderr


ERROR_AS_DATA = "stream 'test_data': the response is an error, not data (HTTP 200) from {}/post_form_data: "
DIFFERENCES: dict[str, Difference] = dict(
    [
        brace_difference("test_single_resource_query_string_params[escaped_braces_in_params]", "endpoint.params.param_with"),
        brace_difference(
            "test_interpolate_params_in_query_string[escaped_braces_in_params]", "endpoint.params.param_with_braces"
        ),
        brace_difference("test_json_body_in_top_level_resource[complex_nested_json]", "endpoint.json"),
        brace_difference("test_interpolate_parent_values_in_path_and_json_body", "endpoint.json.escaped_braces"),
        brace_difference(
            "test_headers_in_top_level_resource[empty-header-and-escaped-braces]", "endpoint.headers.X-Custom-Header"
        ),
        brace_difference("test_headers_in_dependent_resource", "endpoint.headers.X-Escaped"),
        brace_difference("test_headers_with_incremental_values", "endpoint.headers.X-Escaped"),
        brace_difference("test_dependent_resource_post_data_param", "endpoint.data.escaped_braces"),
        brace_difference("test_post_data_param_with_incremental_values", "endpoint.data.escaped"),
        brace_difference("test_post_data_param_with_list_of_tuples", "endpoint.data[4][1]"),
    ]
)
DIFFERENCES["test_headers_in_top_level_resource[braces-in-header-name]"] = Difference(
    BRACES,
    check_header_name_as_written,
    tap_spelling(next(c for c in CASES if c.dlt_test == "test_headers_in_top_level_resource[braces-in-header-name]").source),
)
# dlt formats no client header, so its '{{literal_braces}}' is sent with both braces.
DIFFERENCES["test_client_headers_are_not_interpolated"] = Difference(
    BRACES,
    brace_error("client.headers.X-Escaped"),
    client_headers_source({**CLIENT_HEADERS_DLT, "X-Escaped": "{{ '{{literal_braces}}' }}"}),
)
DIFFERENCES["test_incremental_implicitly_filters_out_data"] = Difference(
    "the record at the bookmark is sent again by the next run (Singer's at-least-once rule: records that share "
    "the bookmark's cursor value may arrive after a run; targets merge by key); dlt keeps hashes of those "
    "records in its state to drop them",
    check_boundary_record_again,
)
DIFFERENCES["test_secret_redaction_in_http_errors"] = Difference(
    "an HTTP error names the URL without its query string, so a credential in a parameter never shows, "
    "and quotes the start of the API's answer (what a user needs to act on); dlt shows the query with "
    "parameters named like credentials masked, and no body",
    check_error_without_query,
)
for _case in ("test_request_data_body[empty_data_dict]", "test_request_data_body[no_data_post]"):
    DIFFERENCES[_case] = Difference(
        "the mock answers this request with HTTP 200 and an 'error' key; with no data_selector the tap takes "
        "that for an error, not a record (README: Data selector); the request is dlt's",
        lambda result: check_data_body(
            None, None, ERROR_AS_DATA.format(result.base_url) + '{"error":"Unsupported content type: None","data":""}'
        )(result),
    )


def test_every_difference_names_a_ported_case() -> None:
    assert set(DIFFERENCES) <= {case.dlt_test for case in CASES}
    assert len(CASES) == 83
    assert len(DIFFERENCES) == 16


# ---------------------------------------------------------------- running them


@pytest.fixture(scope="module")
def dlt_api() -> t.Iterator[DltMockAPI]:
    api = DltMockAPI()
    yield api
    api.close()


def on_mock(source: dict, base_url: str) -> dict:
    return json.loads(json.dumps(source).replace(MOCK_BASE_URL, base_url))


def run(api: DltMockAPI, source: dict, runs: int = 1) -> Result:
    """Discover (the tap samples the API for schemas), then sync with that catalog, ``runs`` times,
    each from the STATE the last one ended with; the requests are the syncs'."""
    config = {"source": on_mock(source, api.base_url)}
    outputs: list[Output] = []
    error = None
    state: dict | None = None
    api.clear()
    try:
        catalog = TapRestGeneric(config=config, parse_env_config=False).catalog_dict
        api.clear()
        for _ in range(runs):
            outputs.append(sync(config, state=state, catalog=catalog))
            state = outputs[-1].states[-1] if outputs[-1].states else state
    except Exception as exc:
        error = " ".join(str(exc).split())
    out = Output([m for o in outputs for m in o.messages])
    out.runs = outputs  # type: ignore[attr-defined]
    return Result(out, list(api.requests), error, api.base_url)


@pytest.mark.parametrize("case", CASES, ids=[c.dlt_test for c in CASES])
def test_dlt_case(dlt_api: DltMockAPI, case: Case) -> None:
    difference = DIFFERENCES.get(case.dlt_test)
    if difference is None:
        case.check(run(dlt_api, case.source, case.runs))
        return
    difference.as_written(run(dlt_api, case.source, case.runs))
    if difference.tap_source is not None:
        case.check(run(dlt_api, difference.tap_source, case.runs))
