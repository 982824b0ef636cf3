"""A loopback server shaped like the mock API of dlt's own rest_api tests.

Written for this repository from the description of dlt's ``tests/sources/rest_api/conftest.py``
and ``tests/sources/helpers/rest_client/paginators.py`` (dlt-hub/dlt at commit
58d66fceef2bf6e04a2d1b3cb52dd8134dfb65bc): the same routes, response shapes, page sizes and edge
cases, so that the configs of dlt's tests can run against the tap unchanged (only ``base_url``
differs). 25 posts, 5 a page (5 pages, 1-based unless said); 50 comments per post; offset pages
default to 10 records, cursor pages to 5.

One deliberate difference: dlt's routes are regular expressions over the whole URL and a few of them
(``/posts_under_a_different_key``, ``/posts_no_key``) match no query string, which only works there
because those tests read one page (``add_limit(1)``). Here every route takes any query string.
"""

# ruff: noqa: ARG002, ARG004 - every route handler takes (request, match), whether it reads them or not

from __future__ import annotations

import base64
import json
import re
import socket
import typing as t
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.listeners import Listener, Reply, Request

PAGE_SIZE = 5
TOTAL_PAGES = 5
OFFSET_LIMIT = 10
COMMENTS = 50


def posts(count: int = PAGE_SIZE * TOTAL_PAGES) -> list[dict]:
    return [{"id": i, "title": f"Post {i}"} for i in range(count)]


def posts_with_reactions(count: int = PAGE_SIZE * TOTAL_PAGES, reactions: int = 5) -> list[dict]:
    return [
        {"id": i, "title": f"Post {i}", "reactions": [{"id": j, "title": f"Reaction {j} for post {i}"} for j in range(reactions)]}
        for i in range(count)
    ]


def comments(post_id: int, count: int = COMMENTS) -> list[dict]:
    return [{"id": i, "post_id": post_id, "body": f"Comment {i} for post {post_id}"} for i in range(count)]


def detail(post_id: int) -> dict:
    return {"id": post_id, "body": f"Post body {post_id}"}


def _first(query: dict[str, list[str]], key: str, default: t.Any) -> t.Any:
    return query.get(key, [default])[0]


class _NoDelayListener(Listener):
    """A Listener whose replies go out at once: it writes a reply's head and body separately, and
    with Nagle's algorithm on, the client's delayed ACK holds each body ~40 ms (a thousand requests
    a case)."""

    def _connection(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super()._connection(conn)


class DltMockAPI:
    """``respond(request)`` for a ``Listener``: the routes of dlt's test API. ``base_url`` is
    where the listener serves; every request it answered is in ``requests``."""

    def __init__(self) -> None:
        self.listener = _NoDelayListener(respond=self.respond)
        self.base_url = self.listener.url()
        self.routes: list[tuple[str, re.Pattern[str], t.Callable[[Request, re.Match[str]], Reply | t.Any]]] = []
        self._register()

    @property
    def requests(self) -> list[Request]:
        return self.listener.requests

    def clear(self) -> None:
        self.listener.requests.clear()

    def close(self) -> None:
        self.listener.close()

    def respond(self, request: Request) -> Reply:
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(request.path)
            if method == request.method and match:
                result = handler(request, match)
                return result if isinstance(result, Reply) else Reply(200, result)
        return Reply(404, {"error": f"no route for {request.method} {request.path}"})

    def route(self, method: str, pattern: str, handler: t.Callable[[Request, re.Match[str]], t.Any]) -> None:
        self.routes.append((method, re.compile(pattern), handler))

    # ------------------------------------------------------------ paging as dlt's mock pages

    def _page_number_body(
        self, request: Request, records: list, key: str | None = "data", absolute: bool = True, base: int = 1
    ) -> dict:
        """One page of ``records`` by ``?page=`` (``base`` is the first page's number): the records
        under ``key``, ``page``, ``total_pages``, and ``next_page`` (a URL keeping only ``page``)
        on every page but the last."""
        page = int(_first(request.query, "page", base))
        total = -(-len(records) // PAGE_SIZE)
        start = (page - base) * PAGE_SIZE
        body: dict[str, t.Any] = {
            "null" if key is None else key: records[start : start + PAGE_SIZE],
            "page": page,
            "total_pages": total,
        }
        if page + 1 < total + base:
            body["next_page"] = self._next_url(request, {"page": page + 1}, absolute)
        return body

    def _next_url(self, request: Request, params: dict, absolute: bool) -> str:
        path = f"{request.path}?{urlencode(params)}"
        return f"{self.base_url}{path}" if absolute else path

    @staticmethod
    def _slice(records: list, start: int, count: int) -> list:
        return records[start : start + count]

    # ------------------------------------------------------------ the routes

    def _register(self) -> None:
        page = self._page_number_body
        self.route("GET", r"/posts_no_key", lambda r, m: page(r, posts(), key=None))
        self.route("GET", r"/posts", lambda r, m: page(r, posts()))
        self.route("GET", r"/posts_zero_based", lambda r, m: page(r, posts(), base=0))
        self.route("GET", r"/posts_header_link", self._header_link)
        self.route("GET", r"/posts_header_cursor", self._header_cursor)
        self.route("GET", r"/posts_relative_next_url", lambda r, m: page(r, posts(), absolute=False))
        self.route("GET", r"/posts_offset_limit", lambda r, m: self._offset(r.query, single=True))
        self.route("POST", r"/posts_offset_limit_via_json_body", lambda r, m: self._offset(json.loads(r.body)))
        self.route("GET", r"/posts_cursor", self._cursor)
        self.route("GET", r"/posts/(\d+)/comments", lambda r, m: page(r, comments(int(m[1]))))
        self.route("GET", r"/post_comments", lambda r, m: page(r, comments(int(_first(r.query, "post_id", 0)))))
        self.route("GET", r"/post_comments_via_headers", lambda r, m: page(r, comments(int(r.headers["post_id"]))))
        self.route("POST", r"/post_comments", lambda r, m: page(r, comments(int(json.loads(r.body).get("post_id", 0)))))
        self.route("POST", r"/post_comments_via_form_data", self._comments_via_form)
        self.route("GET", r"/posts/(\d+)", lambda r, m: detail(int(m[1])))
        self.route("GET", r"/post_detail", lambda r, m: detail(int(_first(r.query, "post_id", 0))))
        self.route("GET", r"/post_detail_via_headers", lambda r, m: detail(int(r.headers["post_id"])))
        self.route("POST", r"/post_detail", lambda r, m: detail(int(json.loads(r.body).get("post_id", 0))))
        self.route("GET", r"/posts/(\d+)/some_details_404", self._details_404)
        self.route("GET", r"/posts/(\d+)/some_details_404_others_422", self._details_404_422)
        self.route("GET", r"/posts/(\d+)/some_details_204", self._details_204)
        self.route("GET", r"/posts_under_a_different_key", lambda r, m: page(r, posts(), key="many-results"))
        self.route("POST", r"/posts/search", self._search)
        self.route("POST", r"/posts/search_by_id/(\d+)", self._search_by_id)
        self.route("GET", r"/protected/posts/basic-auth", self._protected("Basic " + base64.b64encode(b"user:password").decode()))
        self.route("GET", r"/protected/posts/bearer-token", self._protected("Bearer test-token"))
        self.route("GET", r"/protected/posts/bearer-token-plain-text-error", self._protected("Bearer test-token", plain=True))
        self.route("GET", r"/protected/posts/api-key", self._protected_api_key)
        self.route("POST", r"/oauth/token", lambda r, m: self._token(r, 3600))
        self.route("POST", r"/oauth/token-expires-now", lambda r, m: self._token(r, 0))
        self.route("GET", r"/posts_cursor_null_terminated", self._cursor_null_terminated)
        self.route("POST", r"/post_form_data", self._form_data)
        self.route("POST", r"/post_raw_data", lambda r, m: {"data": r.body.decode()})
        self.route("POST", r"/posts_form_data_incremental", lambda r, m: page(r, posts()))
        self.route("GET", r"/posts_with_reactions", lambda r, m: page(r, posts_with_reactions()))
        # Registered by single tests of dlt's suite (the redaction tests).
        self.route("GET", r"/data", lambda r, m: [{"id": 1, "data": "test"}])
        self.route("GET", r"/missing", lambda r, m: Reply(404, b"Resource not found", {"Content-Type": "text/plain"}))

    def _header_link(self, request: Request, match: re.Match[str]) -> Reply:
        number = int(_first(request.query, "page", 1))
        records = posts()
        headers = {}
        if number + 1 < -(-len(records) // PAGE_SIZE) + 1:
            headers["Link"] = f'<{self._next_url(request, {"page": number + 1}, absolute=True)}>; rel="next"'
        return Reply(200, self._slice(records, (number - 1) * PAGE_SIZE, PAGE_SIZE), headers)

    def _header_cursor(self, request: Request, match: re.Match[str]) -> Reply:
        number = int(_first(request.query, "page", 1))
        records = posts()
        headers = {"cursor": str(number + 1)} if number < TOTAL_PAGES else {}
        return Reply(200, self._slice(records, (number - 1) * PAGE_SIZE, PAGE_SIZE), headers)

    def _offset(self, values: dict, single: bool = False) -> dict:
        get = (lambda k, d: _first(values, k, d)) if single else values.get
        offset, limit = int(get("offset", 0)), int(get("limit", OFFSET_LIMIT))
        records = posts()
        return {"data": self._slice(records, offset, limit), "total_records": len(records), "offset": offset, "limit": limit}

    def _cursor(self, request: Request, match: re.Match[str]) -> dict:
        cursor = int(_first(request.query, "cursor", 0))
        records = posts()
        following = cursor + PAGE_SIZE
        return {"data": self._slice(records, cursor, PAGE_SIZE), "next_cursor": following if following < len(records) else None}

    def _comments_via_form(self, request: Request, match: re.Match[str]) -> Reply | dict:
        content_type = request.headers.get("content-type")
        text = request.body.decode()
        if content_type and content_type.lower() == "application/x-www-form-urlencoded":
            post_id = int(parse_qs(text).get("post_id", ["0"])[0]) if text else 0
        elif not content_type:
            post_id = int(text)  # the raw-body case: the body is the post id
        else:
            return Reply(500, {"error": f"Unsupported content type: {content_type}"})
        return self._page_number_body(request, comments(post_id))

    @staticmethod
    def _details_404(request: Request, match: re.Match[str]) -> Reply | dict:
        post_id = int(match[1])
        return detail(post_id) if post_id < 1 else Reply(404, {"error": f"Post with id {post_id} not found"})

    @staticmethod
    def _details_404_422(request: Request, match: re.Match[str]) -> Reply | dict:
        post_id = int(match[1])
        if post_id < 1:
            return detail(post_id)
        if post_id == 1:
            return Reply(404, {"error": f"Post with id {post_id} not found"})
        return Reply(422, b"")

    @staticmethod
    def _details_204(request: Request, match: re.Match[str]) -> Reply | dict:
        post_id = int(match[1])
        return detail(post_id) if post_id < 1 else Reply(204, b"")

    @staticmethod
    def _search(request: Request, match: re.Match[str]) -> dict:
        body = json.loads(request.body or b"{}")
        size, count, number = body.get("page_size", PAGE_SIZE), body.get("page_count", TOTAL_PAGES), body.get("page", 1)
        records = [r for r in posts(size * count) if r["id"] > body.get("ids_greater_than", 0)]
        total = -(-len(records) // size)
        return {
            "data": records[(number - 1) * size : number * size],
            "next_page": number + 1 if number < total else None,
            "total_pages": count,
        }

    @staticmethod
    def _search_by_id(request: Request, match: re.Match[str]) -> dict:
        body = json.loads(request.body)
        post_id = body.get("post_id", 0)
        return {
            "id": int(post_id),
            "title": body.get("more", {}).get("title", 0),
            "body": f"Post body {post_id}",
            "more": f"More is equale to id: {body.get('more_array', [])[0]}",
        }

    def _protected(self, expected: str, plain: bool = False) -> t.Callable[[Request, re.Match[str]], t.Any]:
        def handler(request: Request, match: re.Match[str]) -> t.Any:
            if request.headers.get("authorization") == expected:
                return self._page_number_body(request, posts())
            return Reply(401, b"Unauthorized" if plain else {"error": "Unauthorized"})

        return handler

    def _protected_api_key(self, request: Request, match: re.Match[str]) -> t.Any:
        if request.headers.get("x-api-key") == "test-api-key":
            return self._page_number_body(request, posts())
        return Reply(401, {"error": "Unauthorized"})

    @staticmethod
    def _token(request: Request, expires_in: int) -> Reply | dict:
        form = parse_qs(request.body.decode())
        grant = form.get("grant_type", [""])[0]
        allowed = "jwt-bearer" in grant or (
            "client_credentials" in grant
            and form.get("client_secret") == ["test-client-secret"]
            and form.get("client_id") == ["test-client-id"]
        )
        return {"access_token": "test-token", "expires_in": expires_in} if allowed else Reply(401, {"error": "Unauthorized"})

    @staticmethod
    def _cursor_null_terminated(request: Request, match: re.Match[str]) -> dict:
        cursor = _first(request.query, "cursor", None)
        if cursor is None:
            return {"users": [{"id": i, "name": f"User {i}"} for i in range(10)], "next_token": "cursor_page_2"}
        if cursor == "cursor_page_2":
            return {"users": [{"id": i, "name": f"User {i}"} for i in range(10, 14)], "next_token": "cursor_final"}
        return {"users": None, "next_token": None}

    @staticmethod
    def _form_data(request: Request, match: re.Match[str]) -> dict:
        content_type = request.headers.get("content-type")
        if content_type == "application/x-www-form-urlencoded":
            return {"data": parse_qs(request.body.decode())}
        return {"error": f"Unsupported content type: {content_type}", "data": request.body.decode()}


def query_of(request: Request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.target).query, keep_blank_values=True)
