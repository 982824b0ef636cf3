"""The tap against the CDK on the same mock API: wall and CPU time of a whole manifest sync, per connector.

    .venv/bin/python scripts/airbyte/benchmark.py [--connector NAME ...]

Runs the tap's command line (a new process, as a user runs it) on each accepted golden's manifest against
the generated mock API, with "now" frozen as for the goldens, and sets its wall and CPU time beside the
CDK's (`source-declarative-manifest read`, recorded by make_goldens.py in tests/airbyte/cdk_timings.json
on this machine). A benchmark, not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tests.airbyte import mockapi, oracle
from tests.airbyte.test_tap_goldens import ACCEPTED


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_tap(name: str, folder: pathlib.Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one sync of the connector's golden setup through the CLI."""
    with mockapi.MockServer() as server:
        setup = oracle.golden_setup(name, server)
        manifest_file = folder / f"{name}.yaml"
        manifest_file.write_text(yaml.safe_dump(setup.manifest, sort_keys=False))
        config_file = folder / f"{name}.json"
        config_file.write_text(json.dumps({"source_file": str(manifest_file), "manifest_config": setup.config}))
        argv = [sys.executable, "-c", "from tap_restgeneric.cli import main; main()", "--config", str(config_file)]
        env = {**os.environ, **oracle.tap_environment(setup)}
        cpu = _children_cpu()
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        return time.perf_counter() - start, _children_cpu() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connector", action="append", help="a golden's name (default: every accepted pinned one)")
    args = parser.parse_args(argv)
    timings = json.loads(oracle.TIMINGS_FILE.read_text())
    names = args.connector or [name for name in ACCEPTED if name in timings and "pypi" in oracle.load_golden(name)["source"]]
    ratios = []
    print(f"{'connector':28} {'tap wall':>9} {'CDK wall':>9} {'ratio':>6}   {'tap CPU':>8} {'CDK CPU':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            wall, cpu = run_tap(name, pathlib.Path(folder))
            cdk_wall, cdk_cpu = timings[name]["wall_s"][0], timings[name]["cpu_s"][0]
            ratios.append(cdk_wall / wall)
            print(f"{name:28} {wall:9.2f} {cdk_wall:9.2f} {cdk_wall / wall:6.1f}x  {cpu:8.2f} {cdk_cpu:8.2f}")
    print(f"median wall-time ratio (CDK / tap) over {len(ratios)} connectors: {statistics.median(ratios):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
