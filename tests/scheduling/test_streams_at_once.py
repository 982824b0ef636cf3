"""Streams at once: later streams' pages are requested while earlier ones are written, and the
output is exactly a sequential sync's (deterministic comparisons, no timing assertions)."""

from __future__ import annotations

import pytest

from tests.support import last_line, preset_config, run_cli, sync


def messages(out) -> list[tuple]:
    """RECORD and STATE messages, in order (the signpost is the sync's clock time: left out)."""
    return [
        (m["type"], m.get("stream"), m.get("record") or _unsigned(m.get("value"))) for m in out.messages if m["type"] != "SCHEMA"
    ]


def _unsigned(value):
    if isinstance(value, dict):
        return {k: _unsigned(v) for k, v in value.items() if k != "replication_key_signpost"}
    return value


@pytest.mark.parametrize("api", ["learning", "operations", "incidents"])
def test_streams_at_once_write_what_one_stream_at_a_time_writes(sandbox, api):
    sandbox.latency_ms = 2  # responses slow enough that later streams' requests overlap
    try:
        at_once = sync(preset_config(sandbox, api, stream_concurrency=4))
        one_by_one = sync(preset_config(sandbox, api, stream_concurrency=1, max_concurrency=1))
    finally:
        sandbox.latency_ms = 0
    assert messages(at_once) == messages(one_by_one)
    schemas = [m["stream"] for m in at_once.messages if m["type"] == "SCHEMA"]
    first_record = {}
    for index, m in enumerate(at_once.messages):
        if m["type"] == "RECORD":
            first_record.setdefault(m["stream"], index)
    for stream, index in first_record.items():  # each stream's SCHEMA before its RECORDs
        assert any(m["type"] == "SCHEMA" and m["stream"] == stream for m in at_once.messages[:index])
    assert schemas


def test_a_failing_later_stream_stops_the_sync_after_the_earlier_streams_are_covered(sandbox, tmp_path):
    streams = [m["stream"] for m in sync(preset_config(sandbox, "learning")).messages if m["type"] == "SCHEMA"]
    failing = streams[-1]
    sandbox.inject_fault(f"/learning/{_path(sandbox, failing)}", "403", count=50)
    try:
        out = run_cli([], preset_config(sandbox, "learning", stream_concurrency=4), tmp_path)
    finally:
        sandbox.clear_faults()
    assert out.returncode != 0
    assert last_line(out.stderr).startswith(f"tap-restgeneric: error: stream '{failing}': HTTP 403")
    written = {m["stream"] for m in out.messages if m["type"] == "RECORD"}
    assert written == set(streams[:-1]) - {s for s in streams if not sandbox.records("learning", s)}
    final_state = out.states[-1]["bookmarks"]
    assert set(streams[:-1]) <= set(final_state)


def _path(sandbox, stream: str) -> str:
    from tap_restgeneric.sandbox import data as D

    return D.APIS["learning"].endpoints[D.endpoint_key("learning", stream)].path.lstrip("/")
