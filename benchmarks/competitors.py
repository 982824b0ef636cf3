"""Competitor pipelines for the benchmark: tap-rest-api-msdk 1.4.2 (alone, and piped
into target-duckdb 0.8.0) against the sandbox's /bench/v1/items endpoint.

    python benchmarks/competitors.py --records 100000

installs the competitors into ``.bench/msdk`` (once), starts a sandbox, runs both
pipelines once and prints wall seconds, RECORD messages and rows loaded.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TAP_SPEC = "tap-rest-api-msdk==1.4.2"
TARGET_SPEC = "target-duckdb==0.8.0"
# target-duckdb 0.8.0 only says duckdb>=1.0.0; pinned for reproducible runs
# (2.0.0 is the newest on PyPI and the one in /work/venv, and it works).
DUCKDB_SPEC = "duckdb==2.0.0"
# singer-sdk 0.40 (pulled by the tap) imports `fs`, which needs pkg_resources: gone in
# setuptools>=81.
SETUPTOOLS_SPEC = "setuptools<81"
STREAM = "items"  # tap stream name == DuckDB table name


def _uv(root: Path) -> str | None:
    local = root / ".tools" / "bin" / "uv"
    return str(local) if local.exists() else shutil.which("uv")


def ensure_installed(root: Path) -> dict[str, Path]:
    """Create ``root/.bench/msdk`` with both competitors (idempotent); return their exes."""
    venv = Path(root) / ".bench" / "msdk"
    exes = {"tap-rest-api-msdk": venv / "bin" / "tap-rest-api-msdk", "target-duckdb": venv / "bin" / "target-duckdb"}
    marker = venv / ".installed"
    specs = [TAP_SPEC, TARGET_SPEC, DUCKDB_SPEC, SETUPTOOLS_SPEC]
    if marker.exists() and marker.read_text() == " ".join(specs) and all(p.exists() for p in exes.values()):
        return exes
    uv = _uv(Path(root))
    if uv:
        subprocess.run([uv, "venv", "--quiet", "--allow-existing", "--python", sys.executable, str(venv)], check=True)
        subprocess.run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), *specs], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *specs], check=True)
    marker.write_text(" ".join(specs))
    return exes


def msdk_config(base_url: str, secret: str, page_size: int = 100) -> dict:
    """tap-rest-api-msdk config syncing every record of /bench/v1/items exactly once.

    Notes from reading tap-rest-api-msdk 1.4.2:
    * ``offset_paginator`` (RestAPIOffsetPaginator) only continues when the response has
      a pagination object with offset/limit/total; ours has only ``total``, so it would
      stop after page 1.  ``simple_offset_paginator`` continues while a page holds exactly
      ``pagination_page_size`` records at ``offset_records_jsonpath`` (so one extra empty
      request happens when N is a multiple of page_size).
    * ``pagination_initial_offset`` defaults to 1, which would skip record 1: set 0 (the
      first request then carries no ``offset`` param, which the server reads as 0).
    * ``pagination_response_style: offset`` makes the request params ``offset``/``limit``.
    * the schema is inferred from one plain GET (no paging params -> server's default
      page of 100 records); arrays (tags) become JSON strings, address is flattened to
      address_city / address_zip.
    """
    return {
        "api_url": base_url.rstrip("/"),
        "auth_method": "api_key",
        "api_keys": {"api_key": secret},
        "pagination_request_style": "simple_offset_paginator",
        "pagination_response_style": "offset",
        "pagination_page_size": page_size,
        "pagination_initial_offset": 0,
        "offset_records_jsonpath": "$.data",
        "streams": [
            {
                "name": STREAM,
                "path": "/bench/v1/items",
                "records_path": "$.data[*]",
                "primary_keys": ["id"],
            }
        ],
    }


def target_duckdb_config(path: str, schema: str = "bench") -> dict:
    """target-duckdb 0.8.0 config: load into ``schema.items`` of the DuckDB file ``path``."""
    return {"path": str(path), "default_target_schema": schema}


def count_rows(db_path: str, schema: str, table: str = STREAM) -> int:
    """Rows in ``schema.table`` of a DuckDB file (read with /work/venv's duckdb 2.0.0,
    the same version the competitor venv writes with)."""
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
    finally:
        con.close()


def _write(cfg: dict, path: Path) -> Path:
    path.write_text(json.dumps(cfg))
    return path


def run_tap(exes: dict[str, Path], tap_config: Path, stdout=subprocess.DEVNULL) -> float:
    """Run tap-rest-api-msdk alone (stdout to /dev/null by default); return wall seconds."""
    t0 = time.perf_counter()
    subprocess.run(
        [str(exes["tap-rest-api-msdk"]), "--config", str(tap_config)], stdout=stdout, stderr=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - t0


def run_tap_to_target(exes: dict[str, Path], tap_config: Path, target_config: Path) -> float:
    """Run ``tap-rest-api-msdk | target-duckdb``; return wall seconds."""
    t0 = time.perf_counter()
    tap = subprocess.Popen(
        [str(exes["tap-rest-api-msdk"]), "--config", str(tap_config)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    target = subprocess.run(
        [str(exes["target-duckdb"]), "--config", str(target_config)],
        stdin=tap.stdout,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    tap.stdout.close()
    if tap.wait() or target.returncode:
        raise RuntimeError(f"pipeline failed: tap={tap.returncode} target={target.returncode}")
    return time.perf_counter() - t0


def record_ids(exes: dict[str, Path], tap_config: Path) -> list[int]:
    """Run the tap and return the ``id`` of every RECORD message, in order."""
    out = subprocess.run(
        [str(exes["tap-rest-api-msdk"]), "--config", str(tap_config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        check=True,
    ).stdout
    ids = []
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("type") == "RECORD":
            ids.append(msg["record"]["id"])
    return ids


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--page-size", type=int, default=100)
    args = ap.parse_args()
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    from tap_restgeneric.sandbox import SandboxServer

    t0 = time.perf_counter()
    exes = ensure_installed(root)
    print(f"install/check: {time.perf_counter() - t0:.1f}s")
    sb = SandboxServer(secret="s3cret", port=0, bench_records=args.records, latency_ms=0).start()
    try:
        with tempfile.TemporaryDirectory(dir=root / ".bench") as tmp:
            tmp = Path(tmp)
            tap_cfg = _write(msdk_config(sb.url, "s3cret", args.page_size), tmp / "tap.json")
            db = tmp / "msdk.duckdb"
            target_cfg = _write(target_duckdb_config(str(db)), tmp / "target.json")

            ids = record_ids(exes, tap_cfg)
            exact = sorted(ids) == list(range(1, args.records + 1))
            print(f"msdk RECORD messages: {len(ids)} (ids exactly 1..N once: {exact})")
            secs = run_tap(exes, tap_cfg)
            print(f"tap-rest-api-msdk > /dev/null: {secs:.2f}s for {args.records} records ({args.records / secs:,.0f} rec/s)")
            secs = run_tap_to_target(exes, tap_cfg, target_cfg)
            rows = count_rows(str(db), "bench", STREAM)
            print(f"tap-rest-api-msdk | target-duckdb: {secs:.2f}s, rows loaded: {rows} ({rows / secs:,.0f} rows/s)")
            return 0 if exact and rows == args.records else 1
    finally:
        sb.stop()


if __name__ == "__main__":
    sys.exit(main())
