"""Responses at the edges: multi-member gzip bodies, records nested near Python's recursion limit,
``Retry-After`` values that are not a delay, and parent fields that cannot be sent as a header.
Each is read, or is one line naming the stream (and the parent record, URL or header)."""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_restgeneric.transport.retry import DEFAULT_ERROR_HANDLER, RetryPolicy, retry_after_seconds
from tap_restgeneric.transport.throttle import RateLimiter
from tests.listeners import Listener, Reply, Request
from tests.support import last_line, run_cli, sync

TAP = [sys.executable, "-c", "from tap_restgeneric.cli import main; main()"]
SCHEMA = {"properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}}}


def config(api: Listener, **endpoint: object) -> dict:
    return {
        "source": {
            "client": {"base_url": api.url("/api")},
            "resource_defaults": {"error_handler": {"max_retries": 2, "backoff_factor": 0.01, "max_retry_after": 0.05}},
            "resources": [
                {
                    "name": "items",
                    "schema": SCHEMA,
                    "endpoint": {"path": "items", "data_selector": "data", "paginator": "single_page", **endpoint},
                }
            ],
        }
    }


# ---------------------------------------------------------------- multi-member gzip


@st.composite
def gzip_members(draw: st.DrawFn) -> tuple[list[dict], bytes]:
    """Records, and their body cut at random places into gzip members sent one after another."""
    names = st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30)  # one line each
    records = [{"id": i, "name": draw(names)} for i in range(draw(st.integers(0, 40)))]
    body = json.dumps({"data": records}).encode()
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=6)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    level = draw(st.integers(1, 9))
    framed = b"".join(gzip.compress(piece, compresslevel=level) for piece in pieces)
    return records, framed + b"\0" * draw(st.integers(0, 8))  # gzip(1) allows zero padding after the last


@settings(max_examples=40, deadline=None)
@given(case=gzip_members())
def test_a_gzip_body_of_several_members_is_read_whole(case):
    records, framed = case
    with Listener("127.0.0.1", lambda r: Reply(200, framed, {"Content-Encoding": "gzip"})) as api:
        out = sync(config(api))
    assert out.records("items") == records


def test_a_multi_member_gzip_body_through_the_cli(tmp_path):
    members = gzip.compress(b'{"data": [{"id": 1, "name": "a"},') + gzip.compress(b' {"id": 2, "name": "b"}]}')
    with Listener("127.0.0.1", lambda r: Reply(200, members, {"Content-Encoding": "gzip"})) as api:
        out = run_cli([], config(api), tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.records("items") == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert len(api.requests) == 1


def test_the_members_of_a_gzip_body_share_the_size_cap(tmp_path):
    member = gzip.compress(b" " * (600 * 1024))
    body = member * 3 + gzip.compress(b'{"data": []}')  # 1.8 MiB of spaces, then the JSON
    with Listener("127.0.0.1", lambda r: Reply(200, body, {"Content-Encoding": "gzip"})) as api:
        out = run_cli([], {**config(api), "max_response_mb": 1}, tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        f"tap-restgeneric: error: stream 'items': response from {api.url('/api/items')} is larger than "
        "1,048,576 bytes decoded (the max_response_mb setting); stopped reading it"
    )


# ---------------------------------------------------------------- deep records


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("declared", [True, False], ids=["schema", "inferred"])
@pytest.mark.parametrize("depth", [40, 900, 960, 975, 990, 1500, 100_000])
def test_a_deeply_nested_record_is_written_or_one_line_naming_stream_and_url(depth, declared, tmp_path):
    body = b'{"data": [{"id": 1, "deep": ' + nested(depth) + b"}]}"
    with Listener("127.0.0.1", lambda r: Reply(200, body)) as api:
        cfg = config(api)
        resource = cfg["source"]["resources"][0]
        if declared:
            resource["schema"] = {"properties": {"id": {"type": "integer"}, "deep": {"type": "object"}}}
        else:
            del resource["schema"]
        path = tmp_path / "config.json"
        path.write_text(json.dumps(cfg))
        # (run_cli would parse the RECORD with json, which runs out of recursion in the test's own stack)
        out = subprocess.run([*TAP, "--config", str(path)], capture_output=True, timeout=120, check=False)
    url = api.url("/api/items")
    if out.returncode == 0:
        [line] = [line for line in out.stdout.splitlines() if line.startswith(b'{"type":"RECORD"')]
        assert line.startswith(b'{"type":"RECORD","stream":"items","record":{"id":1,"deep":' + nested(depth) + b"},")
        assert depth < 1000
    else:
        assert out.returncode == 1 and depth > 900
        assert b"Traceback" not in out.stderr
        assert last_line(out.stderr.decode()) == (
            "tap-restgeneric: error: stream 'items': response is JSON nested too deeply to read (close to Python's limit "
            f"of 1000 levels) (HTTP 200) from {url}"
        )
    assert len(api.requests) <= (1 if declared else 2)  # a body too deep is not read again (inferred: one sample first)


# ---------------------------------------------------------------- Retry-After


HANDLER = {"max_retry_after": 30, "backoff_factor": 0.5}


@settings(max_examples=300)
@given(value=st.one_of(st.text(), st.floats(allow_nan=True).map(str), st.integers().map(str)), attempt=st.integers(0, 8))
def test_any_retry_after_value_gives_a_finite_wait_within_the_cap(value, attempt):
    seconds = retry_after_seconds(value)
    assert seconds is None or seconds >= 0
    delay = RetryPolicy.of({**DEFAULT_ERROR_HANDLER, **HANDLER}).delay(Reply429(value), attempt, RateLimiter(None))
    assert math.isfinite(delay) and 0 <= delay <= max(30, 0.5 * 2**attempt)
    if seconds is None:
        assert delay == 0.5 * 2**attempt


class Reply429:
    """A response as RetryPolicy.delay reads it: its headers."""

    def __init__(self, retry_after: str) -> None:
        self.headers = {"Retry-After": retry_after}


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [
        ("nan", "0.01"),
        ("inf", "0.01"),
        ("-inf", "0.01"),
        ("-5", "0.01"),
        ("garbage", "0.01"),
        ("1e999", "0.01"),
        ("Mon, 99 Foo 2020 99:99:99 GMT", "0.01"),
        ("9" * 400, "0.05"),  # huge: capped by max_retry_after
        ("86400", "0.05"),
        ("Wed, 21 Oct 2015 07:28:00 GMT", "0.00"),  # a date already past: retry now
    ],
)
def test_a_retry_after_that_is_no_delay_falls_back_to_the_backoff(retry_after, wait, tmp_path):
    answers = iter([Reply(429, {"error": "slow down"}, {"Retry-After": retry_after}), Reply(200, {"data": [{"id": 1}]})])
    with Listener("127.0.0.1", lambda r: next(answers)) as api:
        out = run_cli([], config(api), tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.records("items") == [{"id": 1}]
    assert len(api.requests) == 2
    [retry] = [line for line in out.stderr.splitlines() if "Retrying in" in line]
    assert f"Retrying in {wait} s (attempt 1): stream 'items': HTTP 429" in retry


# ---------------------------------------------------------------- parent fields in headers


def parent_child(api: Listener, header: str) -> dict:
    return {
        "source": {
            "client": {"base_url": api.url("/api"), "paginator": "single_page"},
            "resources": [
                {"name": "parents", "primary_key": "id", "endpoint": {"path": "parents", "data_selector": "data"}},
                {
                    "name": "children",
                    "endpoint": {
                        "path": "children/{resources.parents.id}",
                        "data_selector": "data",
                        "headers": {"X-Parent-Label": header},
                    },
                },
            ],
        }
    }


@pytest.mark.parametrize("label", ["two\r\nlines", "a\nb", "ends\r", " leading space"])
def test_a_parent_field_that_cannot_be_a_header_is_one_line_naming_stream_parent_and_header(label, tmp_path):
    def respond(request: Request) -> Reply:
        if request.path == "/api/parents":
            return Reply(200, {"data": [{"id": 1, "label": "fine"}, {"id": 2, "label": label}]})
        return Reply(200, {"data": [{"id": 10}]})

    with Listener("127.0.0.1", respond) as api:
        out = run_cli([], parent_child(api, "{resources.parents.label}"), tmp_path)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and "InvalidHeader" not in out.stderr
    assert last_line(out.stderr) == (
        "tap-restgeneric: error: stream 'children' (for the 'parents' record with id=2, label="
        f"{label!r}): header 'X-Parent-Label' cannot be sent: its value holds a line break (CR or LF) or starts "
        "with whitespace (from the headers config or a parent's field it reads)"
    )
    assert [r.path for r in api.requests] == ["/api/parents", "/api/children/1"]  # nothing sent for parent 2
