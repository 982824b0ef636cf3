"""Interruptions lose nothing: a signal flushes and covers what was written; a killed sync resumes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from tap_restgeneric.sandbox import SandboxServer
from tests.support import CANARY, assert_no_canary, blocked_writing_to_a_pipe, preset_config, run_cli, wait_for

REGISTRATIONS = "/operations/v1/transactional/registrations"


def start(config: dict, tmp_path, state: dict | None = None) -> subprocess.Popen:
    (tmp_path / "config.json").write_text(json.dumps(config))
    argv = [sys.executable, "-c", "from tap_restgeneric.cli import main; main()", "--config", str(tmp_path / "config.json")]
    if state is not None:
        (tmp_path / "state.json").write_text(json.dumps(state))
        argv += ["--state", str(tmp_path / "state.json")]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_until_schema(process: subprocess.Popen, stream: str) -> list[str]:
    """The lines the tap wrote up to the SCHEMA of ``stream`` (a SCHEMA is flushed at once)."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith('{"type":"SCHEMA"') and json.loads(line)["stream"] == stream:
            return lines
    pytest.fail(f"the tap ended before stream {stream}")


@pytest.mark.parametrize(("signum", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")])
def test_a_signal_flushes_the_records_writes_a_state_covering_them_and_exits_non_zero(sandbox, tmp_path, signum, code, name):
    sandbox.inject_fault(REGISTRATIONS, "slow", count=1, delay=20)  # the tap waits here when the signal comes
    # One stream at a time: the slow request is then the one the SDK waits on right after that stream's
    # SCHEMA (with streams at once another stream's look-ahead may take it, and records keep coming after
    # the SCHEMA: read_until_schema's read-ahead, which communicate() cannot see, would cut a line).
    process = start(preset_config(sandbox, "operations", stream_concurrency=1), tmp_path)
    before = read_until_schema(process, "registrations_incremental")  # the first stream to request REGISTRATIONS
    wait_for(lambda: any(r.path == REGISTRATIONS for r in sandbox.requests), "the tap waits on the slow response")
    process.send_signal(signum)
    rest, stderr = process.communicate(timeout=30)
    stdout = "".join(before) + rest
    sandbox.clear_faults()
    assert process.returncode == code
    assert_no_canary(stdout, stderr)
    messages = [json.loads(line) for line in stdout.splitlines()]  # every line is whole
    assert messages[-1]["type"] == "STATE"
    assert "progress_markers" not in json.dumps(messages[-1])
    done = [m["stream"] for m in messages if m["type"] == "SCHEMA"][:-1]  # the streams before the one waiting
    assert done
    for stream in done:
        assert sorted(m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream) == sorted(
            sandbox.ids("operations", stream)
        )
    assert (
        stderr.strip().splitlines()[-1]
        == f"tap-restgeneric: interrupted by {name}: the records written are covered by the last STATE"
    )
    assert "Traceback" not in stderr and "Exception ignored" not in stderr


def registrations_source(sandbox, row_order: str | None, params: dict | None = None) -> dict:
    incremental = {"cursor_path": "updated_at", "start_param": "updated_since"}
    if row_order:
        incremental["row_order"] = row_order
    return {
        "secrets": {"api_key": CANARY},
        "source": {
            "client": {
                "base_url": sandbox.base_url("operations"),
                "auth": {"type": "api_key", "name": "api_key", "api_key": "{{ secrets.api_key }}"},
            },
            "resources": [
                {
                    "name": "registrations",
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "schema": {
                        "properties": {
                            "id": {"type": "integer"},
                            "updated_at": {"type": ["string", "null"], "format": "date-time"},
                        }
                    },
                    "endpoint": {
                        "path": "/v1/transactional/registrations",
                        "data_selector": "data",
                        "paginator": {"type": "offset", "limit": 250},
                        "incremental": incremental,
                        "params": params or {},
                    },
                }
            ],
        },
    }


def run_until(process: subprocess.Popen, kill_after_records: int | None) -> tuple[list[int], dict | None]:
    """Read the tap's output; SIGKILL it after that many records (None: to the end)."""
    ids, state = [], None
    assert process.stdout is not None
    for line in process.stdout:
        message = json.loads(line)
        if message["type"] == "RECORD":
            ids.append(message["record"]["id"])
            if kill_after_records is not None and len(ids) >= kill_after_records:
                process.kill()
                break
        elif message["type"] == "STATE":
            state = message["value"]
    process.wait(timeout=30)
    return ids, state


def bookmark(state: dict | None) -> str | None:
    return ((state or {}).get("bookmarks", {}).get("registrations") or {}).get("replication_key_value")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("row_order", "params"),
    [("asc", None), (None, {"sort": "updated_at"}), (None, None)],
    ids=["sorted", "sorted-by-params", "unsorted"],
)
def test_a_killed_incremental_sync_resumes_from_its_last_state_and_loses_nothing(sandbox, tmp_path, row_order, params):
    config = registrations_source(sandbox, row_order, params)
    sorted_records = row_order == "asc" or params is not None
    all_ids = sandbox.ids("operations", "registrations_incremental")
    seen: set[int] = set()
    state: dict | None = None
    bookmarks: list[str] = []
    resumed_from: list[int] = []
    for kill_after in (1500, 2600, 4100, None):
        process = start(config, tmp_path, state)
        ids, last_state = run_until(process, kill_after)
        resumed_from.append(min(ids) if ids else 0)
        seen |= set(ids)
        if last_state is not None:
            state = last_state
        if bookmark(state):
            bookmarks.append(bookmark(state))
        if kill_after is None:
            assert process.returncode == 0, process.stderr.read()[-800:] if process.stderr else ""
    assert seen == set(all_ids)  # every record delivered at least once across the runs
    assert bookmarks == sorted(bookmarks)  # bookmarks never move backwards
    assert bookmark(state) == max(r["updated_at"] for r in sandbox.records("operations", "registrations_incremental"))
    if sorted_records:
        # Each run resumed where the last STATE of the killed one said: never from the start again.
        assert resumed_from[1:] == sorted(resumed_from[1:]) and min(resumed_from[1:]) > 1000
    else:
        # Without a declared order the bookmark only moves at the end: a killed run starts over.
        assert resumed_from == [1, 1, 1, 1]


def test_a_signal_while_the_output_pipe_is_full_leaves_every_line_whole(sandbox, tmp_path):
    """The signal lands inside a blocked write of a RECORD: the line is finished, then the STATE."""
    process = start(registrations_source(sandbox, "asc"), tmp_path)
    # Nobody reads: the pipe fills and the tap blocks writing (its handler is in place long before).
    wait_for(lambda: blocked_writing_to_a_pipe(process), "the tap blocks writing to its full stdout pipe")
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 143, stderr[-500:]
    messages = [json.loads(line) for line in stdout.splitlines()]
    records = [m for m in messages if m["type"] == "RECORD"]
    assert 0 < len(records) < 10001
    assert messages[-1]["type"] == "STATE"
    assert "Traceback" not in stderr and "reentrant" not in stderr


def test_a_signal_with_streams_at_once_leaves_every_line_whole(sandbox, tmp_path):
    """Streams at once: the signal may come while records of an earlier stream are being written
    and later streams' pages are being fetched; every line is still whole and STATE comes last."""
    sandbox.inject_fault(REGISTRATIONS, "slow", count=1, delay=20)
    process = start(preset_config(sandbox, "operations"), tmp_path)
    # The slow request has started (on whichever thread): the tap's handler is in place by then.
    wait_for(lambda: any(r.path == REGISTRATIONS for r in sandbox.requests), "the tap requests the slow page")
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    sandbox.clear_faults()
    assert process.returncode == 143
    messages = [json.loads(line) for line in stdout.splitlines()]  # every line is whole
    assert messages[-1]["type"] == "STATE"
    assert (
        stderr.strip().splitlines()[-1]
        == "tap-restgeneric: interrupted by SIGTERM: the records written are covered by the last STATE"
    )


UNSORTED_NOTICE = (
    "stream 'registrations': records are not known to arrive in 'updated_at' order, so the bookmark moves only when the "
    "stream completes (a killed sync reads it again from the last bookmark); if the API returns them in that order, set "
    "incremental.row_order: asc, or ask the API to sort in params (e.g. sort: updated_at)"
)


@pytest.mark.parametrize(
    ("row_order", "params", "notices"),
    [(None, None, 1), ("asc", None, 0), (None, {"sort": "updated_at"}, 0), ("desc", None, 0)],
    ids=["unsorted", "sorted", "sorted-by-params", "declared-desc"],
)
def test_a_stream_without_a_known_order_says_once_what_to_do(tmp_path, row_order, params, notices):
    with SandboxServer(secret=CANARY) as sandbox:  # its own: another test's advance() leaves the shared one unsorted
        out = run_cli([], registrations_source(sandbox, row_order, params), tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert [line.split("| ")[-1] for line in out.stderr.splitlines() if "order" in line and "| INFO " in line] == (
        [UNSORTED_NOTICE] * notices
    )
    assert "Stream is assumed to be unsorted" not in out.stderr  # the SDK's, which names no stream and no remedy
