"""Parent/child syncs: fan-out under latency, and the size of STATE with many parents.

Runs the tap in this process against the sandbox's tracker API (issues -> comments, comments
incremental with one bookmark per issue) and prints medians:

    python benchmarks/fanout.py --parents 1000 --latency-ms 20 --runs 3
    python benchmarks/fanout.py --state-only --parents 100000

- wall time of a whole sync with ``max_concurrency`` 1 (the SDK's one parent at a time) and the
  default (``DEFAULT_MAX_CONCURRENCY``, 16: children of upcoming parents requested ahead), and their ratio;
- the size of the last STATE message, its partitions, and the time spent, with the default
  ``max_parent_bookmarks`` and with it raised above the number of parents.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from inprocess import sync_lines

from tap_restgeneric.sandbox import SandboxServer
from tap_restgeneric.sandbox.apis.tracker import Tracker
from tap_restgeneric.settings import DEFAULT_MAX_CONCURRENCY

SECRET = "bench-secret"


def source(base_url: str) -> dict:
    return {
        "client": {"base_url": base_url, "auth": {"type": "bearer", "token": "{{ secrets.token }}"}},
        "resources": [
            {
                "name": "issues",
                "endpoint": {"path": "issues", "params": {"per_page": 100}, "paginator": {"type": "header_link"}},
                "primary_key": "id",
                "schema": {"properties": {"id": {"type": "integer"}, "number": {"type": "integer"}}},
            },
            {
                "name": "comments",
                "endpoint": {
                    "path": "issues/{resources.issues.number}/comments",
                    "params": {"per_page": 100},
                    "paginator": {"type": "header_link"},
                    "incremental": {"start_param": "since", "cursor_path": "updated_at", "initial_value": "2024-01-01T00:00:00Z"},
                },
                "include_from_parent": ["number"],
                "primary_key": "id",
                "schema": {"properties": {"id": {"type": "integer"}, "updated_at": {"type": "string"}}},
            },
        ],
    }


def sync_once(base_url: str, **settings) -> tuple[float, int, str]:
    """(seconds, records, last STATE line) of one sync; output kept in memory."""
    config = {"source": source(base_url), "secrets": {"token": SECRET}, **settings}
    seconds, lines = sync_lines(config)
    records = sum(1 for line in lines if line.startswith(('{"type":"RECORD"', '{"type": "RECORD"')))
    state = next(line for line in reversed(lines) if '"STATE"' in line[:20])
    return seconds, records, state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parents", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--state-only", action="store_true", help="only the STATE size (no latency, one run each)")
    args = parser.parse_args()
    with SandboxServer(secret=SECRET) as sandbox:
        sandbox.tracker = Tracker(issue_count=args.parents)
        base_url = sandbox.base_url("tracker")
        if not args.state_only:
            sandbox.latency_ms = args.latency_ms
            print(f"{args.parents:,} parents, {args.latency_ms:g} ms per request, median of {args.runs} runs")
            medians = {}
            for concurrency in (1, DEFAULT_MAX_CONCURRENCY):
                times = [sync_once(base_url, max_concurrency=concurrency)[0] for _ in range(args.runs)]
                medians[concurrency] = statistics.median(times)
                print(f"  max_concurrency {concurrency}: {medians[concurrency]:.2f} s")
            print(f"  fan-out speed-up: {medians[1] / medians[DEFAULT_MAX_CONCURRENCY]:.1f}x")
            sandbox.latency_ms = 0
        print(f"STATE after one sync of {args.parents:,} parents (no latency)")
        for label, settings in (
            ("default max_parent_bookmarks", {}),
            ("max_parent_bookmarks above the parents", {"max_parent_bookmarks": args.parents + 1}),
        ):
            seconds, records, state = sync_once(base_url, **settings)
            partitions = len(json.loads(state)["value"]["bookmarks"]["comments"].get("partitions", []))
            print(f"  {label}: {len(state.encode()):,} bytes, {partitions:,} partitions, {records:,} records in {seconds:.1f} s")


if __name__ == "__main__":
    main()
