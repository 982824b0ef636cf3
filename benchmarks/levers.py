"""Which speed lever moves what: the tap with one lever undone at a time, same data, one run.

.venv/bin/python benchmarks/levers.py [--records 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench import PAGE_SIZE, SECRET, run, tap_config
from tap_restgeneric.sandbox import SandboxServer

VARIANT = str(Path(__file__).resolve().parent / "variant_tap.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with SandboxServer(secret=SECRET, port=0, bench_records=args.records) as sandbox, tempfile.TemporaryDirectory() as tmp:
        base_url = sandbox.base_url("bench")
        sequential, ahead = Path(tmp, "seq.json"), Path(tmp, "ahead.json")
        sequential.write_text(json.dumps(tap_config(base_url, max_concurrency=1)))
        ahead.write_text(json.dumps(tap_config(base_url)))
        bare = [sys.executable, str(Path(__file__).parent / "bare_loop.py"), base_url, SECRET, str(PAGE_SIZE)]
        contenders = {
            "bare loop": bare,
            "SDK output path (conformance, simplejson, flush per record)": [
                sys.executable,
                VARIANT,
                "sdk-output",
                "--config",
                str(sequential),
            ],
            "fast output path, proxies re-read per request": [
                sys.executable,
                VARIANT,
                "env-proxies",
                "--config",
                str(sequential),
            ],
            "fast output path, proxies resolved once (max_concurrency 1)": [
                sys.executable,
                VARIANT,
                "full",
                "--config",
                str(sequential),
            ],
            "all levers (max_concurrency 16, the default; adaptive)": [sys.executable, VARIANT, "full", "--config", str(ahead)],
        }
        walls: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.runs):
            for name, argv in contenders.items():
                walls[name].append(run(argv)[0])
        base = statistics.median(walls["bare loop"])
        print(f"{args.records:,} records, {PAGE_SIZE} per page, no latency, medians of {args.runs} alternating runs")
        print("| variant | wall s | x bare loop |\n|---|---|---|")
        for name, values in walls.items():
            print(f"| {name} | {statistics.median(values):.2f} | {base / statistics.median(values):.2f} |")


if __name__ == "__main__":
    main()
