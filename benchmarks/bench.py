"""Benchmark: tap-restgeneric against a bare requests loop on the same data, in one run.

    .venv/bin/python benchmarks/bench.py [--records 100000] [--runs 5] [--competitors] [--million]

Starts the sandbox API on 127.0.0.1 (100 records per page, offset pagination, API key
in a header), then, alternating runs, times each contender to /dev/null and reads its
peak RSS (through ``/usr/bin/time``); prints medians, records/s, the ratio to the bare loop and peak
RSS. Then the same with 20 ms of latency per page, and end to end into DuckDB
(target-duckdb-exact, the loader meltano.yml uses), checking exact row counts.
``--competitors`` adds tap-rest-api-msdk 1.4.2 and tap-rest-api-msdk | target-duckdb
0.8.0 (installed under .bench/ by benchmarks/competitors.py). Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tap_restgeneric.sandbox import SandboxServer  # noqa: E402

SECRET = "bench-secret-value"
PAGE_SIZE = 100
BIN = Path(sys.executable).parent
SCHEMA = {
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "amount": {"type": ["number", "null"]},
        "quantity": {"type": ["integer", "null"]},
        "active": {"type": ["boolean", "null"]},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "address": {
            "type": ["object", "null"],
            "properties": {"city": {"type": ["string", "null"]}, "zip": {"type": ["string", "null"]}},
        },
    }
}


def tap_config(base_url: str, **settings) -> dict:
    return {
        "secrets": {"api_key": SECRET},
        "source": {
            "client": {"base_url": base_url, "auth": {"type": "api_key", "name": "api_key", "api_key": "{{ secrets.api_key }}"}},
            "resources": [
                {
                    "name": "items",
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "schema": SCHEMA,
                    "endpoint": {
                        "path": "/v1/items",
                        "data_selector": "data",
                        "paginator": {"type": "offset", "limit": PAGE_SIZE},
                    },
                }
            ],
        },
        **settings,
    }


# Contenders run as from a plain shell: PYTHONUNBUFFERED (set here, and by Meltano) would make
# the bare loop's stdout write through on every record.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


class Measured:
    """A child started through /usr/bin/time: a child forked straight from this (large)
    process would report this process's peak RSS as its own (Linux keeps the high-water
    mark across fork and exec), so the peak is read off a small parent instead."""

    def __init__(self, argv: list[str], **popen) -> None:
        self._rss_file = tempfile.NamedTemporaryFile(suffix=".rss", delete=False)
        self.proc = subprocess.Popen(
            ["/usr/bin/time", "-f", "%M", "-o", self._rss_file.name, *argv], stderr=subprocess.DEVNULL, env=CHILD_ENV, **popen
        )

    def wait(self) -> float:
        """Peak RSS in MB."""
        if self.proc.wait() != 0:
            raise SystemExit(f"{self.proc.args[5]} failed with exit code {self.proc.returncode}")
        with open(self._rss_file.name) as rss:
            peak_kb = int(rss.read().split()[-1])
        os.unlink(self._rss_file.name)
        return peak_kb / 1024


def run(argv: list[str], stdout=subprocess.DEVNULL) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    start = time.perf_counter()
    peak = Measured(argv, stdout=stdout).wait()
    return time.perf_counter() - start, peak


def pipeline(producer: list[str], consumer: list[str]) -> tuple[float, float, float]:
    """Wall seconds of ``producer | consumer`` and the peak RSS (MB) of each."""
    start = time.perf_counter()
    first = Measured(producer, stdout=subprocess.PIPE)
    second = Measured(consumer, stdin=first.proc.stdout, stdout=subprocess.DEVNULL)
    first.proc.stdout.close()
    rss_first, rss_second = first.wait(), second.wait()
    return time.perf_counter() - start, rss_first, rss_second


def count_ids(argv: list[str], records: int) -> str:
    """Run once into a file and check the id set is exactly 1..records."""
    with tempfile.TemporaryFile() as out:
        run(argv, stdout=out)
        out.seek(0)
        ids = []
        for line in out:
            message = json.loads(line)
            if message.get("type") == "RECORD":
                ids.append(message["record"]["id"])
            elif "type" not in message:
                ids.append(message["id"])
    ok = sorted(ids) == list(range(1, records + 1))
    return f"{len(ids)} records, id set {'exact' if ok else 'WRONG'}"


def measure(contenders: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float]]:
    walls: dict[str, list[float]] = {name: [] for name in contenders}
    rss: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(runs):  # alternate: bare, tap, bare, tap, ...
        for name, argv in contenders.items():
            wall, peak = run(argv)
            walls[name].append(wall)
            rss[name].append(peak)
    return {name: (statistics.median(walls[name]), max(rss[name])) for name in contenders}


def table(title: str, results: dict[str, tuple[float, float]], records: int, reference: str) -> None:
    base = results[reference][0]
    print(f"\n{title}")
    print("| what | wall s (median) | records/s | x bare loop (throughput) | peak RSS MB |")
    print("|---|---|---|---|---|")
    for name, (wall, peak) in results.items():
        print(f"| {name} | {wall:.2f} | {records / wall:,.0f} | {base / wall:.2f} | {peak:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--competitors", action="store_true", help="also tap-rest-api-msdk (and | target-duckdb 0.8.0)")
    parser.add_argument("--million", action="store_true", help="also peak RSS of the tap at 1,000,000 records")
    args = parser.parse_args()

    with SandboxServer(secret=SECRET, port=0, bench_records=args.records) as sandbox, tempfile.TemporaryDirectory() as tmp:
        base_url = sandbox.base_url("bench")
        config = Path(tmp, "tap.json")
        config.write_text(json.dumps(tap_config(base_url)))
        bare = [sys.executable, str(ROOT / "benchmarks/bare_loop.py"), base_url, SECRET, str(PAGE_SIZE)]
        tap = [str(BIN / "tap-restgeneric"), "--config", str(config)]
        contenders = {"bare loop (requests + json)": bare, "tap-restgeneric": tap}
        competitors = None
        if args.competitors:
            from benchmarks import competitors as comp

            competitors = comp.ensure_installed(ROOT)
            msdk_config = Path(tmp, "msdk.json")
            msdk_config.write_text(json.dumps(comp.msdk_config(sandbox.url, SECRET, PAGE_SIZE)))
            contenders["tap-rest-api-msdk 1.4.2"] = [str(competitors["tap-rest-api-msdk"]), "--config", str(msdk_config)]

        print(
            f"{args.records:,} records, {PAGE_SIZE} per page, offset pagination, API key header; "
            f"{args.runs} alternating runs, 2 cores ({os.cpu_count()} visible), Python {sys.version.split()[0]}"
        )
        print(
            "correctness:", "; ".join(f"{name}: {count_ids(argv, args.records)}" for name, argv in list(contenders.items())[:2])
        )
        results = measure(contenders, args.runs)
        table("To /dev/null, no latency", results, args.records, "bare loop (requests + json)")

        sandbox.latency_ms = args.latency_ms
        latency = measure({"bare loop (requests + json)": bare, "tap-restgeneric": tap}, max(1, args.runs // 2))
        table(f"To /dev/null, {args.latency_ms:.0f} ms latency per page", latency, args.records, "bare loop (requests + json)")
        print("correctness with latency:", count_ids(tap, args.records))
        sandbox.latency_ms = 0

        print("\nEnd to end into DuckDB")
        print("| what | wall s (median) | records/s | rows loaded | peak RSS tap / loader MB |")
        print("|---|---|---|---|---|")
        import duckdb

        def into_duckdb(name: str, producer: list[str], loader: list[str], db: Path, count) -> float:
            walls, rss = [], []
            for _ in range(max(1, args.runs // 2)):
                db.unlink(missing_ok=True)
                wall, rss_tap, rss_loader = pipeline(producer, loader)
                walls.append(wall)
                rss.append((rss_tap, rss_loader))
            rows = count()
            wall = statistics.median(walls)
            print(
                f"| {name} | {wall:.2f} | {args.records / wall:,.0f} | {rows:,} | {max(r[0] for r in rss):.0f} / {max(r[1] for r in rss):.0f} |"
            )
            return wall

        db = Path(tmp, "restgeneric.duckdb")
        target_config = Path(tmp, "target.json")
        target_config.write_text(json.dumps({"filepath": str(db), "default_target_schema": "bench"}))

        def our_rows() -> int:
            with duckdb.connect(str(db), read_only=True) as con:
                return con.execute("SELECT count(*) FROM bench.items").fetchall()[0][0]

        ours = into_duckdb(
            "tap-restgeneric | target-duckdb-exact",
            tap,
            [str(BIN / "target-duckdb-exact"), "--config", str(target_config)],
            db,
            our_rows,
        )
        if competitors:
            theirs_db = Path(tmp, "msdk.duckdb")
            theirs_config = Path(tmp, "msdk-target.json")
            theirs_config.write_text(json.dumps(comp.target_duckdb_config(str(theirs_db))))
            theirs = into_duckdb(
                "tap-rest-api-msdk | target-duckdb 0.8.0",
                contenders["tap-rest-api-msdk 1.4.2"],
                [str(competitors["target-duckdb"]), "--config", str(theirs_config)],
                theirs_db,
                lambda: comp.count_rows(str(theirs_db), "bench", "items"),
            )
            print(f"end to end: tap-restgeneric is {theirs / ours:.1f}x faster")

    if args.million:
        with SandboxServer(secret=SECRET, port=0, bench_records=1_000_000) as big, tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp, "tap.json")
            config.write_text(json.dumps(tap_config(big.base_url("bench"))))
            tap = [str(BIN / "tap-restgeneric"), "--config", str(config)]
            wall, peak = run(tap)
            print(
                f"\n1,000,000 records: tap-restgeneric {wall:.1f} s, peak RSS {peak:.0f} MB "
                f"({peak / results['tap-restgeneric'][1]:.2f}x the {args.records:,}-record run); {count_ids(tap, 1_000_000)}"
            )

    print(key_and_cursor_cost())
    print(schema_check_cost())
    print(processing_steps_cost())


def key_and_cursor_cost(samples: int = 200_000) -> str:
    """What the per-record checks of keys and cursors cost, on this benchmark's records: the primary
    key present (every stream with a key), and for an incremental stream its date-time cursor parsed
    twice (the window's start, and the bookmark: values.CursorType)."""
    import timeit

    from tap_restgeneric.sandbox.data import bench_record
    from tap_restgeneric.streams.incremental import Window
    from tap_restgeneric.values import CursorType, without_key

    records = [bench_record(i) for i in range(1, 101)]
    keys = timeit.timeit(lambda: without_key(records, ("id",)), number=samples // 100)
    cursor = CursorType.of("created_at", SCHEMA["properties"]["created_at"])
    window = Window(cursor, start="2020-01-01T00:00:00Z")
    cursors = timeit.timeit(
        lambda: (window.keep(records), [cursor.parse(r["created_at"]) for r in records]), number=samples // 100
    )
    return (
        f"\nprimary key check: {keys / samples * 1e6:.2f} us per record; "
        f"date-time cursor (window and bookmark): {cursors / samples * 1e6:.2f} us per record"
    )


def schema_check_cost(samples: int = 200_000) -> str:
    """What the per-record schema check costs (output.conformance: the records that fit skip the
    SDK's conformance and the schema-drift handling), on this benchmark's records."""
    import timeit

    from tap_restgeneric.output.conformance import ConformanceCheck
    from tap_restgeneric.sandbox.data import bench_record

    check = ConformanceCheck(SCHEMA).check
    records = [bench_record(i) for i in range(1, 101)]
    seconds = timeit.timeit(lambda: [check(r) for r in records], number=samples // 100)
    fields = len(SCHEMA["properties"])
    return f"schema check (fit to SCHEMA, {fields} fields): {seconds / samples * 1e6:.2f} us per record"


def processing_steps_cost(samples: int = 20_000) -> str:
    """What declarative processing_steps cost per record (one filter, a map of two fields, an
    exclude; compiled once, run in the bounded Jinja sandbox), on this benchmark's records."""
    import timeit

    from tap_restgeneric.sandbox.data import bench_record
    from tap_restgeneric.source.steps import compile_steps
    from tap_restgeneric.streams.processing import Steps

    written = [
        {"filter": "{{ record.active }}"},
        {"map": {"label": "{{ record.name | upper }}", "total": "{{ record.amount * record.quantity }}"}},
        {"exclude": ["tags"]},
    ]
    problems: list[str] = []
    steps = Steps(compile_steps(written, "processing_steps", problems.append), {})
    assert not problems, problems
    records = [bench_record(i) for i in range(1, 101)]
    seconds = timeit.timeit(lambda: [steps.apply(r) for r in records], number=samples // 100)
    return f"processing_steps (filter, map of 2 fields, exclude): {seconds / samples * 1e6:.1f} us per record"


if __name__ == "__main__":
    main()
