"""Where the time of `meltano run tap-restgeneric target-duckdb` goes: Meltano's start-up, the tap, the loader.

    bash scripts/setup.sh && .tools/bin/meltano install      # once
    .venv/bin/python benchmarks/meltano_split.py --records 100000

Starts the sandbox's bench API (offset pages of 100 records), runs `meltano run` into a fresh
DuckDB file with the bench source given through Meltano's environment, and splits the wall time
by the timestamps of Meltano's log: until the tap's first line (Meltano's start-up), until its last
line (the tap; the loader runs alongside), and after it (the loader finishing, Meltano ending).
Then the tap alone to /dev/null, for the ratio end-to-end / tap alone. Rows loaded are checked.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench import SECRET, tap_config  # noqa: E402

from tap_restgeneric.sandbox import SandboxServer  # noqa: E402

_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+)Z \[\w+\s*\] (\S+)")


def stamps(log: str, plugin: str) -> list[float]:
    found = []
    for line in log.splitlines():
        match = _STAMP.match(line)
        if match and match.group(2) == plugin:
            found.append(datetime.datetime.fromisoformat(match.group(1)).replace(tzinfo=datetime.timezone.utc).timestamp())
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    meltano = ROOT / ".tools/bin/meltano"
    with SandboxServer(secret=SECRET, bench_records=args.records) as sandbox, tempfile.TemporaryDirectory() as tmp:
        config = tap_config(sandbox.base_url("bench"))
        db = Path(tmp, "split.duckdb")
        env = {
            **os.environ,
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp}/meltano.db",
            "TARGET_DUCKDB_FILEPATH": str(db),
            "TAP_RESTGENERIC_SOURCE": json.dumps(config["source"]),
            "TAP_RESTGENERIC_SECRETS": json.dumps(config["secrets"]),
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        }
        started = time.time()
        proc = subprocess.run(
            [str(meltano), "run", "tap-restgeneric", "target-duckdb"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        ended = time.time()
        if proc.returncode:
            raise SystemExit(proc.stderr[-3000:])
        log = proc.stdout + proc.stderr
        tap = stamps(log, "tap-restgeneric")
        loader = stamps(log, "target-duckdb")
        import duckdb

        con = duckdb.connect(str(db), read_only=True)
        (rows,) = con.execute("SELECT count(*) FROM tap_restgeneric.items").fetchall()[0]
        con.close()
        path = Path(tmp, "tap.json")
        path.write_text(json.dumps(config))
        alone_started = time.time()
        subprocess.run(
            [str(ROOT / ".venv/bin/tap-restgeneric"), "--config", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        alone = time.time() - alone_started
    print(f"meltano run tap-restgeneric target-duckdb, {args.records:,} records ({rows:,} rows loaded)")
    print(f"  Meltano start-up (until the tap's first line): {tap[0] - started:6.2f} s")
    print(f"  the tap (first to last line, loader alongside): {tap[-1] - tap[0]:6.2f} s")
    print(
        f"  after the tap (loader finishing, Meltano ending): {ended - tap[-1]:6.2f} s (loader's last line {loader[-1] - tap[-1]:+.2f} s)"
    )
    print(f"  total: {ended - started:.2f} s; the tap alone to /dev/null: {alone:.2f} s")
    print(f"  end to end, without Meltano's start-up / tap alone: {(ended - tap[0]) / alone:.2f}x")


if __name__ == "__main__":
    main()
