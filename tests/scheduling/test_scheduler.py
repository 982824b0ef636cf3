"""The tap's scheduler built directly, with page sources in memory: no tap, no server."""

from __future__ import annotations

import threading

import requests

from tap_restgeneric.paging.page import Page
from tap_restgeneric.scheduling.fanout import PageBudget
from tap_restgeneric.scheduling.scheduler import Scheduler


def page(tag: str) -> Page:
    response = requests.Response()
    response.status_code = 200
    return Page(response, None, [{"tag": tag}], size=10)


class Source:
    """A stream's pages: two per context, each call recorded (with the start it was given)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple] = []
        self.lock = threading.Lock()

    def __call__(self, context, start, cancelled):  # noqa: ARG002 - nothing here is cancelled
        with self.lock:
            self.calls.append((context, start))
        key = context["n"] if context else None
        return iter([page(f"{self.name}-{key}-1"), page(f"{self.name}-{key}-2")])


def scheduler(upcoming=lambda: ["a", "b", "c"], concurrency=4) -> Scheduler:
    return Scheduler(stream_concurrency=concurrency, max_concurrency=concurrency, budget=PageBudget(1 << 20), upcoming=upcoming)


def test_the_first_stream_to_sync_starts_the_streams_after_it_and_each_gets_its_own_pages():
    sources = {name: Source(name) for name in "abc"}
    plan = scheduler()
    for name, source in sources.items():
        plan.add_stream(name, source, lambda context, name=name: f"start-{name}")
    assert plan.take("a", None) is None  # the first stream fetches its own
    start, pages = plan.take("b", None)
    assert start == "start-b"
    assert [p.records[0]["tag"] for p in pages] == ["b-None-1", "b-None-2"]
    start, pages = plan.take("c", None)
    assert [p.records[0]["tag"] for p in pages] == ["c-None-1", "c-None-2"]
    assert sources["a"].calls == []


def test_a_streams_that_will_not_sync_is_never_requested():
    sources = {name: Source(name) for name in "abc"}
    plan = scheduler(upcoming=lambda: ["a", "c"])
    for name, source in sources.items():
        plan.add_stream(name, source, lambda context: None)
    plan.take("a", None)
    assert plan.take("b", None) is None
    list(plan.take("c", None)[1])
    assert sources["b"].calls == []


def test_the_children_of_a_parent_page_are_requested_ahead_and_taken_in_parent_order():
    children = Source("comments")
    plan = scheduler()
    plan.add_child("comments", children, lambda context: f"since-{context['n']}", key=None)
    assert plan.fans_out("comments")
    plan.prefetch(["comments", "not-a-child"], [{"n": 1}, {"n": 2}])
    first = plan.take("comments", {"n": 1})
    assert first is not None
    assert first[0] == "since-1"
    assert [p.records[0]["tag"] for p in first[1]] == ["comments-1-1", "comments-1-2"]
    second = plan.take("comments", {"n": 2})
    assert [p.records[0]["tag"] for p in second[1]] == ["comments-2-1", "comments-2-2"]
    assert sorted(children.calls, key=lambda call: call[0]["n"]) == [({"n": 1}, "since-1"), ({"n": 2}, "since-2")]


def test_one_request_at_a_time_requests_nothing_ahead():
    children = Source("comments")
    plan = scheduler(concurrency=1)
    plan.add_child("comments", children, lambda context: None, key=None)
    assert not plan.fans_out("comments")
    plan.prefetch(["comments"], [{"n": 1}])
    assert plan.take("comments", {"n": 1}) is None
    assert children.calls == []


def test_a_parent_that_stops_cancels_its_childrens_pages():
    plan = scheduler()
    plan.add_child("comments", Source("comments"), lambda context: None, key=None)
    plan.prefetch(["comments"], [{"n": 1}])
    plan.stop_children(["comments"])
    assert plan.take("comments", {"n": 1}) is None
