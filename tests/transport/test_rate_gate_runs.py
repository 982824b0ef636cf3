"""Rate budgets through the tap and its CLI: an API that answers 429 when called at remaining 0 sees none, in each
header form; a wait longer than max_wait stops the stream with one line and its STATE; a fixed budget of the config
governs the requests it matches and no other."""

from __future__ import annotations

import json
import math
import threading
import time

import pytest
from werkzeug import Request, Response

from tests.support import CANARY, run_cli, sync

SCHEMA = {"properties": {"id": {"type": "integer"}, "updated": {"type": "integer"}}}


class RateLimitedApi:
    """``window`` calls per second across every path, counted by the server: a call at remaining 0 before the
    reset gets a 429. Pages of one record each (``?page=N``, 3 pages), linked by ``next``. The budget is told in
    the header ``form``; ``too_many`` counts the 429s."""

    def __init__(self, form: str, window: int = 2) -> None:
        self.form = form
        self.window = window
        self.remaining = window
        self.reset_at = 0.0
        self.too_many = 0
        self.served: list[str] = []
        self.lock = threading.Lock()

    def headers(self, now: float) -> dict[str, str]:
        if self.form == "none":
            return {}
        seconds = str(max(1, math.ceil(self.reset_at - now)))
        if self.form == "x_seconds":
            return {"X-RateLimit-Remaining": str(self.remaining), "X-RateLimit-Reset": seconds}
        if self.form == "x_epoch":
            return {"X-RateLimit-Remaining": str(self.remaining), "X-RateLimit-Reset": str(math.ceil(self.reset_at))}
        if self.form == "ietf_fields":  # the CDK reads this reset (seconds) as an epoch in 1970, and never waits
            return {"RateLimit-Remaining": str(self.remaining), "RateLimit-Reset": seconds}
        return {"RateLimit": f'"default";r={self.remaining};t={seconds}', "RateLimit-Policy": f'"default";q={self.window};w=1'}

    def __call__(self, request: Request) -> Response:
        with self.lock:
            now = time.time()
            if now >= self.reset_at:
                self.remaining, self.reset_at = self.window, now + 1
            if self.remaining == 0:
                self.too_many += 1
                return Response("slow down", 429, headers=self.headers(now))
            self.remaining -= 1
            page = int(request.args.get("page", 1))
            self.served.append(f"{request.path}?page={page}")
            body = {"data": [{"id": page, "updated": page}], "next": f"{request.base_url}?page={page + 1}" if page < 3 else None}
            return Response(json.dumps(body), 200, content_type="application/json", headers=self.headers(now))


def resource(name: str, path: str, **incremental: object) -> dict:
    endpoint: dict = {"path": path, "paginator": {"type": "json_link", "next_url_path": "next"}}
    if incremental:
        endpoint["incremental"] = incremental
    return {"name": name, "schema": SCHEMA, "endpoint": endpoint}


def source(httpserver, *resources: dict, **client: object) -> dict:
    return {
        "secrets": {"key": CANARY},
        "source": {
            "client": {
                "base_url": httpserver.url_for("/api"),
                "auth": {"type": "api_key", "name": "X-Key", "api_key": "{{ secrets.key }}"},
                **client,
            },
            "resources": list(resources),
        },
    }


@pytest.mark.parametrize("form", ["x_seconds", "x_epoch", "ietf_fields", "ietf_structured"])
def test_two_streams_wait_for_the_reset_instead_of_meeting_a_429(httpserver, form):
    api = RateLimitedApi(form)
    httpserver.expect_request("/api/a").respond_with_handler(api)
    httpserver.expect_request("/api/b").respond_with_handler(api)
    out = sync(source(httpserver, resource("a", "a"), resource("b", "b")))
    assert api.too_many == 0
    assert (out.ids("a"), out.ids("b")) == ([1, 2, 3], [1, 2, 3])
    assert sorted(api.served) == [f"/api/{name}?page={page}" for name in "ab" for page in (1, 2, 3)]


def test_a_wait_longer_than_max_wait_stops_the_stream_with_one_line_and_its_state(httpserver, tmp_path):
    reset = int(time.time()) + 86400

    def api(request: Request) -> Response:
        page = int(request.args.get("page", 1))
        body = {"data": [{"id": page, "updated": page}], "next": f"{request.base_url}?page={page + 1}"}
        headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
        return Response(json.dumps(body), 200, content_type="application/json", headers=headers)

    httpserver.expect_request("/api/items").respond_with_handler(api)
    cfg = source(httpserver, resource("items", "items", cursor_path="updated", initial_value=0, row_order="asc"))
    cfg["source"]["client"]["rate_limit"] = {"max_wait": 600}
    out = run_cli([], cfg, tmp_path)
    assert out.returncode == 1
    line = out.stderr.strip().splitlines()[-1]
    origin = httpserver.url_for("/").rstrip("/").replace("localhost", "localhost")
    assert line.startswith(f"tap-restgeneric: error: stream 'items': rate limit of {origin}")
    assert line.endswith("longer than the 600 s allowed (rate_limit.max_wait); stopping instead of waiting"), line
    assert "X-RateLimit-* remaining 0 asks to wait" in line
    assert len(httpserver.log) == 1  # the second page was not requested
    assert out.ids("items") == [1]
    assert out.states[-1]["bookmarks"]["items"]["replication_key_value"] == 1


def test_a_fixed_budget_governs_the_requests_it_matches_and_no_other(httpserver, tmp_path):
    api = RateLimitedApi("none", window=100)
    httpserver.expect_request("/api/free").respond_with_handler(api)
    httpserver.expect_request("/api/limited").respond_with_handler(api)
    budget = {
        "policies": [
            {
                "type": "fixed_window",
                "call_limit": 2,
                "period": "P1D",
                "matchers": [{"method": "GET", "url_path_pattern": "/limited$"}],
            }
        ]
    }
    cfg = source(
        httpserver, resource("free", "free"), resource("limited", "limited"), api_budget=budget, rate_limit={"max_wait": 60}
    )
    out = run_cli([], cfg, tmp_path)
    assert out.returncode == 1
    assert out.ids("free") == [1, 2, 3]
    assert out.ids("limited") == [1, 2]
    assert [path for path in api.served if "limited" in path] == ["/api/limited?page=1", "/api/limited?page=2"]
    line = out.stderr.strip().splitlines()[-1]
    assert line.startswith(
        "tap-restgeneric: error: stream 'limited': api_budget policy 1: 2 calls per 86400 s (fixed window) asks to wait "
    ), line
    assert line.endswith("longer than the 60 s allowed (rate_limit.max_wait); stopping instead of waiting")
