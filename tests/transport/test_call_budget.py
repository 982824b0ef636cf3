"""The config's call budget (Airbyte's HTTPAPIBudget): policies and matchers decided on a fake clock, and on loopback."""

from __future__ import annotations

import pytest
import requests

from tap_restgeneric.errors import SourceConfigError
from tap_restgeneric.transport.call_budget import RequestMatcher, build_call_budget
from tap_restgeneric.transport.ratelimits import RateLimitWaitTooLong
from tests.support import FakeClock

NOW = 1_750_000_000.0
API = "https://api.example.com"


def budget(policies, clock, max_wait=None):
    return build_call_budget({"policies": policies}, clock=clock, sleep=clock.sleep, max_wait=max_wait)


@pytest.mark.parametrize(
    ("matcher", "method", "url", "headers", "expected"),
    [
        ({"method": "get"}, "GET", f"{API}/a", {}, True),
        ({"method": "POST"}, "GET", f"{API}/a", {}, False),
        ({"url_base": f"{API}/"}, "GET", f"{API}/v1/x", {}, True),
        ({"url_base": "https://other.example.com"}, "GET", f"{API}/v1/x", {}, False),
        ({"url_path_pattern": "^/v1/search"}, "GET", f"{API}/v1/search/users/", {}, True),
        ({"url_path_pattern": "users$"}, "GET", f"{API}/v1/users/", {}, True),  # the path without its last slash
        ({"url_path_pattern": "^/v2"}, "GET", f"{API}/v1/search", {}, False),
        ({"params": {"page": 2}}, "GET", f"{API}/a?page=2&q=x", {}, True),
        ({"params": {"page": "3"}}, "GET", f"{API}/a?page=2", {}, False),
        ({"headers": {"X-Sandbox": "true"}}, "GET", f"{API}/a", {"x-sandbox": "true"}, True),
        ({"headers": {"X-Sandbox": "true"}}, "GET", f"{API}/a", {}, False),
    ],
)
def test_matchers_match_as_airbytes_http_request_regex_matcher(matcher, method, url, headers, expected):
    assert RequestMatcher(**matcher).matches(method, url, headers) is expected


def test_a_fixed_window_starts_at_the_first_call_and_waits_for_its_end():
    clock = FakeClock(NOW)
    calls = budget([{"type": "fixed_window", "period": "PT1M", "call_limit": 3}], clock)
    clock.advance(5)
    assert [calls.acquire("GET", f"{API}/a") for _ in range(4)] == [0, 0, 0, 60]
    assert clock.now == NOW + 65
    assert [calls.acquire("GET", f"{API}/a") for _ in range(3)] == [0, 0, 60]


def test_headers_lower_the_calls_left_and_move_the_window_end():
    clock = FakeClock(NOW)
    calls = budget([{"type": "fixed_window", "period": "PT1H", "call_limit": 100}], clock)
    calls.acquire("GET", f"{API}/a")
    # the CDK's default header names; the reset is seconds from now here, which the CDK would read as 1970
    calls.observe("GET", f"{API}/a", {}, 200, {"ratelimit-remaining": "1", "ratelimit-reset": "30"})
    assert calls.facts()[0]["calls_left"] == 1
    assert [calls.acquire("GET", f"{API}/a"), calls.acquire("GET", f"{API}/a")] == [0, 30]
    calls.observe("GET", f"{API}/a", {}, 200, {"ratelimit-remaining": "500"})  # never raised above the config's
    assert calls.facts()[0]["calls_left"] == 99


def test_a_429_without_headers_spends_the_window():
    clock = FakeClock(NOW)
    calls = budget([{"type": "fixed_window", "period": "PT10S", "call_limit": 100}], clock)
    calls.acquire("GET", f"{API}/a")
    calls.observe("GET", f"{API}/a", {}, 429, {})
    assert calls.acquire("GET", f"{API}/a") == 10


def test_a_moving_window_holds_every_rate_over_any_interval():
    clock = FakeClock(NOW)
    calls = budget(
        [{"type": "moving_window", "rates": [{"limit": 2, "interval": "PT1S"}, {"limit": 3, "interval": "PT1M"}]}], clock
    )
    assert calls.acquire("GET", f"{API}/a") == 0
    clock.advance(0.5)
    assert calls.acquire("GET", f"{API}/a") == 0
    assert calls.acquire("GET", f"{API}/a") == pytest.approx(0.5)  # the first call leaves the 1 s interval
    assert calls.acquire("GET", f"{API}/a") == pytest.approx(59)  # three in the last minute: the first must leave it


def test_the_first_matching_policy_governs_unlimited_carves_out_and_weights_count():
    clock = FakeClock(NOW)
    calls = budget(
        [
            {"type": "unlimited", "matchers": [{"headers": {"X-Sandbox": "true"}}]},
            {
                "type": "fixed_window",
                "period": "PT1M",
                "call_limit": 4,
                "matchers": [{"url_path_pattern": "^/search", "weight": 2}, {"url_path_pattern": "^/items"}],
            },
        ],
        clock,
    )
    assert [calls.acquire("GET", f"{API}/search", {"X-Sandbox": "true"}) for _ in range(10)] == [0] * 10
    assert calls.acquire("GET", f"{API}/other") == 0  # no policy matches: not limited
    assert [
        calls.acquire("GET", f"{API}/search"),
        calls.acquire("GET", f"{API}/items"),
        calls.acquire("GET", f"{API}/items"),
    ] == [
        0,
        0,
        0,
    ]
    assert calls.acquire("GET", f"{API}/search") == 60
    assert calls.facts() == [
        {"policy": 1, "budget": "unlimited", "requests": ["any method any URL X-Sandbox=true"], "calls_left": None},
        {
            "policy": 2,
            "budget": "4 calls per 60 s (fixed window)",
            "requests": ["any method ^/search (weight 2)", "any method ^/items"],
            "calls_left": 2,
        },
    ]


def test_a_wait_over_the_maximum_names_the_policy():
    clock = FakeClock(NOW)
    calls = budget([{"type": "fixed_window", "period": "P1D", "call_limit": 1}], clock, max_wait=300)
    calls.acquire("GET", f"{API}/a")
    with pytest.raises(RateLimitWaitTooLong) as info:
        calls.acquire("GET", f"{API}/a")
    assert str(info.value) == (
        "api_budget policy 1: 1 calls per 86400 s (fixed window) asks to wait 86,400 s (until 2025-06-16T15:06:40Z), "
        "longer than the 300 s allowed (rate_limit.max_wait); stopping instead of waiting"
    )


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"policies": {}}, "api_budget.policies: expected a list of policies (fixed_window, moving_window, unlimited)"),
        (
            {"policies": [{"type": "token_bucket"}]},
            "api_budget.policies[0].type: 'token_bucket' is not one of fixed_window, moving_window, unlimited",
        ),
        (
            {"policies": [{"type": "fixed_window", "period": "1 minute", "call_limit": 5}]},
            "api_budget.policies[0].period: '1 minute' is not an ISO 8601 duration (e.g. P1D, PT6H, P1M)",
        ),
        (
            {"policies": [{"type": "fixed_window", "period": "PT1M", "call_limit": 0}]},
            "api_budget.policies[0].call_limit: expected a whole number of calls, 1 or more (got 0)",
        ),
        (
            {"policies": [{"type": "moving_window", "rates": []}]},
            "api_budget.policies[0].rates: expected a list of {limit, interval}",
        ),
        (
            {"policies": [{"type": "unlimited", "matchers": [{"path": "/a"}]}]},
            "api_budget.policies[0].matchers[0].path: not a matcher key (headers, method, params, url_base, url_path_pattern, weight)",
        ),
        (
            {"policies": [{"type": "unlimited", "matchers": [{"url_path_pattern": "("}]}]},
            "api_budget.policies[0].matchers[0].url_path_pattern: not a regular expression (missing ), unterminated subpattern at position 0)",
        ),
        (
            {"policies": [{"type": "fixed_window", "period": "PT1M", "call_limit": 2, "matchers": [{"weight": 3}]}]},
            "api_budget.policies[0]: a matcher weighs 3 calls, more than the 2 the policy allows",
        ),
    ],
)
def test_a_budget_config_mistake_is_one_line_naming_its_path(spec, problem):
    with pytest.raises(SourceConfigError) as info:
        build_call_budget(spec)
    assert str(info.value) == problem


def test_a_fixed_budget_keeps_a_loopback_api_under_its_limit(httpserver):
    """The API allows 3 calls a minute (clock shared) and answers 429 beyond; the budget says the same."""
    clock = FakeClock(NOW)
    seen: list[float] = []

    def api(request):
        from werkzeug import Response

        minute = int(clock() // 60)
        seen.append(clock())
        status = 429 if sum(1 for at in seen if int(at // 60) == minute) > 3 else 200
        return Response("[]", status)

    httpserver.expect_request("/items").respond_with_handler(api)
    calls = budget([{"type": "fixed_window", "period": "PT1M", "call_limit": 3, "matchers": [{"method": "GET"}]}], clock)
    clock.now = NOW + 20  # a minute boundary: the API's first minute and the budget's first window start together
    statuses = []
    for _ in range(7):
        url = httpserver.url_for("/items")
        calls.acquire("GET", url)
        response = requests.get(url, timeout=30)
        calls.observe("GET", url, {}, response.status_code, response.headers)
        statuses.append(response.status_code)
    assert statuses == [200] * 7
    assert seen == [NOW + 20] * 3 + [NOW + 80] * 3 + [NOW + 140]
