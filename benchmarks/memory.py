"""Benchmark: peak RSS of the tap against the number of streams, and of parents, in flight.

    .venv/bin/python benchmarks/memory.py [--counts 20,60,180] [--page-mb 2] [--settings '{"max_buffer_mb": 16}']

A loopback API serves pages of about ``--page-mb`` MiB (records of 1 KiB of text and a few fields):

- **streams**: N top-level resources of one such page each (``single_page``), synced at the defaults
  (``stream_concurrency`` 8: the pages of later streams are requested while earlier ones are written),
  then with ``stream_concurrency: 1`` for reference;
- **parents**: one resource of N parent records, and a child resource with one such page per parent
  (requested ahead on ``max_concurrency`` threads while earlier parents' children are written), then with
  ``max_concurrency: 1``.

Each sync runs the CLI to /dev/null under /usr/bin/time and prints its peak RSS (MB) and wall time. A
bound on what waits holds when the figures stay flat as N grows. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAP = Path(sys.executable).parent / "tap-restgeneric"
SCHEMA = {
    "properties": {
        "id": {"type": "integer"},
        "parent": {"type": ["integer", "null"]},
        "name": {"type": ["string", "null"]},
        "amount": {"type": ["number", "null"]},
        "text": {"type": ["string", "null"]},
    }
}


def page(records: int, parent: int | None = None) -> bytes:
    rows = [
        {"id": i, "parent": parent, "name": f"record {i}", "amount": i * 1.5, "text": f"{i:08d}" + "x" * 1016}
        for i in range(records)
    ]
    return json.dumps({"data": rows}).encode()


class Api(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, page_mb: float, parents: int) -> None:
        self.page_records = max(1, int(page_mb * 1024 * 1024 / 1100))
        self.body = page(self.page_records)  # the same bytes for every stream: the tap parses each anew
        self.parents_body = json.dumps({"data": [{"id": i} for i in range(parents)]}).encode()
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(http.server.BaseHTTPRequestHandler):
    server: Api
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = self.server.parents_body if self.path.startswith("/parents?") or self.path == "/parents" else self.server.body
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def streams_source(base_url: str, count: int) -> dict:
    return {
        "client": {"base_url": base_url, "paginator": "single_page"},
        "resources": [
            {"name": f"s{i}", "primary_key": "id", "schema": SCHEMA, "endpoint": {"path": f"/s/{i}", "data_selector": "data"}}
            for i in range(count)
        ],
    }


def parents_source(base_url: str) -> dict:
    return {
        "client": {"base_url": base_url, "paginator": "single_page"},
        "resources": [
            {
                "name": "parents",
                "primary_key": "id",
                "schema": {"properties": {"id": {"type": "integer"}}},
                "endpoint": {"path": "/parents", "data_selector": "data"},
            },
            {
                "name": "children",
                "primary_key": "id",
                "schema": SCHEMA,
                "endpoint": {"path": "/parents/{resources.parents.id}/children", "data_selector": "data"},
            },
        ],
    }


def measure(config: dict) -> tuple[float, float]:
    """Peak RSS (MB) and wall seconds of one sync through the CLI, to /dev/null."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "config.json")
        path.write_text(json.dumps(config))
        rss = Path(tmp, "rss")
        started = time.perf_counter()
        # Through /usr/bin/time: a child forked from this process would inherit its high-water mark.
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", str(rss), str(TAP), "--config", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"the sync failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
        return int(rss.read_text().split()[-1]) / 1024, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="20,60,180", help="numbers of streams and of parents")
    parser.add_argument("--page-mb", type=float, default=2.0)
    parser.add_argument("--settings", default="{}", help="settings (JSON) added to every sync")
    parser.add_argument("--only", choices=["streams", "parents"], help="one of the two scenarios")
    args = parser.parse_args()
    counts = [int(n) for n in args.counts.split(",")]
    extra = json.loads(args.settings)
    api = Api(args.page_mb, max(counts))
    threading.Thread(target=api.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{api.server_address[1]}"
    print(
        f"pages of {len(api.body) / 2**20:.2f} MiB ({api.page_records:,} records); settings {extra or 'defaults'}; "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    print("| scenario | in flight | setting | peak RSS MB | wall s |")
    print("|---|---|---|---|---|")
    scenarios = {
        "streams": (lambda n: {"source": streams_source(base_url, n)}, {"stream_concurrency": 1}),
        "parents": (lambda n: {"source": parents_source(base_url)}, {"max_concurrency": 1}),
    }
    for name, (config_for, sequential) in scenarios.items():
        if args.only and name != args.only:
            continue
        for variant in ({}, sequential):
            for count in counts:
                config = {**config_for(count), **extra, **variant}
                if name == "parents":
                    api.parents_body = json.dumps({"data": [{"id": i} for i in range(count)]}).encode()
                peak, wall = measure(config)
                label = ", ".join(f"{k}: {v}" for k, v in variant.items()) or "defaults"
                print(f"| {name} | {count} | {label} | {peak:.0f} | {wall:.1f} |", flush=True)
    api.shutdown()


if __name__ == "__main__":
    main()
