"""The fast paths change nothing a user can see: same records as the SDK's own path,
pages in order under concurrency, Retry-After and rate limits still hold."""

from __future__ import annotations

import json
import threading
import time

import pytest
from singer_sdk.plugin_base import SingerWriter
from werkzeug import Response

from tap_restgeneric.output.conformance import ConformanceCheck
from tap_restgeneric.tap import TapRestGeneric
from tests.support import DecisionLog, _captured_stdout

SCHEMA = {
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": ["string", "null"]},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "day": {"type": ["string", "null"], "format": "date"},
        "amount": {"type": ["number", "null"]},
        "count": {"type": ["integer", "null"]},
        "active": {"type": ["boolean", "null"]},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "lines": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "properties": {"sku": {"type": ["string", "null"]}, "gift": {"type": ["boolean", "null"]}},
            },
        },
        "address": {
            "type": ["object", "null"],
            "properties": {
                "city": {"type": ["string", "null"]},
                "geo": {"type": ["object", "null"], "properties": {"lat": {"type": ["number", "null"]}}},
            },
        },
    }
}

RECORDS = [
    {
        "id": 1,
        "name": "plain",
        "created_at": "2024-01-02T03:04:05Z",
        "day": "2024-01-02",
        "amount": 1.5,
        "count": 3,
        "active": True,
        "tags": ["a", "b"],
        "lines": [{"sku": "x", "gift": False}],
        "address": {"city": "Lisbon", "geo": {"lat": 38.7}},
    },
    {
        "id": 2,
        "name": None,
        "created_at": None,
        "day": None,
        "amount": None,
        "count": None,
        "active": None,
        "tags": None,
        "lines": None,
        "address": None,
    },
    {"id": 3, "extra": "dropped", "active": 1, "amount": 0.1},  # unknown field, non-boolean in a boolean field
    {"id": 4, "address": {"city": "Porto", "unknown": 1, "geo": {"lat": -8.6, "lng": 41.1}}},  # unknown nested fields
    {"id": 5, "lines": [{"sku": "y", "gift": 0, "qty": 2}, {"sku": None}], "tags": []},  # unknown/int inside array items
    {"id": 6, "amount": 12345678901234567890, "count": -1, "name": 'ünïcødé " \\ \n'},
]


def _config(httpserver, **settings) -> dict:
    return {
        **settings,
        "source": {
            "client": {"base_url": httpserver.url_for("/api")},
            "resources": [
                {
                    "name": "things",
                    "schema": SCHEMA,
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "endpoint": {"path": "/things", "paginator": "single_page"},
                }
            ],
        },
    }


class StockWriterTap(TapRestGeneric):
    """The same tap with the SDK's default writer: every record takes the SDK's own path."""

    message_writer_class = SingerWriter


def _records(tap_class, config) -> list[dict]:
    with _captured_stdout() as buffer:
        tap_class(config=config, parse_env_config=False).sync_all()
    lines = [json.loads(line) for line in buffer.getvalue().decode().splitlines()]
    return [m["record"] for m in lines if m["type"] == "RECORD"]


def test_fast_path_emits_the_same_records_as_the_sdk_path(httpserver):
    httpserver.expect_request("/api/things").respond_with_json({"data": RECORDS})
    fast = _records(TapRestGeneric, _config(httpserver))
    stock = _records(StockWriterTap, _config(httpserver))
    assert fast == stock
    # schema_contract evolve (the default) adds a field the schema lacks, at the top level and
    # nested (in objects and in the objects of arrays), on both paths.
    assert fast[2] == {"id": 3, "active": True, "amount": 0.1, "extra": "dropped"}
    assert fast[3]["address"] == {"city": "Porto", "unknown": 1, "geo": {"lat": -8.6, "lng": 41.1}}
    assert fast[4]["lines"] == [{"sku": "y", "gift": False, "qty": 2}, {"sku": None}]


def test_with_discard_value_a_field_outside_the_schema_is_dropped_on_both_paths(httpserver):
    httpserver.expect_request("/api/things").respond_with_json({"data": RECORDS})
    config = _config(httpserver, schema_contract="discard_value")
    fast = _records(TapRestGeneric, config)
    assert fast == _records(StockWriterTap, config)
    assert fast[2] == {"id": 3, "amount": 0.1}  # its non-boolean "active" is a value of another type: discarded too


def test_stream_maps_and_flattening_take_the_sdk_path_and_still_work(httpserver):
    httpserver.expect_request("/api/things").respond_with_json({"data": RECORDS[:2]})
    config = _config(
        httpserver,
        stream_maps={"things": {"name": None, "upper": "name.upper() if name else None"}},
        flattening_enabled=True,
        flattening_max_depth=2,
    )
    records = _records(TapRestGeneric, config)
    assert records[0]["upper"] == "PLAIN" and "name" not in records[0]
    assert records[0]["address__city"] == "Lisbon"


@pytest.mark.parametrize(
    ("record", "conformant"),
    [
        (RECORDS[0], True),
        (RECORDS[1], True),
        (RECORDS[2], False),
        (RECORDS[3], False),
        (RECORDS[4], False),
        ({"id": 7, "lines": [{"gift": None}]}, True),
    ],
)
def test_conformance_check_says_when_the_sdk_would_change_a_record(record, conformant):
    assert ConformanceCheck(SCHEMA)(record) is conformant


# ---------------------------------------------------------------- concurrency


@pytest.fixture
def threaded_server():
    """A fresh multi-threaded server per test: requests made ahead really overlap, and
    requests a finished sync abandoned cannot reach the next test's handler."""
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def offset_api(httpserver, total: int, *, delay: float = 0.01, with_total: bool = True, log=None, fault=None):
    """Items 1..total by offset and limit; ``log`` gets each request's offset as it arrives. Each
    answer takes at least ``delay`` s: the tap requests ahead only when responses take 3 ms or
    more (pages.AHEAD_MIN_LATENCY), and a loaded machine only makes them slower."""
    items = [{"id": i} for i in range(1, total + 1)]
    lock = threading.Lock()

    def handler(request):
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        with lock:
            if log is not None:
                log.append(offset)
        refusal = fault(offset) if fault else None
        if refusal is not None:
            return refusal
        time.sleep(delay)
        body = {"data": items[offset : offset + limit]}
        if with_total:
            body["total"] = total
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/items").respond_with_handler(handler)


def offset_config(httpserver, limit=10, **settings) -> dict:
    return {
        "max_concurrency": 8,
        **settings,
        "source": {
            "client": {"base_url": httpserver.url_for("/api")},
            "resources": [
                {
                    "name": "items",
                    "schema": {"properties": {"id": {"type": "integer"}}},
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "endpoint": {
                        "path": "/items",
                        "data_selector": "data",
                        "paginator": {"type": "offset", "limit": limit},
                        "error_handler": {"backoff_factor": 0.01},
                    },
                }
            ],
        },
    }


def _ids(config) -> list[int]:
    return [r["id"] for r in _records(TapRestGeneric, config)]


def test_pages_requested_ahead_come_out_in_order_and_stop_exactly_at_the_total(threaded_server):
    httpserver = threaded_server
    log: list = []
    later_page_asked = threading.Event()
    overlapped: list[bool] = []

    def hold_page_eleven(offset):
        """Page 11 is answered only once a later page was asked for (or after 30 s): a tap that
        requests ahead (it ramps up to it over the first pages) has asked for one meanwhile."""
        if offset == 100:
            overlapped.append(later_page_asked.wait(30))
        elif offset > 100:
            later_page_asked.set()

    offset_api(httpserver, 205, log=log, fault=hold_page_eleven)
    assert _ids(offset_config(httpserver)) == list(range(1, 206))
    assert sorted(log) == list(range(0, 210, 10))  # 21 pages, none past the total
    assert overlapped == [True], "no page was requested while an earlier one was in flight"


def test_without_a_total_pages_past_the_end_are_never_read_even_when_they_fail(threaded_server):
    httpserver = threaded_server
    log: list = []
    offset_api(
        httpserver, 95, with_total=False, log=log, fault=lambda offset: Response("gone", status=404) if offset > 100 else None
    )
    assert _ids(offset_config(httpserver)) == list(range(1, 96))
    assert max(log) <= 90 + 8 * 10  # at most max_concurrency pages past the end


def test_max_concurrency_one_requests_one_page_after_the_other(threaded_server):
    httpserver = threaded_server
    log: list = []
    offset_api(httpserver, 50, log=log, with_total=False)
    assert _ids(offset_config(httpserver, max_concurrency=1)) == list(range(1, 51))
    assert log == [0, 10, 20, 30, 40, 50]


def test_retry_after_pauses_every_request_under_concurrency(threaded_server, monkeypatch):
    """A 429's Retry-After reaches the limiter every stream and thread shares: every request
    start it decides after the 429 waits for the pause to end (its decisions, logged in order on
    a clock the test moves: test_rate_limit.py; nothing here depends on how fast the machine is)."""
    httpserver = threaded_server
    log: list = []
    refused: list = []

    def fault(offset):
        if offset == 60 and not refused:
            refused.append(offset)
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return None

    offset_api(httpserver, 300, log=log, fault=fault)
    config = offset_config(httpserver)
    decisions = DecisionLog.installed(monkeypatch, config)
    assert _ids(config) == list(range(1, 301))
    assert refused, "the 429 was never served"
    assert sorted(log) == sorted([*range(0, 300, 10), 60])  # each page once, the refused one twice
    pauses = [i for i, (kind, _) in enumerate(decisions.events) if kind == "pause"]
    assert len(pauses) == 1
    until = decisions.events[pauses[0]][1]
    after = [when for kind, when in decisions.events[pauses[0] + 1 :] if kind == "start"]
    assert after, "no request started after the 429"
    assert all(when is not None and when >= until for when in after), (until, after)
    assert len([kind for kind, _ in decisions.events if kind == "start"]) == len(log)  # every request passed the limiter


def test_max_requests_per_second_bounds_request_starts(threaded_server, monkeypatch):
    """Every request the server saw was started by the limiter, one 1/20 s after the other on its
    clock (the limiter's own tests: test_rate_limit.py)."""
    httpserver = threaded_server
    log: list = []
    offset_api(httpserver, 100, log=log)
    config = offset_config(httpserver, max_requests_per_second=20)
    decisions = DecisionLog.installed(monkeypatch, config)
    assert _ids(config) == list(range(1, 101))
    starts = [when for kind, when in decisions.events if kind == "start"]
    assert sorted(log) == list(range(0, 100, 10))
    assert len(starts) == len(log)
    assert all(b - a == pytest.approx(0.05) for a, b in zip(starts, starts[1:])), starts
