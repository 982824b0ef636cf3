"""Rate budgets read from headers: the decisions on a fake clock, and a loopback API that answers 429 at 0."""

from __future__ import annotations

import threading

import pytest
import requests
from werkzeug import Response

from tap_restgeneric.transport.ratelimits import (
    HeaderNames,
    OriginRateLimit,
    OriginRateLimits,
    RateLimitReading,
    RateLimitWaitTooLong,
    read_rate_limit,
    reset_time,
)
from tests.support import FakeClock

NOW = 1_750_000_000.0  # 2025-06-15T15:06:40Z


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30", NOW + 30),  # seconds until the reset (the IETF RateLimit-Reset; the CDK reads it as 1970)
        ("0", NOW),
        ("86000", NOW + 86000),  # nearly a day ahead, still seconds
        ("1750000060", 1_750_000_060.0),  # an epoch (GitHub's X-RateLimit-Reset)
        ("1749990000", 1_749_990_000.0),  # an epoch a little in the past is still an epoch
        ("1750000060000", 1_750_000_060.0),  # epoch milliseconds
        ("Sun, 15 Jun 2025 15:07:40 GMT", NOW + 60),
        ("2025-06-15T15:08:40Z", NOW + 120),
        ("soon", None),
        ("nan", None),
        ("-5", None),
        ("", None),
    ],
)
def test_a_reset_is_seconds_or_an_epoch_told_apart_by_size(value, expected):
    assert reset_time(value, NOW) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1750000600"},
            RateLimitReading(0, 1_750_000_600.0, 5000, "X-RateLimit-*"),
        ),
        ({"x-rate-limit-remaining": "7", "x-rate-limit-reset": "60"}, RateLimitReading(7, NOW + 60, None, "X-Rate-Limit-*")),
        (
            {"RateLimit-Limit": "100", "RateLimit-Remaining": "0", "RateLimit-Reset": "30"},
            RateLimitReading(0, NOW + 30, 100, "RateLimit-*"),
        ),
        (
            {"RateLimit": '"default";r=50;t=30, "daily";r=0;t=3600', "RateLimit-Policy": '"default";q=100;w=60'},
            RateLimitReading(0, NOW + 3600, None, "RateLimit", '"default";q=100;w=60'),
        ),
        ({"RateLimit": "burst;r=3;t=10"}, RateLimitReading(3, NOW + 10, None, "RateLimit")),
        ({"RateLimit": "limit=100, remaining=0, reset=30"}, RateLimitReading(0, NOW + 30, 100, "RateLimit")),
        ({"X-RateLimit-Remaining": "10, 4"}, RateLimitReading(4, None, None, "X-RateLimit-*")),
        ({"Content-Type": "application/json"}, None),
    ],
)
def test_the_rate_limit_headers_apis_send(headers, expected):
    assert read_rate_limit(headers, NOW) == expected


def test_configured_header_names_come_first():
    headers = {"Calls-Left": "2", "Calls-Reset": "90", "X-RateLimit-Remaining": "99"}
    assert read_rate_limit(headers, NOW, HeaderNames("calls-left", "calls-reset")) == RateLimitReading(
        2, NOW + 90, None, "calls-left, calls-reset"
    )


def limit(clock: FakeClock, **options) -> OriginRateLimit:
    return OriginRateLimit("https://api.example.com:443", clock=clock, sleep=clock.sleep, **options)


def take(origin: OriginRateLimit, headers: dict | None = None) -> float:
    with origin.turn() as turn:
        turn.observe(headers or {})
    return turn.waited


def test_at_remaining_zero_the_next_request_waits_until_the_reset():
    clock = FakeClock(NOW)
    origin = limit(clock)
    assert take(origin, headers={"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": str(int(NOW + 40))}) == 0
    assert take(origin, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW + 40))}) == 0
    assert take(origin) == 40  # waited for the reset, not for a 429
    assert clock.now == NOW + 40
    assert take(origin) == 0  # a new window: the count is unknown until a response says it


def test_remaining_zero_without_a_reset_does_not_wait():
    clock = FakeClock(NOW)
    origin = limit(clock)
    take(origin, headers={"X-RateLimit-Remaining": "0"})
    assert take(origin) == 0


def test_the_count_goes_down_with_every_request_started():
    clock = FakeClock(NOW)
    origin = limit(clock)
    take(origin, headers={"X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "30"})
    assert [take(origin), take(origin), take(origin)] == [0, 0, 30]


def test_a_request_in_flight_counts_against_what_a_response_says():
    """Two requests in flight; the first answer says 1 left: the other in-flight one will spend it."""
    clock = FakeClock(NOW)
    origin = limit(clock)
    with origin.turn() as first, origin.turn():
        first.observe({"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "20"})
    assert take(origin) == 20


def test_an_overtaken_response_cannot_raise_the_count_in_the_same_window():
    clock = FakeClock(NOW)
    origin = limit(clock)
    with origin.turn() as early:
        with origin.turn() as late:
            late.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW + 50))})
        early.observe({"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": str(int(NOW + 50))})
    assert take(origin) == 50


def test_retry_after_is_left_to_the_retry_policy():
    """The retry policy and the tap's rate limiter pause for a Retry-After; the origin's budget does not."""
    clock = FakeClock(NOW)
    origin = limit(clock)
    take(origin, {"Retry-After": "12"})
    assert take(origin) == 0


def test_a_wait_longer_than_the_maximum_is_an_error_naming_the_budget():
    clock = FakeClock(NOW)
    origin = limit(clock, max_wait=600)
    take(origin, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW + 3600))})
    with pytest.raises(RateLimitWaitTooLong) as info:
        take(origin)
    assert str(info.value) == (
        "rate limit of https://api.example.com:443: X-RateLimit-* remaining 0 asks to wait 3,600 s "
        "(until 2025-06-15T16:06:40Z), longer than the 600 s allowed (rate_limit.max_wait); stopping instead of waiting"
    )
    assert clock.slept == []


def test_facts_for_the_doctor():
    clock = FakeClock(NOW)
    origin = limit(clock)
    take(origin, headers={"RateLimit": '"default";r=0;t=30', "RateLimit-Policy": '"default";q=100;w=60'})
    assert origin.facts() == {
        "origin": "https://api.example.com:443",
        "header": "RateLimit",
        "remaining": 0,
        "limit": None,
        "resets_at": "2025-06-15T15:07:10Z",
        "policy": '"default";q=100;w=60',
        "next_request_waits_until": "2025-06-15T15:07:10Z",
        "because": "RateLimit remaining 0",
    }


def test_one_limit_per_origin_shared():
    made = []
    limits = OriginRateLimits(lambda origin: made.append(origin) or OriginRateLimit(origin))
    assert limits("https://a:443") is limits("https://a:443")
    assert limits("https://b:443") is not limits("https://a:443")
    assert made == ["https://a:443", "https://b:443"]


# ------------------------------------------------------------------------------------------ on loopback


class WindowedApi:
    """5 calls per 60 s window on the shared fake clock; a call at 0 left gets a 429 (and is counted)."""

    def __init__(self, clock: FakeClock, per_window: int = 5, window: float = 60) -> None:
        self.clock = clock
        self.per_window = per_window
        self.window = window
        self.window_end = clock() + window
        self.used = 0
        self.statuses: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, request) -> Response:  # noqa: ARG002 - the handler signature
        with self.lock:
            now = self.clock()
            while now >= self.window_end:
                self.window_end += self.window
                self.used = 0
            status = 429 if self.used >= self.per_window else 200
            self.used += status == 200
            self.statuses.append(status)
            headers = {"X-RateLimit-Remaining": str(self.per_window - self.used), "X-RateLimit-Reset": str(int(self.window_end))}
            return Response("[]" if status == 200 else "slow down", status, headers=headers, content_type="application/json")


def test_threads_sharing_an_origin_never_meet_a_429(httpserver):
    clock = FakeClock(NOW)
    api = WindowedApi(clock)
    httpserver.expect_request("/items").respond_with_handler(api)
    origin = limit(clock)
    waited: list[float] = []

    def worker() -> None:
        with requests.Session() as session:
            for _ in range(10):
                with origin.turn() as turn:
                    response = session.get(httpserver.url_for("/items"), timeout=30)
                    turn.observe(response.headers)
                waited.append(turn.waited)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert api.statuses.count(429) == 0
    assert api.statuses == [200] * 40
    assert sum(1 for w in waited if w > 0) >= 40 // 5 - 1  # it waited for resets rather than meeting 429s


def test_without_the_budget_the_same_api_answers_429(httpserver):
    """The control: the same requests sent without waiting meet the 429s the test above avoids."""
    clock = FakeClock(NOW)
    api = WindowedApi(clock)
    httpserver.expect_request("/items").respond_with_handler(api)
    statuses = [requests.get(httpserver.url_for("/items"), timeout=30).status_code for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3
