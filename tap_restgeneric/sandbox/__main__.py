"""CLI: ``python -m tap_restgeneric.sandbox [--host 127.0.0.1] [--port 8765] ...``.

Prints ``sandbox listening on http://HOST:PORT`` once the socket is bound, then
serves until SIGTERM or SIGINT and exits 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .server import SandboxServer, is_loopback


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tap_restgeneric.sandbox",
        description="Serve the seed APIs (learning, certifications, social_insights, "
        "incidents, operations, bench) with deterministic data on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 = any free port)")
    parser.add_argument(
        "--secret",
        default=os.environ.get("SANDBOX_SECRET", "sandbox-secret"),
        help="credential every API expects (default $SANDBOX_SECRET or 'sandbox-secret')",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="sleep before answering each API request")
    parser.add_argument("--bench-records", type=int, default=100_000, help="number of records of /bench/v1/items")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not is_loopback(args.host):
        print(f"error: --host {args.host!r} is not a loopback address; refusing to bind", file=sys.stderr)
        return 2
    if args.latency_ms < 0 or args.bench_records < 0:
        print("error: --latency-ms and --bench-records must be >= 0", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        sandbox = SandboxServer(
            secret=args.secret, port=args.port, latency_ms=args.latency_ms, bench_records=args.bench_records, host=args.host
        ).start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"sandbox listening on {sandbox.url}", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
