"""Every stream says how it ended (records, pages, retries, time, the stop rule) and, while long, how it goes."""

from __future__ import annotations

import json
import logging
import re

from werkzeug import Response

from tap_restgeneric.streams import progress as progress_module
from tests.support import run_cli, sync


def items_config(httpserver, handler, paginator: dict, **settings) -> dict:
    """A stream `items` (records under `data`) served by ``handler``, paged by ``paginator``."""
    httpserver.expect_request("/api/items").respond_with_handler(handler)
    return {
        **settings,
        "source": {
            "client": {"base_url": httpserver.url_for("/api")},
            "resources": [
                {
                    "name": "items",
                    "primary_key": "id",
                    "schema": {"properties": {"id": {"type": "integer"}}},
                    "endpoint": {"path": "items", "data_selector": "data", "paginator": paginator},
                }
            ],
        },
    }


def paged_config(httpserver, pages: dict[str, list], **paginator) -> dict:
    def handler(request):
        return Response(json.dumps({"data": pages.get(request.args.get("page", "1"), [])}), content_type="application/json")

    return items_config(httpserver, handler, {"type": "page_number", **paginator})


def test_a_stream_ends_with_one_line_saying_what_stopped_it(httpserver, tmp_path):
    pages = {"1": [{"id": 1}, {"id": 2}], "2": [{"id": 3}, {"id": 4}], "3": [{"id": 5}]}
    out = run_cli([], paged_config(httpserver, pages, limit=2, total_path=None), tmp_path)
    assert out.returncode == 0
    assert re.search(
        r"stream 'items': 5 records, 3 pages, \d+\.\d s; paging stopped: short page \(1 records, limit 2\)$",
        out.stderr,
        re.MULTILINE,
    )


def test_an_empty_page_and_a_total_are_named(httpserver, tmp_path):
    out = run_cli([], paged_config(httpserver, {"1": [{"id": 1}]}, total_path=None), tmp_path)
    assert "stream 'items': 1 records, 2 pages" in out.stderr and "paging stopped: empty page" in out.stderr


def test_a_long_stream_says_how_it_goes(httpserver, monkeypatch):
    monkeypatch.setattr(progress_module, "PROGRESS_INTERVAL", 0.0)
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Collect()
    logger = logging.getLogger("tap-restgeneric.items")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        sync(paged_config(httpserver, {"1": [{"id": 1}], "2": [{"id": 2}]}, total_path=None))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert any(m.startswith("stream 'items': 1 records so far (") for m in seen)


def offset_config(httpserver, total: int, served: int, **settings) -> dict:
    records = [{"id": i} for i in range(1, served + 1)]

    def handler(request):
        offset = int(request.args.get("offset", 0))
        return Response(json.dumps({"data": records[offset : offset + 2], "total": total}), content_type="application/json")

    return items_config(httpserver, handler, {"type": "offset", "limit": 2}, **settings)


def test_a_stated_total_that_disagrees_with_the_records_read_is_said(httpserver, tmp_path):
    out = run_cli([], offset_config(httpserver, total=6, served=5), tmp_path)
    assert out.returncode == 0 and len(out.records("items")) == 5
    assert "stream 'items': the API stated 6 records (total: 6) but 5 were read" in out.stderr


def test_total_mismatch_error_stops_the_stream(httpserver, tmp_path):
    out = run_cli([], offset_config(httpserver, total=6, served=5, total_mismatch="error"), tmp_path)
    assert out.returncode != 0
    assert out.stderr.strip().splitlines()[-1] == (
        "tap-restgeneric: error: stream 'items': the API stated 6 records (total: 6) but 5 were read (total_mismatch: error)"
    )


def test_a_total_that_agrees_says_nothing(httpserver, tmp_path):
    out = run_cli([], offset_config(httpserver, total=6, served=6), tmp_path)
    assert out.returncode == 0 and "the API stated" not in out.stderr


def metric_lines(stderr: str) -> list[dict]:
    """The SDK's METRIC lines, parsed."""
    return [json.loads(line.split("METRIC: ", 1)[1]) for line in stderr.splitlines() if "METRIC: " in line]


def three_pages(httpserver, **settings) -> dict:
    """Three pages, requested one at a time (no page is requested ahead and left unread)."""
    pages = {"1": [{"id": 1}, {"id": 2}], "2": [{"id": 3}, {"id": 4}], "3": [{"id": 5}]}
    return {**paged_config(httpserver, pages, limit=2, total_path=None), "max_concurrency": 1, **settings}


def test_metric_lines_are_off_by_default_and_the_closing_line_stays(httpserver, tmp_path):
    out = run_cli([], three_pages(httpserver), tmp_path, env={"LOGLEVEL": "INFO"})
    assert out.returncode == 0 and len(httpserver.log) == 3
    assert "METRIC" not in out.stderr
    assert re.search(r"stream 'items': 5 records, 3 pages, \d+\.\d s; paging stopped: short page", out.stderr)


def test_metrics_log_level_info_brings_back_one_metric_line_per_request(httpserver, tmp_path):
    out = run_cli([], three_pages(httpserver, metrics_log_level="INFO"), tmp_path, env={"LOGLEVEL": "INFO"})
    assert out.returncode == 0
    durations = [m for m in metric_lines(out.stderr) if m["metric"] == "http_request_duration"]
    assert len(durations) == len(httpserver.log) == 3
    assert {(m["tags"]["stream"], m["tags"]["http_status_code"]) for m in durations} == {("items", 200)}
    assert [m["value"] for m in metric_lines(out.stderr) if m["metric"] == "record_count"] == [5]


def test_loglevel_debug_brings_back_the_metric_lines(httpserver, tmp_path):
    out = run_cli([], three_pages(httpserver), tmp_path, env={"LOGLEVEL": "DEBUG"})
    assert out.returncode == 0
    assert len([m for m in metric_lines(out.stderr) if m["metric"] == "http_request_duration"]) == 3


def test_metrics_log_level_warning_keeps_them_off_at_debug(httpserver, tmp_path):
    out = run_cli([], three_pages(httpserver, metrics_log_level="WARNING"), tmp_path, env={"LOGLEVEL": "DEBUG"})
    assert out.returncode == 0 and "Beginning sync of 'items'" in out.stderr
    assert metric_lines(out.stderr) == []


def test_an_unknown_metrics_log_level_is_one_config_error_line(httpserver, tmp_path):
    out = run_cli([], three_pages(httpserver, metrics_log_level="LOUD"), tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        "tap-restgeneric: config error: metrics_log_level: 'LOUD' is not one of ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']"
    )
