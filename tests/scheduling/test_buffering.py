"""Pages fetched ahead wait in bounded memory, whatever the number of streams or parents.

Later streams' pages, and the children of later parents, are requested while earlier ones are
written. What waits is bounded in pages (``stream_concurrency``/``max_concurrency`` x 2) and in bytes
(``max_buffer_mb``, shared by the whole tap): these tests read the tap's own accounting (the most
bytes that ever waited) and check the output is exactly what a sequential sync writes. Peak RSS is
measured by ``benchmarks/memory.py``, not here.
"""

from __future__ import annotations

import json
import re

import pytest
from werkzeug import Response

from tap_restgeneric import tap as tap_module
from tap_restgeneric.scheduling.fanout import PAGES_AHEAD, PageBudget
from tests.support import last_line, run_cli, sync

RECORDS_PER_PAGE = 20
SCHEMA = {"properties": {"id": {"type": "integer"}, "text": {"type": "string"}}}


def page_body(owner: int) -> bytes:
    """One page, the same size for every owner (stream or parent)."""
    records = [{"id": owner * 1000 + i, "text": f"{owner:06d}" + "x" * 300} for i in range(RECORDS_PER_PAGE)]
    return json.dumps({"data": records}).encode()


PAGE_SIZE = len(page_body(0))


class MostBytes(PageBudget):
    """The tap's budget, remembering the most bytes that ever waited."""

    instances: list[MostBytes] = []

    def __init__(self, max_bytes: int) -> None:
        self.most = 0
        super().__init__(max_bytes)
        MostBytes.instances.append(self)

    @property  # type: ignore[override]
    def waiting_bytes(self) -> int:
        return self._waiting

    @waiting_bytes.setter
    def waiting_bytes(self, value: int) -> None:
        self._waiting = value
        self.most = max(self.most, value)


@pytest.fixture
def budget(monkeypatch) -> MostBytes:
    MostBytes.instances.clear()
    monkeypatch.setattr(tap_module, "PageBudget", MostBytes)
    yield MostBytes
    MostBytes.instances.clear()


def serve_pages(httpserver) -> None:
    def handler(request):
        owner = int(request.path.rstrip("/").split("/")[-1].removeprefix("children-"))
        return Response(page_body(owner), content_type="application/json")

    httpserver.expect_request("/parents").respond_with_json({"data": [{"id": i} for i in range(60)]})
    httpserver.expect_request(re.compile(r"^/(s/|children-)\d+$")).respond_with_handler(handler)


def streams_config(httpserver, count: int, **settings) -> dict:
    resources = [
        {"name": f"s{i:02d}", "primary_key": "id", "schema": SCHEMA, "endpoint": {"path": f"/s/{i}", "data_selector": "data"}}
        for i in range(count)
    ]
    return {
        "source": {"client": {"base_url": httpserver.url_for(""), "paginator": "single_page"}, "resources": resources},
        **settings,
    }


def parents_config(httpserver, **settings) -> dict:
    resources = [
        {"name": "parents", "primary_key": "id", "endpoint": {"path": "/parents", "data_selector": "data"}},
        {
            "name": "children",
            "primary_key": "id",
            "schema": SCHEMA,
            "endpoint": {"path": "/children-{resources.parents.id}", "data_selector": "data"},
        },
    ]
    return {
        "source": {"client": {"base_url": httpserver.url_for(""), "paginator": "single_page"}, "resources": resources},
        **settings,
    }


def records(out) -> list[tuple]:
    return [(m["stream"], m["record"]["id"]) for m in out.messages if m["type"] == "RECORD"]


def test_later_streams_wait_within_max_buffer_mb(httpserver, budget):
    serve_pages(httpserver)
    limit = 5 * PAGE_SIZE
    out = sync(streams_config(httpserver, 40, max_buffer_mb=limit / 2**20))
    assert records(out) == [(f"s{s:02d}", s * 1000 + i) for s in range(40) for i in range(RECORDS_PER_PAGE)]
    [used] = budget.instances
    # The stream being written may hold its own pages beyond it (the sync waits for them): at most
    # PAGES_AHEAD queued and one being fetched. Before the bound, all 39 later pages waited.
    assert 0 < used.most <= limit + (PAGES_AHEAD + 1) * PAGE_SIZE
    assert used.waiting_bytes == 0  # everything counted was read or let go


def test_the_children_of_later_parents_wait_within_max_buffer_mb(httpserver, budget):
    serve_pages(httpserver)
    limit = 5 * PAGE_SIZE
    out = sync(parents_config(httpserver, max_buffer_mb=limit / 2**20))
    children = [r for r in records(out) if r[0] == "children"]
    assert children == [("children", p * 1000 + i) for p in range(60) for i in range(RECORDS_PER_PAGE)]
    [used] = budget.instances
    assert 0 < used.most <= limit + (PAGES_AHEAD + 1) * PAGE_SIZE
    assert used.waiting_bytes == 0


def test_pages_waiting_are_bounded_in_number_too(httpserver, budget):
    """A large max_buffer_mb: at most two pages per stream fetched at once wait (stream_concurrency x 2)."""
    serve_pages(httpserver)
    out = sync(streams_config(httpserver, 40, stream_concurrency=2))
    assert len(records(out)) == 40 * RECORDS_PER_PAGE
    [used] = budget.instances
    assert 0 < used.most <= (2 * PAGES_AHEAD + PAGES_AHEAD + 1) * PAGE_SIZE


@pytest.mark.parametrize("value", [0, -1, "lots"])
def test_max_buffer_mb_is_checked_first(httpserver, tmp_path, value):
    out = run_cli([], streams_config(httpserver, 1, max_buffer_mb=value), tmp_path)
    assert out.returncode == 1 and not httpserver.log
    assert last_line(out.stderr).startswith("tap-restgeneric: config error: max_buffer_mb: ")
