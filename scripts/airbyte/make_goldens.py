"""Regenerate the golden files: Airbyte's CDK run against the mock API of each manifest.

    bash scripts/airbyte/setup_cdk.sh                                   # once: the CDK's own venv
    .venv/bin/python scripts/airbyte/make_goldens.py                    # every pinned connector and mini manifest
    .venv/bin/python scripts/airbyte/make_goldens.py --connector stripe --connector aircall
    .venv/bin/python scripts/airbyte/make_goldens.py --components       # the mini manifests only

For each connector (tests/airbyte/pinned_manifests.json, manifests taken from the pinned PyPI wheels
into .cache/airbyte-manifests/) and each mini manifest (tests/airbyte/components/*.yaml): start the
mock API, rewrite the manifest's URLs to it, generate the config, then run
`source-declarative-manifest read` twice in .airbyte-cdk/ with "now" frozen (scripts/airbyte/cdk_runner.py):
a first run with every stream selected, and a second one given the first run's final state. The
records, final state, requests and errors of both runs go to tests/airbyte/goldens/<name>.json, with the
wall time of each CDK run (also printed: the figures the speed benchmark compares with).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time
import typing as t

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tests.airbyte import manifests, mockapi, oracle, resolve

ROOT = pathlib.Path(__file__).resolve().parents[2]

CDK_PYTHON = ROOT / ".airbyte-cdk" / "bin" / "python"
RUNNER = ROOT / "scripts" / "airbyte" / "cdk_runner.py"
RUN_TIMEOUT_S = 150
TIMINGS_LOCK = threading.Lock()
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens there


def cdk_version() -> str:
    return subprocess.run(
        [str(CDK_PYTHON), "-c", "import importlib.metadata as m; print(m.version('airbyte-cdk'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def cdk_environment() -> dict[str, str]:
    """The CDK talks to the mock only: any other host goes to a closed port on loopback and fails at once
    (a URL the rewrite missed can never reach the network)."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}}
    env.update({"HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, "NO_PROXY": "127.0.0.1"})
    return env


def run_cdk(workdir: pathlib.Path, now: str, state: list[dict[str, t.Any]] | None) -> tuple[list[str], float, float | None, str]:
    args = [
        str(CDK_PYTHON),
        str(RUNNER),
        now,
        "read",
        "--config",
        "config.json",
        "--manifest-path",
        "manifest.yaml",
        "--catalog",
        "catalog.json",
    ]
    if state is not None:
        (workdir / "state.json").write_text(json.dumps(state))
        args += ["--state", "state.json"]
    started = time.perf_counter()
    done = subprocess.run(
        args, cwd=workdir, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False, env=cdk_environment()
    )
    wall = time.perf_counter() - started
    cpu = None
    for line in done.stderr.splitlines():
        if line.startswith("cdk_runner_cpu_seconds:"):
            cpu = float(line.split(":", 1)[1])
    stderr = "\n".join(line for line in done.stderr.splitlines() if not line.startswith("cdk_runner_cpu_seconds:"))
    return done.stdout.splitlines(), wall, cpu, stderr[-2000:]


def make(
    name: str, raw: dict[str, t.Any], source: dict[str, t.Any], version: str, runs_wanted: int, out: pathlib.Path
) -> tuple[str, str]:
    with mockapi.MockServer() as server, tempfile.TemporaryDirectory(prefix=f"ab-golden-{name}-") as tmp:
        workdir = pathlib.Path(tmp)
        prepared = oracle.setup(name, raw, server)
        (workdir / "manifest.yaml").write_text(yaml.safe_dump(prepared.manifest, sort_keys=False))
        (workdir / "config.json").write_text(json.dumps(prepared.config))
        (workdir / "catalog.json").write_text(json.dumps(prepared.catalog))
        runs = []
        state: list[dict[str, t.Any]] | None = None
        times: list[float] = []
        cpu_times: list[float | None] = []
        for number in range(1, runs_wanted + 1):
            prepared.api.reset()
            lines, seconds, cpu, stderr = run_cdk(workdir, oracle.now_text(prepared.now), state)
            output = oracle.read_messages(lines)
            times.append(round(seconds, 2))
            cpu_times.append(cpu)
            runs.append(
                {
                    "run": number,
                    "records": output.records,
                    "state": output.state,
                    "requests": oracle.canonical_requests(prepared.api),
                    "errors": output.errors + ([f"stderr: {stderr}"] if stderr.strip() and not lines else []),
                    "controls": output.controls,
                    "unmatched_requests": sorted(set(prepared.api.unmatched)),
                }
            )
            state = output.state
        loaded = resolve.load(prepared.manifest)
        golden = {
            "connector": name,
            "source": source,
            "cdk": {"package": "airbyte-cdk", "version": version, "entrypoint": "source-declarative-manifest read"},
            "frozen_now": oracle.now_text(prepared.now),
            "now_env": oracle.NOW_ENV,
            "config_start": prepared.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "config": prepared.config,
            "catalog": [{"stream": s["stream"]["name"], "sync_mode": s["sync_mode"]} for s in prepared.catalog["streams"]],
            "ordered_streams": oracle.ordered_streams(loaded),
            "runs": runs,
        }
        golden = oracle.normalise(golden, server.base_url)
        oracle.write_golden(name, golden, out)
        record_timing(out, name, version, times, cpu_times, [len(r["requests"]) for r in runs])
    summary = "; ".join(
        f"run{run['run']} {sum(len(v) for v in run['records'].values())} records / {len(run['requests'])} requests / "
        f"{len(run['errors'])} errors / {len(run['unmatched_requests'])} unmatched / CDK {seconds:.1f}s wall {cpu}s CPU"
        for run, seconds, cpu in zip(runs, times, cpu_times, strict=True)
    )
    return name, f"{name}: {summary}"


def record_timing(
    out: pathlib.Path, name: str, version: str, wall: list[float], cpu: list[float | None], requests: list[int]
) -> None:
    """The CDK's time per run, kept beside the goldens (not in them: it changes on every regeneration)."""
    path = oracle.TIMINGS_FILE if out == oracle.GOLDENS_DIR else out / "cdk_timings.json"
    with TIMINGS_LOCK:
        timings = json.loads(path.read_text()) if path.exists() else {}
        timings[name] = {
            "cdk_version": version,
            "wall_s": wall,
            "cpu_s": cpu,
            "requests": requests,
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
        path.write_text(json.dumps(dict(sorted(timings.items())), indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connector", action="append", default=[], help="a pinned connector or mini manifest (repeatable)")
    parser.add_argument("--components", action="store_true", help="only the mini manifests of tests/airbyte/components/")
    parser.add_argument("--pinned", action="store_true", help="only the pinned real connectors")
    parser.add_argument("--jobs", type=int, default=1, help="connectors run at once (default 1; the machine has 2 cores)")
    parser.add_argument("--runs", type=int, choices=(1, 2), default=2, help="2 (default): a first run and one from its state")
    parser.add_argument(
        "--out", type=pathlib.Path, default=oracle.GOLDENS_DIR, help="where to write (default tests/airbyte/goldens)"
    )
    args = parser.parse_args(argv)
    if not CDK_PYTHON.exists():
        print("make_goldens.py: the CDK venv is missing; run: bash scripts/airbyte/setup_cdk.sh", file=sys.stderr)
        return 2
    version = cdk_version()
    jobs: list[tuple[str, t.Callable[[], tuple[dict[str, t.Any], dict[str, t.Any]]]]] = []
    if not args.components:
        for pin in manifests.load_pins():
            if not args.connector or pin.name in args.connector:
                source = {"pypi": pin.package, "version": pin.version, "sha256": pin.sha256, "member": pin.member}
                jobs.append((pin.name, lambda pin=pin, source=source: (oracle.prepare_pinned(pin), source)))
    if not args.pinned:
        for path in sorted(oracle.COMPONENTS_DIR.glob("*.yaml")):
            if not args.connector or path.stem in args.connector:
                source = {"component": f"tests/airbyte/components/{path.name}"}
                jobs.append((path.stem, lambda path=path, source=source: (oracle.component_manifest(path.stem), source)))
    if not jobs:
        print("make_goldens.py: nothing matched", file=sys.stderr)
        return 2

    def one(job: tuple[str, t.Callable[[], tuple[dict[str, t.Any], dict[str, t.Any]]]]) -> tuple[str, str]:
        name, prepare = job
        try:
            raw, source = prepare()
            return make(name, raw, source, version, args.runs, args.out)
        except Exception as error:  # noqa: BLE001 - one connector's failure is reported, the others go on
            return name, f"{name}: FAILED {type(error).__name__}: {error}"

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for _name, summary in pool.map(one, jobs):
            print(summary, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
