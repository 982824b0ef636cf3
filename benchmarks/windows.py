"""Date windows and partitions under latency: a 7-day-capped report API over two years, three accounts.

Serves the sandbox's ``reports`` API on a loopback port of its own, with the range capped at 7 days and
``--latency-ms`` (200) before each answer, and syncs it in this process with windows of ``P7D`` (105
windows x 3 accounts = 315 requests, one page each) at ``max_concurrency`` 16 (the default), then
prints, per run and as medians:

- ``floor/wall``: the time a sequential sync spends waiting (requests needed x latency) over the
  wall time of the sync (at least 3 is the bar);
- ``requests sent/needed``: the requests the server saw over those a sequential sync needs (one per
  window and account; at most 1.05 is the bar);
- that the records and STATE messages equal those of a sequential sync (``--check``, one run at
  ``max_concurrency`` 1 first: 63 s at 200 ms).

    python benchmarks/windows.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from inprocess import sync_lines

from tap_restgeneric.sandbox.apis import reports

ACCOUNTS = list(reports.ACCOUNTS)
NOW = "2026-01-04T12:00:00Z"  # 2024-01-01 + 105 weeks, less a few days: 105 windows
WINDOWS = 105


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, latency: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.latency = latency
        self.lock = threading.Lock()
        self.seen: list[str] = []


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        with self.server.lock:
            self.server.seen.append(self.path)
        time.sleep(self.server.latency)
        answer = reports.answer(parts.path.removeprefix("/reports"), parse_qs(parts.query), max_days=7)
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
        pass


def config(base_url: str, concurrency: int) -> dict:
    return {
        "source": {
            "client": {"base_url": base_url},
            "resources": [
                {
                    "name": "activity",
                    "primary_key": "id",
                    "schema": {
                        "properties": {name: {"type": "string"} for name in ("id", "account", "kind", "updated_at")}
                        | {"amount": {"type": "integer"}}
                    },
                    "partitions": [{"name": "account", "values": "{{ config.accounts }}"}],
                    "endpoint": {
                        "path": "/v1/accounts/{partition.account}/activity",
                        "data_selector": "data",
                        "paginator": {"type": "page_number", "base_page": 1, "total_path": "total_pages"},
                        "incremental": {
                            "cursor_path": "updated_at",
                            "initial_value": "2024-01-01",
                            "step": "P7D",
                            "cursor_granularity": "P1D",
                            "datetime_format": "%Y-%m-%d",
                            "cursor_datetime_formats": ["%Y-%m-%dT%H:%M:%SZ"],
                            "start_time_option": {"inject_into": "request_parameter", "field_name": "start_date"},
                            "end_time_option": {"inject_into": "request_parameter", "field_name": "end_date"},
                        },
                    },
                }
            ],
        },
        "accounts": ACCOUNTS,
        "max_concurrency": concurrency,
    }


def run(latency: float, concurrency: int) -> tuple[float, int, list[str]]:
    """(wall seconds, requests the server saw, the RECORD and STATE lines without time_extracted)."""
    server = _Server(latency)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        seconds, lines = sync_lines(config(f"http://127.0.0.1:{server.server_address[1]}/reports", concurrency))
    finally:
        server.shutdown()
        server.server_close()
    kept = []
    for line in lines:
        message = json.loads(line)
        if message["type"] in ("RECORD", "STATE"):
            message.pop("time_extracted", None)
            kept.append(json.dumps(message, sort_keys=True))
    return seconds, len(server.seen), kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--check", action="store_true", help="compare the output with a sequential sync's")
    args = parser.parse_args()
    os.environ["TAP_RESTGENERIC_TEST_NOW"] = NOW  # the sync's now, fixed before any tap is made
    latency = args.latency_ms / 1000
    needed = WINDOWS * len(ACCOUNTS)
    floor = needed * latency
    expected = run(latency, 1)[2] if args.check else None
    ratios, sent_ratios = [], []
    for index in range(args.runs):
        wall, sent, output = run(latency, args.concurrency)
        ratios.append(floor / wall)
        sent_ratios.append(sent / needed)
        same = "" if expected is None else f"  output {'=' if output == expected else '!='} sequential"
        print(
            f"run {index + 1}: wall {wall:.2f} s  floor {floor:.1f} s  floor/wall {floor / wall:.1f}  "
            f"requests sent/needed {sent}/{needed} = {sent / needed:.3f}{same}"
        )
    print(
        f"median of {args.runs}: floor/wall {statistics.median(ratios):.1f} (bar >= 3), "
        f"requests sent/needed {statistics.median(sent_ratios):.3f} (bar <= 1.05); "
        f"{WINDOWS} windows x {len(ACCOUNTS)} accounts, {args.latency_ms:.0f} ms latency, max_concurrency {args.concurrency}"
    )


if __name__ == "__main__":
    main()
