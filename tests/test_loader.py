"""The DuckDB loader loads exactly the records it reads (PyPI's target-duckdb 0.8.0 does not)."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest

from tests.support import preset_config, run_cli, sync


def run_loader(messages: list[dict], tmp_path, schema: str = "main", **config) -> subprocess.CompletedProcess:
    path = tmp_path / "warehouse.duckdb"
    (tmp_path / "target.json").write_text(json.dumps({"filepath": str(path), "default_target_schema": schema, **config}))
    return subprocess.run(
        [f"{sys.prefix}/bin/target-duckdb-exact", "--config", str(tmp_path / "target.json")],
        input="".join(json.dumps(m) + "\n" for m in messages),
        capture_output=True,
        text=True,
        timeout=120,
    )


def load(messages: list[dict], tmp_path, schema: str = "main", **config) -> str:
    proc = run_loader(messages, tmp_path, schema, **config)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return str(tmp_path / "warehouse.duckdb")


def rows(path: str, sql: str) -> list[tuple]:
    con = duckdb.connect(path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def stream(name: str, properties: dict, records: list[dict], keys=("id",)) -> list[dict]:
    return [
        {"type": "SCHEMA", "stream": name, "schema": {"type": "object", "properties": properties}, "key_properties": list(keys)},
        *({"type": "RECORD", "stream": name, "record": r} for r in records),
        {"type": "STATE", "value": {"bookmarks": {name: {}}}},
    ]


def test_all_string_stream_of_1000_records_loads_1000_rows(tmp_path):
    """target-duckdb 0.8.0 loads 999 here: DuckDB's CSV sniffer takes row one for a header."""
    records = [{"code": f"code-{i:04d}", "label": f"label {i}", "note": "n"} for i in range(1000)]
    path = load(stream("codes", {p: {"type": ["string", "null"]} for p in ("code", "label", "note")}, records, keys=()), tmp_path)
    assert rows(path, "SELECT count(*), min(code), max(code) FROM codes") == [(1000, "code-0000", "code-0999")]


def test_typed_stream_with_record_metadata_loses_no_row(tmp_path):
    records = [
        {"id": i, "amount": i / 4, "active": i % 2 == 0, "created_at": f"2024-01-01T00:{i % 60:02d}:00Z"} for i in range(1, 1001)
    ]
    properties = {
        "id": {"type": "integer"},
        "amount": {"type": ["number", "null"]},
        "active": {"type": ["boolean", "null"]},
        "created_at": {"type": ["string", "null"], "format": "date-time"},
    }
    path = load(stream("typed", properties, records), tmp_path, add_record_metadata=True)
    assert rows(path, "SELECT count(*), sum(id), count(_sdc_received_at) FROM typed") == [(1000, sum(range(1, 1001)), 1000)]
    assert rows(path, "SELECT strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ') FROM typed WHERE id = 61") == [
        ("2024-01-01T00:01:00Z",)
    ]


def test_database_file_named_like_its_schema(tmp_path):
    path = tmp_path / "bench.duckdb"
    (tmp_path / "t.json").write_text(json.dumps({"filepath": str(path), "default_target_schema": "bench"}))
    messages = stream("items", {"id": {"type": "integer"}}, [{"id": 1}, {"id": 2}])
    proc = subprocess.run(
        [sys.executable, "-m", "target_duckdb_exact.target", "--config", str(tmp_path / "t.json")],
        input="".join(json.dumps(m) + "\n" for m in messages),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-1000:]
    assert rows(str(path), "SELECT count(*) FROM bench.bench.items") == [(2,)]


def test_merge_upserts_on_key_properties(tmp_path):
    properties = {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}}
    first = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    load(stream("things", properties, first), tmp_path)
    path = load(
        stream("things", properties, [{"id": 2, "name": "b2"}, {"id": 3, "name": "c"}, {"id": 3, "name": "c2"}]), tmp_path
    )
    assert rows(path, "SELECT id, name FROM things ORDER BY id") == [(1, "a"), (2, "b2"), (3, "c2")]


BATCH = 20_000  # DuckDBSink.max_size: rows per batch


def test_batches_load_in_order_and_the_state_comes_after_the_last_one(tmp_path):
    """Three batches (loaded on the loading thread): a key sent again in a later batch keeps its
    last value, and the STATE is written once, after the rows are in."""
    records = [{"id": i % 30_000, "n": i} for i in range(45_000)]  # three batches, keys repeating
    messages = stream("items", {"id": {"type": "integer"}, "n": {"type": "integer"}}, records)
    messages[-1]["value"] = {"bookmarks": {"items": {"n": 44_999}}}
    proc = run_loader(messages, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [json.loads(line) for line in proc.stdout.splitlines()] == [{"bookmarks": {"items": {"n": 44_999}}}]
    last = {r["id"]: r["n"] for r in records}
    path = str(tmp_path / "warehouse.duckdb")
    assert rows(path, "SELECT count(*), sum(n) FROM items") == [(30_000, sum(last.values()))]
    assert "Loaded 20000 rows" in proc.stderr


def test_a_batch_that_fails_to_load_stops_the_loader_before_any_state(tmp_path):
    records = [{"id": i, "n": i} for i in range(BATCH + 5_000)]
    records[7] = {"id": 7, "n": "seven"}
    messages = stream("items", {"id": {"type": "integer"}, "n": {"type": ["integer", "null"]}}, records)
    proc = run_loader(messages, tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "target-duckdb-exact: error: stream 'items': column 'n' (BIGINT) cannot hold 'seven' (record with key {'id': '7'}); "
        "nothing of this batch was loaded"
    )
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""  # no STATE: none of it is loaded
    assert rows(str(tmp_path / "warehouse.duckdb"), "SELECT count(*) FROM items") == [(0,)]


def test_the_loaders_own_stream_maps_still_apply(tmp_path):
    """Records of a stream with no map take a shorter path; a map in the loader's config still applies."""
    messages = stream("items", {"id": {"type": "integer"}}, [{"id": i} for i in range(1, 6)])
    path = load(messages, tmp_path, stream_maps={"items": {"__filter__": "id > 2"}})
    assert rows(path, "SELECT id FROM items ORDER BY id") == [(3,), (4,), (5,)]


@pytest.mark.parametrize("api", ["certifications", "incidents"])
def test_preset_records_round_trip_exactly(sandbox, tmp_path, api):
    out = sync(preset_config(sandbox, api))
    path = load(out.messages, tmp_path, schema=api)
    for message in (m for m in out.messages if m["type"] == "SCHEMA"):
        name = message["stream"]
        emitted = {r["id"]: r for r in out.records(name)}
        loaded = rows(path, f'SELECT to_json(t)::VARCHAR FROM "{api}"."{name}" t')
        assert len(loaded) == len(emitted), name
        for (text,) in loaded:
            row = json.loads(text)
            record = emitted[row["id"]]
            for field, spec in message["schema"]["properties"].items():
                expected, actual = record.get(field), row[field]
                if spec.get("format") == "date-time" and expected is not None:
                    actual = _iso_utc(actual)
                assert actual == expected, f"{api}.{name} id={row['id']} {field}: {actual!r} != {expected!r}"


def _iso_utc(value: str) -> str:
    from datetime import datetime, timezone

    return datetime.fromisoformat(value).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def replace_source(httpserver, keys) -> dict:
    return {
        "source": {
            "client": {"base_url": httpserver.url_for("/api"), "paginator": {"type": "page_number", "total_path": None}},
            "resources": [
                {
                    "name": "things",
                    "primary_key": keys,
                    "write_disposition": "replace",
                    "schema": {"properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}}},
                    "endpoint": {"path": "things"},
                    "error_handler": {"max_retries": 0},
                }
            ],
        }
    }


def serve(httpserver, pages: dict[str, object]) -> None:
    def handler(request):
        from werkzeug import Response

        page = pages.get(request.args.get("page", "1"), [])
        if page == 500:
            return Response('{"error": "down"}', status=500, content_type="application/json")
        return Response(json.dumps(page), content_type="application/json")

    httpserver.clear()
    httpserver.expect_request("/api/things").respond_with_handler(handler)


@pytest.mark.slow
@pytest.mark.parametrize("keys", [["id"], []], ids=["keyed", "keyless"])
def test_replace_loads_each_sync_as_the_whole_table(httpserver, tmp_path, keys):
    """dlt's `replace`: the tap sends ACTIVATE_VERSION before and after a full-table sync; the
    loader drops the rows the latest sync did not send, and only once it has sent them all."""
    config = replace_source(httpserver, keys)
    serve(httpserver, {"1": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], "2": [{"id": 3, "name": "c"}]})
    first = sync(config)
    versions = [m for m in first.messages if m["type"] == "ACTIVATE_VERSION"]
    assert len(versions) == 2 and versions[0] == versions[1]
    assert first.schema("things")["key_properties"] == keys
    path = load(first.messages, tmp_path)
    assert rows(path, "SELECT id, name FROM things ORDER BY id") == [(1, "a"), (2, "b"), (3, "c")]

    serve(httpserver, {"1": [{"id": 2, "name": "b2"}, {"id": 4, "name": "d"}]})
    second = sync(config)
    for m in second.messages:
        if m["type"] in ("ACTIVATE_VERSION", "RECORD"):
            m["version"] = versions[0]["version"] + 1  # a later sync: a later version
    load(second.messages, tmp_path)
    assert rows(path, "SELECT id, name FROM things ORDER BY id") == [(2, "b2"), (4, "d")]

    # A sync that fails half way sends no second ACTIVATE_VERSION: the rows it did not reach stay.
    serve(httpserver, {"1": [{"id": 5, "name": "e"}], "2": 500})
    failed = run_cli([], config, tmp_path)
    assert failed.returncode != 0
    assert [m["type"] for m in failed.messages].count("ACTIVATE_VERSION") == 1
    load(failed.messages, tmp_path)
    assert rows(path, "SELECT id FROM things ORDER BY id") == [(2,), (4,), (5,)]


def test_replace_over_several_batches_keeps_exactly_the_last_version(tmp_path):
    """The keys a version sent are gathered over all its batches, loaded on the loading thread."""
    properties = {"id": {"type": "integer"}}

    def version(number: int, ids: range) -> list[dict]:
        body = stream("things", properties, [{"id": i} for i in ids])
        begin = {"type": "ACTIVATE_VERSION", "stream": "things", "version": number}
        for m in body:
            if m["type"] == "RECORD":
                m["version"] = number
        return [body[0], begin, *body[1:-1], begin, body[-1]]

    path = load(version(1, range(BATCH + 5_000)), tmp_path)
    load(version(2, range(4_000, BATCH + 5_000)), tmp_path)
    assert rows(path, "SELECT count(*), min(id), max(id) FROM things") == [(BATCH + 1_000, 4_000, BATCH + 4_999)]
