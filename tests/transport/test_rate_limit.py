"""The rate limiter's decisions (max_requests_per_second, Retry-After pauses), on a clock the test moves.

No test here measures time: the limiter decides each start on the clock it is given, and a
FakeClock (tests.support) moves only when the limiter sleeps, so the decisions are exact on any
machine. The syncs through the tap with these decisions logged are in test_fast_paths.py.
"""

from __future__ import annotations

import threading

import pytest

from tap_restgeneric.tap import TapRestGeneric
from tap_restgeneric.transport.throttle import RateLimiter
from tests.support import FakeClock


def limiter(per_second: float | None, clock: FakeClock, in_flight: int | None = None) -> RateLimiter:
    return RateLimiter(per_second, in_flight, clock=clock, sleep=clock.sleep)


def test_starts_are_one_interval_apart():
    clock = FakeClock()
    limit = limiter(20, clock)
    assert [limit.wait() for _ in range(5)] == pytest.approx([1000.0, 1000.05, 1000.1, 1000.15, 1000.2])
    assert clock.slept == pytest.approx([0.05] * 4)


def test_a_start_after_a_quiet_spell_does_not_wait():
    clock = FakeClock()
    limit = limiter(20, clock)
    limit.wait()
    clock.advance(3)  # no request for 3 s: no credit is saved up, and none is owed
    assert [limit.wait(), limit.wait()] == pytest.approx([1003.0, 1003.05])
    assert clock.slept == pytest.approx([0.05])


def test_starts_from_many_threads_are_still_one_interval_apart():
    clock = FakeClock()
    limit = limiter(20, clock)
    starts: list[float] = []
    lock = threading.Lock()

    def requests() -> None:
        for _ in range(25):
            start = limit.wait()
            with lock:
                starts.append(start)

    threads = [threading.Thread(target=requests) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts.sort()
    assert len(starts) == 200
    assert min(b - a for a, b in zip(starts, starts[1:])) >= 0.05 - 1e-9


def test_a_pause_holds_every_start_until_it_ends_and_never_shortens():
    clock = FakeClock()
    limit = limiter(None, clock)
    assert limit.wait() is None  # no limit, no pause: nothing to decide
    assert limit.pause(2) == 1002.0
    assert limit.pause(1) == 1002.0  # a shorter Retry-After later does not end the longer pause
    assert [limit.wait(), limit.wait()] == [1002.0, 1002.0]  # no rate: both start when the pause ends
    assert clock.slept == [2.0]  # the second found the clock already there
    clock.advance(5)
    assert limit.wait() == 1007.0
    assert clock.slept == [2.0]


def test_a_pause_and_the_rate_together():
    clock = FakeClock()
    limit = limiter(10, clock)
    limit.wait()
    limit.pause(1)
    assert [limit.wait(), limit.wait()] == pytest.approx([1001.0, 1001.1])


def test_the_setting_makes_the_limiter():
    resource = {"name": "items", "schema": {"properties": {"id": {"type": "integer"}}}}
    source = {"client": {"base_url": "http://127.0.0.1:9"}, "resources": [resource]}
    tap = TapRestGeneric(config={"max_requests_per_second": "20", "source": source}, parse_env_config=False)
    assert tap.rate_limiter.interval == pytest.approx(0.05)
