"""Where the time of `meltano run tap-restgeneric target-duckdb` goes: Meltano's start-up, discovery, the sync.

    bash scripts/setup.sh && .tools/bin/meltano install      # once
    .venv/bin/python benchmarks/meltano_split.py --records 100000

Starts the sandbox's bench API (offset pages of 100 records), reads it once untimed (the sandbox
caches the pages it encodes), runs `meltano run` into a fresh
DuckDB file with the bench source given through Meltano's environment, and watches the processes
under Meltano (``/proc``, every 20 ms) for when each started and the CPU seconds each used:

* Meltano's start-up: until it starts the tap with ``--discover``. This project's ``meltano.yml``
  installs the tap editable (``-e .``), and Meltano does not cache the catalog of an editable
  plugin; installed from PyPI, the catalog is cached and discovery runs only when the config changes.
* discovery: until Meltano starts the tap and the loader for the sync.
* the sync: from then until the tap and the loader have both exited (both importing, the records
  flowing through Meltano, the loader's last batch);
* Meltano's end: from then until ``meltano run`` ends (saving the state, Python exiting).

After each run the tap alone to /dev/null (its start-up included), for the ratio sync under
Meltano / tap alone (and with Meltano's end added). Rows loaded are checked. ``--batch`` sets the tap's ``batch_config`` (JSON-lines files
of 50,000 records, uncompressed, in a temporary folder) for the Meltano run and the tap alone:
BATCH messages instead of a RECORD line per record.
"""

from __future__ import annotations

import argparse
import contextlib
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
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench import PAGE_SIZE, SECRET, tap_config  # noqa: E402

from tap_restgeneric.sandbox import SandboxServer  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def boot_time() -> float:
    """The epoch second the machine booted: process start times in /proc count from it."""
    with open("/proc/uptime") as uptime:
        return time.time() - float(uptime.read().split()[0])


def children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listed:
                found += [int(child) for child in listed.read().split()]
    return found


def watched(pid: int) -> dict[int, dict]:
    """Every live process under ``pid`` (itself included): its command line, start and CPU seconds.
    Read from /proc/PID/task/*/children and /proc/PID/stat only: scanning all of /proc every
    10 ms took a good part of a core from the sandbox serving the pages, in this process."""
    found, todo = {}, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/stat") as stat_file:
                fields = stat_file.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{current}/cmdline") as cmdline:
                args = cmdline.read().split("\0")
        except OSError:
            continue
        found[current] = {"args": args, "started": int(fields[19]) / TICK, "cpu": (int(fields[11]) + int(fields[12])) / TICK}
        todo += children(current)
    return found


def role(pid: int, meltano_pid: int, args: list[str]) -> str:
    line = " ".join(args)
    if pid == meltano_pid:
        return "meltano"
    if "tap-restgeneric" in line and "--discover" in line:
        return "discovery"
    if "bin/tap-restgeneric" in line:
        return "tap"
    if "target-duckdb" in line:
        return "loader"
    return "other"


def meltano_run(meltano: Path, env: dict, tmp: str) -> dict[str, float]:
    """One `meltano run` into a fresh DuckDB file: its phases (seconds) and CPU seconds per process."""
    booted = boot_time()
    db = Path(tmp, "split.duckdb")
    db.unlink(missing_ok=True)
    Path(tmp, "meltano.db").unlink(missing_ok=True)  # no state: every run syncs everything
    seen: dict[str, dict] = {}
    started = time.time()
    with open(Path(tmp, "meltano.log"), "w") as log:
        proc = subprocess.Popen(
            [str(meltano), "run", "tap-restgeneric", "target-duckdb"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        while proc.poll() is None:
            now = time.time()
            for pid, info in watched(proc.pid).items():
                name = role(pid, proc.pid, info["args"])
                if name not in seen or seen[name]["started"] == info["started"]:
                    seen[name] = {**info, "last_seen": now}  # the first process of each role, as last seen
                    if name == "tap" and "meltano_at_sync" not in seen:
                        seen["meltano_at_sync"] = seen["meltano"]
            time.sleep(0.02)
    ended = time.time()
    if proc.returncode:
        raise SystemExit(Path(tmp, "meltano.log").read_text()[-3000:])
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        (rows,) = con.execute("SELECT count(*) FROM tap_restgeneric.items").fetchall()[0]
    sync_start = booted + seen["tap"]["started"]
    discovery_start = booted + seen["discovery"]["started"] if "discovery" in seen else sync_start
    sync_end = max(seen["tap"]["last_seen"], seen["loader"]["last_seen"]) + 0.01  # within a poll (20 ms)
    return {
        "rows": rows,
        "start-up": discovery_start - started,
        "discovery": sync_start - discovery_start,
        "sync": sync_end - sync_start,
        "end": ended - sync_end,
        "total": ended - started,
        "cpu tap": seen["tap"]["cpu"],
        "cpu loader": seen["loader"]["cpu"],
        "cpu Meltano during the sync": seen["meltano"]["cpu"] - seen["meltano_at_sync"]["cpu"],
    }


def tap_alone(config_path: Path) -> float:
    started = time.time()
    argv = [str(ROOT / ".venv/bin/tap-restgeneric"), "--config", str(config_path)]
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="alternating runs of each; medians are printed")
    parser.add_argument("--batch", action="store_true", help="BATCH messages (the tap's batch_config) instead of RECORDs")
    args = parser.parse_args()
    meltano = ROOT / ".tools/bin/meltano"
    with SandboxServer(secret=SECRET, bench_records=args.records) as sandbox, tempfile.TemporaryDirectory() as tmp:
        config = tap_config(sandbox.base_url("bench"))
        if args.batch:
            config["batch_config"] = {
                "encoding": {"format": "jsonl", "compression": "none"},
                "storage": {"root": Path(tmp, "batches").as_uri()},
                "batch_size": 50_000,
            }
        env = {
            **os.environ,
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp}/meltano.db",
            "TARGET_DUCKDB_FILEPATH": str(Path(tmp, "split.duckdb")),
            "TAP_RESTGENERIC_SOURCE": json.dumps(config["source"]),
            "TAP_RESTGENERIC_SECRETS": json.dumps(config["secrets"]),
            **({"TAP_RESTGENERIC_BATCH_CONFIG": json.dumps(config["batch_config"])} if args.batch else {}),
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        }
        config_path = Path(tmp, "tap.json")
        config_path.write_text(json.dumps(config))
        # The sandbox encodes each page once and then serves it from memory: an untimed pass
        # first, so that neither the Meltano run nor the tap alone pays for that.
        warm = [sys.executable, str(ROOT / "benchmarks/bare_loop.py"), sandbox.base_url("bench"), SECRET, str(PAGE_SIZE)]
        subprocess.run(warm, stdout=subprocess.DEVNULL, check=True)
        runs, alone = [], []
        for _ in range(args.runs):
            runs.append(meltano_run(meltano, env, tmp))
            alone.append(tap_alone(config_path))
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    ratios = [run["sync"] / seconds for run, seconds in zip(runs, alone, strict=True)]
    with_end = [(run["sync"] + run["end"]) / seconds for run, seconds in zip(runs, alone, strict=True)]
    messages = "BATCH messages" if args.batch else "RECORD messages"
    print(f"meltano run tap-restgeneric target-duckdb, {args.records:,} records, {messages}; medians of {args.runs} runs")
    loaded = ", ".join(f"{run['rows']:,}" for run in runs)
    print(f"  rows loaded: {loaded}")
    print(f"  Meltano start-up (until it starts the tap --discover):   {median['start-up']:6.2f} s")
    print(f"  discovery (not run for a PyPI install's cached catalog): {median['discovery']:6.2f} s")
    print(f"  the sync (the tap and the loader, from start to exit):   {median['sync']:6.2f} s")
    print(f"  Meltano's end (saving the state, exiting):               {median['end']:6.2f} s")
    print(f"  total: {median['total']:.2f} s; the tap alone to /dev/null: {statistics.median(alone):.2f} s")
    print("  CPU seconds: " + ", ".join(f"{key[4:]} {value:.2f}" for key, value in median.items() if key.startswith("cpu ")))
    listed = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"  the sync under Meltano / the tap alone: {statistics.median(ratios):.2f}x (runs: {listed})")
    listed = ", ".join(f"{r:.2f}" for r in with_end)
    print(f"  with Meltano's end too:                 {statistics.median(with_end):.2f}x (runs: {listed})")


if __name__ == "__main__":
    main()
