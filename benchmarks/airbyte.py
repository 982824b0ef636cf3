"""Airbyte manifests: a whole sync of a manifest on the tap against the Airbyte CDK, on the same mock API.

For each connector (default: every golden the tap accepts that makes 10 requests or more), the oracle's mock API
(tests/airbyte/mockapi.py) serves the manifest's streams on loopback, and a first sync runs as a user runs it,
one process per sync, "now" frozen at the goldens' instant:

- the tap: ``tap-restgeneric --config C`` (``source_file`` the manifest, ``manifest_config`` the connector's config);
- the CDK: ``source-declarative-manifest read`` in its own venv (``.airbyte-cdk``, made by
  ``scripts/airbyte/setup_cdk.sh``; ``scripts/airbyte/cdk_runner.py`` freezes its "now"). Without that venv, the
  CDK's wall times recorded when the goldens were made (``tests/airbyte/cdk_timings.json``, first run; same
  machine, same mock) stand in, and the output says so.

Prints per connector the wall time of each side, their ratio (the CDK's over the tap's; the bar is 3) and the
tap's peak RSS, then the totals. Wall times are medians over ``--runs`` runs.

``--latency-ms N`` makes each of the mock's answers wait N ms before it goes out (both sides get the same mock), as a
real API's round trip does; by default the mock answers at once.

``--grow`` instead syncs one connector (``--connector``, default ``cursor_pagination``) with the mock's pages
made 1, 10, 100, 1,000 and 10,000 times longer, and prints the records and the tap's peak RSS for each: memory stays
flat as records grow.

    .venv/bin/python benchmarks/airbyte.py [--runs 3] [--connector NAME ...] [--latency-ms 50] [--grow]
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

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.airbyte import mockapi, oracle  # noqa: E402
from tests.airbyte.test_tap_goldens import ACCEPTED, NULLS_OMITTED_BY_THE_CDK  # noqa: E402

CDK_PYTHON = ROOT / ".airbyte-cdk" / "bin" / "python"
RUNNER = ROOT / "scripts" / "airbyte" / "cdk_runner.py"
TIMINGS = json.loads((ROOT / "tests" / "airbyte" / "cdk_timings.json").read_text())
TAP = [sys.executable, "-c", "from tap_restgeneric.cli import main; main()"]


def _timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in KiB, RECORD lines) of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    records = sum(1 for line in process.stdout if b'"type": "RECORD"' in line or b'"type":"RECORD"' in line)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{args[-1]}: exit {process.returncode}")
    return wall, usage.ru_maxrss, records


def run_one(name: str, runs: int, latency: float = 0.0) -> dict[str, object]:
    with mockapi.MockServer(latency=latency) as server, tempfile.TemporaryDirectory(prefix=f"bench-airbyte-{name}-") as tmp:
        work = Path(tmp)
        setup = oracle.golden_setup(name, server)
        (work / "manifest.yaml").write_text(yaml.safe_dump(setup.manifest, sort_keys=False))
        config = {
            "source_file": str(work / "manifest.yaml"),
            "manifest_config": setup.config,
            "token_store": str(work / "t.json"),
        }
        (work / "tap.json").write_text(json.dumps(config))
        (work / "config.json").write_text(json.dumps(setup.config))
        (work / "catalog.json").write_text(json.dumps(setup.catalog))
        env = {**os.environ, **oracle.tap_environment(setup)}
        tap = []
        for _ in range(runs):
            setup.api.reset()
            tap.append(_timed([*TAP, "--config", str(work / "tap.json")], work, env))
        cdk_walls: list[float] = []
        source = "measured now"
        if CDK_PYTHON.exists():
            args = [str(CDK_PYTHON), str(RUNNER), oracle.now_text(), "read", "--config", "config.json"]
            args += ["--manifest-path", "manifest.yaml", "--catalog", "catalog.json"]
            for _ in range(runs):
                setup.api.reset()
                cdk_walls.append(_timed(args, work, dict(os.environ))[0])
        else:
            cdk_walls = [float(TIMINGS[name]["wall_s"][0])]
            source = "tests/airbyte/cdk_timings.json (no CDK venv here)"
    tap_wall = statistics.median(w for w, _, _ in tap)
    cdk_wall = statistics.median(cdk_walls)
    return {
        "connector": name,
        "records": tap[0][2],
        "requests": TIMINGS.get(name, {}).get("requests", [None])[0],
        "tap_wall_s": round(tap_wall, 2),
        "cdk_wall_s": round(cdk_wall, 2),
        "ratio": round(cdk_wall / tap_wall, 1),
        "tap_peak_rss_mib": round(max(rss for _, rss, _ in tap) / 1024, 1),
        "cdk_source": source,
    }


def grow(name: str) -> None:
    """The tap's peak RSS as the mock's pages grow (its records per page and per partition times a factor)."""
    page, partition = mockapi.CURSOR_PAGE_LENGTH, mockapi.RECORDS_PER_PARTITION
    print(f"{'factor':>7} {'records':>9} {'tap s':>6} {'tap RSS MiB':>11}")
    for factor in (1, 10, 100, 1000, 10000):
        mockapi.CURSOR_PAGE_LENGTH, mockapi.RECORDS_PER_PARTITION = page * factor, partition * factor
        row = run_one(name, 1)
        print(f"{factor:>7} {row['records']:>9} {row['tap_wall_s']:>6} {row['tap_peak_rss_mib']:>11}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connector", action="append", help="a golden the tap accepts (default: those with >= 10 requests)")
    parser.add_argument("--grow", action="store_true", help="peak RSS as the records grow, for one connector")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="each mock answer waits this long (a real API's round trip)"
    )
    args = parser.parse_args()
    if args.grow:
        grow((args.connector or ["cursor_pagination"])[0])
        return
    names = args.connector or [
        n for n in [*ACCEPTED, *NULLS_OMITTED_BY_THE_CDK] if n in TIMINGS and (TIMINGS[n]["requests"][0] or 0) >= 10
    ]
    rows = [run_one(name, args.runs, args.latency_ms / 1000) for name in sorted(names)]
    print(f"{'connector':28} {'requests':>8} {'records':>7} {'tap s':>6} {'CDK s':>6} {'ratio':>6} {'tap RSS MiB':>11}")
    for row in rows:
        print(
            f"{row['connector']:28} {row['requests']!s:>8} {row['records']:>7} {row['tap_wall_s']:>6} "
            f"{row['cdk_wall_s']:>6} {row['ratio']:>6} {row['tap_peak_rss_mib']:>11}"
        )
    tap_total = sum(float(str(r["tap_wall_s"])) for r in rows)
    cdk_total = sum(float(str(r["cdk_wall_s"])) for r in rows)
    ratios = [float(str(r["ratio"])) for r in rows]
    print(
        f"total: tap {tap_total:.1f} s, CDK {cdk_total:.1f} s, ratio {cdk_total / tap_total:.1f} "
        f"(per connector: median {statistics.median(ratios):.1f}, min {min(ratios):.1f}); "
        f"tap peak RSS at most {max(float(str(r['tap_peak_rss_mib'])) for r in rows):.0f} MiB"
    )
    print(f"CDK figures: {rows[0]['cdk_source'] if rows else '-'}")


if __name__ == "__main__":
    main()
