"""Whole syncs under API latency: every preset, and a parent/child fan-out, against the floor of a
client that sends one request at a time.

    python benchmarks/whole.py                 # 0, 50 and 200 ms per response
    python benchmarks/whole.py --latency 200 --parents 500

For each preset: the requests a sequential client needs (the tap with stream_concurrency 1 and
max_concurrency 1, counted at the sandbox), the requests the tap sends with its defaults, the
floor (needed x latency), the tap's wall time and floor / wall; every stream's id set is checked
against the sandbox. The fan-out scenario syncs the tracker's issues and one page of comments
per issue. The tap runs in this process (its start-up is not in the figures).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from inprocess import sync_lines

from tap_restgeneric.sandbox import SandboxServer
from tap_restgeneric.sandbox.apis.tracker import Tracker
from tap_restgeneric.source import PRESETS

SECRET = "bench-secret"
SECRET_NAME = {"incidents": "api_token"}


def run(config: dict) -> tuple[float, dict[str, list]]:
    """(wall seconds, ids per stream) of one in-process sync."""
    wall, lines = sync_lines(config)
    ids: dict[str, list] = {}
    for line in lines:
        message = json.loads(line)
        if message["type"] == "RECORD":
            ids.setdefault(message["stream"], []).append(message["record"].get("id"))
    return wall, ids


def preset_config(sandbox: SandboxServer, api: str, **settings) -> dict:
    return {"api": api, "base_url": sandbox.base_url(api), "secrets": {SECRET_NAME.get(api, "api_key"): SECRET}, **settings}


def fanout_config(sandbox: SandboxServer, **settings) -> dict:
    source = {
        "client": {"base_url": sandbox.base_url("tracker"), "auth": {"token": "{{ secrets.token }}"}},
        "resources": [
            {"name": "issues", "endpoint": {"path": "issues", "params": {"per_page": 100}, "paginator": "header_link"}},
            {
                "name": "comments",
                "endpoint": {
                    "path": "issues/{resources.issues.number}/comments",
                    "params": {"per_page": 100},
                    "paginator": "header_link",
                },
                "schema": {"properties": {"id": {"type": "integer"}, "body": {"type": ["string", "null"]}}},
            },
        ],
    }
    source["resources"][0]["schema"] = {"properties": {"id": {"type": "integer"}, "number": {"type": "integer"}}}
    return {"source": source, "secrets": {"token": SECRET}, **settings}


def measure(sandbox: SandboxServer, name: str, config, latencies: list[float], check) -> None:
    sandbox.latency_ms = 0
    sandbox.clear_requests()
    _, ids = run(config(stream_concurrency=1, max_concurrency=1))
    needed = len(sandbox.requests)
    check(ids)
    for latency in latencies:
        sandbox.latency_ms = latency
        sandbox.clear_requests()
        wall, ids = run(config())
        sent = len(sandbox.requests)
        check(ids)
        floor = needed * latency / 1000
        ratio = f"{floor / wall:5.2f}" if latency else "    -"
        print(f"{name:16} {latency:5.0f} ms {needed:7} {sent:5} ({sent / needed:4.2f}x) {floor:7.1f} s {wall:7.2f} s {ratio}")
    sandbox.latency_ms = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, action="append", help="ms per response (repeatable; default 0, 50, 200)")
    parser.add_argument("--parents", type=int, default=500)
    args = parser.parse_args()
    latencies = args.latency or [0, 50, 200]
    print(f"{'source':16} {'latency':>8} {'needed':>7} {'sent':>13} {'floor':>9} {'wall':>9} floor/wall")
    with SandboxServer(secret=SECRET) as sandbox:
        for api in PRESETS:

            def check(ids: dict[str, list], api: str = api) -> None:
                for stream, got in ids.items():
                    assert sorted(map(str, got)) == sorted(map(str, sandbox.ids(api, stream))), f"{api}.{stream}"

            measure(sandbox, api, lambda api=api, **settings: preset_config(sandbox, api, **settings), latencies, check)
        sandbox.tracker = Tracker(issue_count=args.parents)

        def check_tree(ids: dict[str, list]) -> None:
            assert len(ids["issues"]) == args.parents
            assert len(ids.get("comments", [])) == sum(len(found) for found in sandbox.tracker.comments.values())

        measure(sandbox, f"fan-out {args.parents}", lambda **settings: fanout_config(sandbox, **settings), latencies, check_tree)


if __name__ == "__main__":
    main()
