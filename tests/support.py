"""Helpers for the tests: run the tap in-process or as the CLI, read its Singer output."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import io
import json
import os
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path
from urllib.parse import quote, quote_plus

from tap_restgeneric.output.redact import REDACTOR
from tap_restgeneric.tap import TapRestGeneric
from tap_restgeneric.transport.throttle import RateLimiter

CANARY = "canary-S3cr3t/+&=v4lue"  # a distinctive secret with characters that URL-encode
CANARY_FORMS = (
    CANARY,
    quote(CANARY, safe=""),
    quote_plus(CANARY),
    base64.b64encode(f"user:{CANARY}".encode()).decode(),
    base64.b64encode(CANARY.encode()).decode(),
)


def assert_no_canary(*texts: str) -> None:
    """Every run of the CLI or of Meltano in the suite is checked: the secret never shows."""
    leaked = [form for form in CANARY_FORMS for text in texts if form in text]
    assert not leaked, f"the secret leaked in the forms {sorted(set(leaked))}"


PRESET_SECRET_NAME = {"incidents": "api_token"}


def preset_config(sandbox, api: str, **extra: t.Any) -> dict:
    return {
        "api": api,
        "base_url": sandbox.base_url(api),
        "secrets": {PRESET_SECRET_NAME.get(api, "api_key"): sandbox.secret},
        **extra,
    }


@dataclasses.dataclass
class Output:
    messages: list[dict]
    stderr: str = ""
    returncode: int = 0

    def records(self, stream: str) -> list[dict]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]

    def ids(self, stream: str, key: str = "id") -> list:
        return [r[key] for r in self.records(stream)]

    @property
    def states(self) -> list[dict]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    def schema(self, stream: str) -> dict:
        return next(m for m in self.messages if m["type"] == "SCHEMA" and m["stream"] == stream)


@contextlib.contextmanager
def _captured_stdout() -> t.Iterator[io.BytesIO]:
    buffer = io.BytesIO()
    wrapper = io.TextIOWrapper(buffer, encoding="utf-8", write_through=True)
    old = sys.stdout
    sys.stdout = wrapper
    try:
        yield buffer
    finally:
        wrapper.flush()
        wrapper.detach()  # keep the BytesIO open once the wrapper is collected
        sys.stdout = old


def sync(config: dict, state: dict | None = None, catalog: dict | None = None) -> Output:
    """Run a sync in this process and parse what it wrote to stdout (the redactor starts empty, as in a
    process of its own: a secret an earlier test registered, such as a short token, masks nothing here)."""
    REDACTOR.forget()
    with _captured_stdout() as buffer:
        tap = TapRestGeneric(config=config, state=state, catalog=catalog, parse_env_config=False)
        tap.sync_all()
    return Output([json.loads(line) for line in buffer.getvalue().decode().splitlines() if line.strip()])


def sync_until_error(config: dict, state: dict | None = None) -> tuple[Output, Exception | None]:
    """Run a sync in this process: what it wrote before it stopped, and the error it stopped with."""
    error = None
    REDACTOR.forget()
    with _captured_stdout() as buffer:
        try:
            TapRestGeneric(config=config, state=state, parse_env_config=False).sync_all()
        except Exception as exc:  # returned for the test to check
            error = exc
    return Output([json.loads(line) for line in buffer.getvalue().decode().splitlines() if line.strip()]), error


def run_cli(
    args: list[str], config: dict | None = None, tmp_path=None, env: dict | None = None, timeout: float = 120, cwd=None
) -> Output:
    """Run the console script as a user would; returns parsed stdout, stderr and exit code."""
    argv = [sys.executable, "-c", "from tap_restgeneric.cli import main; main()", *args]
    if config is not None:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        argv += ["--config", str(path)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, cwd=cwd)
    messages = []
    for line in proc.stdout.splitlines():
        if line.startswith('{"type"'):
            messages.append(json.loads(line))
    assert_no_canary(proc.stdout, proc.stderr)
    out = Output(messages, proc.stderr, proc.returncode)
    out.stdout = proc.stdout  # type: ignore[attr-defined]
    return out


def pipe_into_duckdb(config: dict, tmp_path, database: str, schema: str) -> subprocess.CompletedProcess:
    """``tap-restgeneric | target-duckdb-exact`` through a shell pipe, as a user runs it, writing
    ``tmp_path/database`` under ``schema``; the finished process (its stderr for the failure message)."""
    (tmp_path / "tap.json").write_text(json.dumps(config))
    (tmp_path / "target.json").write_text(json.dumps({"filepath": str(tmp_path / database), "default_target_schema": schema}))
    bin_dir = f"{sys.prefix}/bin"
    return subprocess.run(
        f"{bin_dir}/tap-restgeneric --config tap.json | {bin_dir}/target-duckdb-exact --config target.json",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def catalog_selecting(config: dict, tmp_path, *streams: str, deselected_properties: tuple[str, ...] = ()) -> str:
    """The tap's discovered catalog with only ``streams`` selected (and those properties not),
    written to ``tmp_path/catalog.json``: its path, for ``--catalog``."""
    catalog = json.loads(run_cli(["--discover"], config, tmp_path).stdout)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in streams
            elif item["breadcrumb"][-1:] and item["breadcrumb"][-1] in deselected_properties:
                item["metadata"]["selected"] = False
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    return str(path)


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


class FakeClock:
    """A monotonic clock that moves only when someone sleeps on it (or the test advances it):
    a rate limiter on it decides exactly as on the real one, without the waiting."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class DecisionLog:
    """A tap's rate limiter on a ``FakeClock``, with each of its decisions in the order it made
    them: ``("start", when)`` for a request (None: no limit, no pause) and ``("pause", until)``
    for a Retry-After. The lock around each decision and its entry costs nothing (the clock's
    sleep returns at once) and keeps the entries in decision order."""

    def __init__(self, per_second: float | None, in_flight: int | None) -> None:
        self.clock = FakeClock()
        self.limiter = RateLimiter(per_second, in_flight, clock=self.clock, sleep=self.clock.sleep)
        self.events: list[tuple[str, float | None]] = []
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            self.events.append(("start", self.limiter.wait()))

    def pause(self, seconds: float) -> float:
        with self._lock:
            until = self.limiter.pause(seconds)
            self.events.append(("pause", until))
            return until

    def slot(self) -> t.ContextManager[None]:
        return self.limiter.slot()

    @classmethod
    def installed(cls, monkeypatch: t.Any, config: dict) -> DecisionLog:
        """The limiter of the next tap made with ``config`` (as TapRestGeneric.rate_limiter makes it)."""
        log = cls(config.get("max_requests_per_second"), int(config.get("max_concurrency") or 1))
        monkeypatch.setattr(TapRestGeneric, "rate_limiter", property(lambda tap: log))
        return log


def wait_for(condition: t.Callable[[], t.Any], what: str, timeout: float = 60) -> None:
    """Wait until ``condition()`` holds: a test waits for a state, never for a time. ``timeout``
    only bounds a run where the state never comes (the test then fails, naming it)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting ({timeout:.0f} s) until {what}")
        time.sleep(0.01)


def blocked_writing_to_a_pipe(process: subprocess.Popen) -> bool:
    """A thread of ``process`` waits in the kernel for room in a pipe (Linux: its wchan)."""
    return any("pipe_write" in path.read_text() for path in Path(f"/proc/{process.pid}/task").glob("*/wchan"))


def call_in_threads(function: t.Callable[[], t.Any], count: int) -> list:
    """``function()`` called from ``count`` threads started together; the results, in the order they came."""
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(function())) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
