"""Run Airbyte's `source-declarative-manifest` with "now" frozen, inside the CDK's own venv.

    .airbyte-cdk/bin/python scripts/airbyte/cdk_runner.py 2026-01-15T12:00:00Z read --config C --manifest-path M --catalog CAT [--state S]

The first argument is the frozen instant (ISO 8601, UTC); the rest are the CDK's own arguments.
Windows end at "now" and `now_utc()`/`today_utc()` read it, so the golden files must not depend on the
wall clock: freezegun freezes the datetime module for the whole process, while the modules that wait
(threads, queues, sockets, the HTTP stack, rate limiters) keep the real clock, or their timeouts
would never expire. Executed by the CDK venv's python only; it imports nothing from this project.
"""

from __future__ import annotations

import atexit
import json
import resource
import sys

import freezegun

CPU_MARK = "cdk_runner_cpu_seconds:"


def _report_cpu() -> None:
    """The CPU time this process used, on stderr: wall time alone is swamped when the machine is shared."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(CPU_MARK, json.dumps(round(usage.ru_utime + usage.ru_stime, 3)), file=sys.stderr)


# Modules whose time must stay real: waits and timeouts measured with time.monotonic()/time.time().
REAL_CLOCK_MODULES = [
    "threading",
    "queue",
    "concurrent.futures",
    "selectors",
    "socket",
    "ssl",
    "urllib3",
    "requests",
    "requests_cache",
    "pyrate_limiter",
    "backoff",
    "airbyte_cdk.sources.streams.concurrent.partition_reader",
    "airbyte_cdk.sources.concurrent_source",
    "airbyte_cdk.sources.streams.http.rate_limiting",
    "airbyte_cdk.sources.streams.call_rate",
    # Its Timer measures how long a sync took (kept in per-partition state as `lookback_window`, in
    # seconds): start and finish must read the same clock, and freezegun would give one of them the
    # frozen instant and the other the real one (it looks a few frames up the stack).
    "airbyte_cdk.sources.declarative.incremental.concurrent_partition_cursor",
]


def main() -> None:
    frozen_now, *cdk_args = sys.argv[1:]
    atexit.register(_report_cpu)
    # Imported before freezing (its import-time code does not work under freezegun); freezegun then
    # replaces the datetime references the loaded modules hold.
    from airbyte_cdk.cli.source_declarative_manifest._run import run  # noqa: PLC0415

    sys.argv = ["source-declarative-manifest", *cdk_args]
    with freezegun.freeze_time(frozen_now, ignore=REAL_CLOCK_MODULES):
        run()


if __name__ == "__main__":
    main()
