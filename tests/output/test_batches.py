"""batch_config: records in JSON-lines files and BATCH messages, from the tap to the DuckDB loader."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.streams.test_parent_child import config_for, tracker, tracker_source  # noqa: F401 - tracker is a fixture
from tests.support import last_line, run_cli, sync
from tests.test_loader import rows, run_loader

RECORDS = [{"id": i, "name": f"n{i}"} for i in range(1, 6)]
SCHEMA = {"properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}}}


def serve(httpserver, records: list[dict], per_page: int = 2) -> None:
    def handler(request):
        from werkzeug import Response

        page = int(request.args.get("page", "1"))
        body = records[(page - 1) * per_page : page * per_page]
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/things").respond_with_handler(handler)


def batch_source(httpserver, tmp_path, compression: str = "none", **resource) -> dict:
    return {
        "source": {
            "client": {"base_url": httpserver.url_for("/api"), "paginator": {"type": "page_number", "total_path": None}},
            "resources": [{"name": "things", "primary_key": "id", "schema": SCHEMA, "endpoint": {"path": "things"}, **resource}],
        },
        "batch_config": {
            "encoding": {"format": "jsonl", "compression": compression},
            "storage": {"root": (tmp_path / "batches").as_uri(), "prefix": "b-"},
            "batch_size": 2,
        },
    }


def file_records(url: str) -> list[dict]:
    path = Path(urllib.parse.urlparse(url).path)
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return [json.loads(line) for line in data.decode().splitlines()]


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_batch_config_writes_the_records_into_files_one_batch_message_each(httpserver, tmp_path, compression):
    """Each file of batch_size records is one BATCH message, and the STATE after it covers it."""
    serve(httpserver, RECORDS)
    incremental = {"cursor_path": "id", "row_order": "asc"}
    config = batch_source(httpserver, tmp_path, compression, endpoint={"path": "things", "incremental": incremental})
    out = sync(config)
    assert [m["type"] for m in out.messages] == ["SCHEMA", "BATCH", "STATE", "BATCH", "STATE", "BATCH", "STATE"]
    bookmarks = [m["value"]["bookmarks"]["things"].get("replication_key_value") for m in out.messages if m["type"] == "STATE"]
    assert bookmarks == [2, 4, 5]
    batches = [m for m in out.messages if m["type"] == "BATCH"]
    assert {json.dumps(m["encoding"]) for m in batches} == {json.dumps({"format": "jsonl", "compression": compression})}
    assert [len(m["manifest"]) for m in batches] == [1, 1, 1]
    urls = [m["manifest"][0] for m in batches]
    assert all(url.startswith((tmp_path / "batches").as_uri() + "/b-tap-restgeneric--things-") for url in urls)
    assert all(url.endswith(".jsonl.gz" if compression == "gzip" else ".jsonl") for url in urls)
    assert [file_records(url) for url in urls] == [RECORDS[0:2], RECORDS[2:4], RECORDS[4:]]
    without = sync({k: v for k, v in config.items() if k != "batch_config"})
    assert without.records("things") == RECORDS  # the same records as RECORD messages carry


def test_batch_files_follow_the_schema_contract(httpserver, tmp_path):
    """Records are fitted to the schema as RECORD messages are: a new field evolves the schema
    (a SCHEMA before the BATCH that holds it), and a value the contract drops is dropped."""
    records = [{"id": 1, "name": "a"}, {"id": 2, "name": "b", "colour": "red"}, {"id": 3, "name": 4}]
    serve(httpserver, records, per_page=3)
    config = batch_source(httpserver, tmp_path, schema_contract={"columns": "evolve", "data_type": "discard_value"})
    config["batch_config"]["batch_size"] = 10
    out = sync(config)
    assert [m["type"] for m in out.messages] == ["SCHEMA", "SCHEMA", "BATCH", "STATE"]
    assert "colour" in out.messages[1]["schema"]["properties"]
    (batch,) = [m for m in out.messages if m["type"] == "BATCH"]
    expected = [{"id": 1, "name": "a"}, {"id": 2, "name": "b", "colour": "red"}, {"id": 3}]  # discard_value drops "name": 4
    assert file_records(batch["manifest"][0]) == expected
    assert sync({k: v for k, v in config.items() if k != "batch_config"}).records("things") == expected


@pytest.mark.parametrize(
    ("batch_config", "line"),
    [
        (
            {"encoding": {"format": "parquet", "compression": "gzip"}},
            "tap-restgeneric: config error: batch_config.encoding.format: 'parquet' is not one of jsonl",
        ),
        (
            {"encoding": {"format": "jsonl", "compression": "zstd"}},
            "tap-restgeneric: config error: batch_config.encoding.compression: 'zstd' is not one of gzip, none",
        ),
        ({"batch_size": 0}, "tap-restgeneric: config error: batch_config.batch_size: 0 is not a positive number of records"),
        (
            {"storage": {"root": "file://tmp/batches"}},  # "tmp" would be a host
            (
                "tap-restgeneric: config error: batch_config.storage.root: 'file://tmp/batches' is not a local folder's URL "
                "(file:///var/tmp/batches)"
            ),
        ),
    ],
)
def test_a_batch_config_the_tap_cannot_write_is_one_line(httpserver, tmp_path, batch_config, line):
    serve(httpserver, RECORDS)
    config = batch_source(httpserver, tmp_path)
    config["batch_config"].update(batch_config)
    out = run_cli([], config, tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == line
    assert "Traceback" not in out.stderr
    assert out.messages == []  # checked with the other settings, before any stream


def test_batch_config_with_a_stream_map_is_refused_in_one_line(httpserver, tmp_path):
    serve(httpserver, RECORDS)
    config = batch_source(httpserver, tmp_path)
    config["stream_maps"] = {"things": {"name": None}}
    out = run_cli([], config, tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        "tap-restgeneric: config error: batch_config: stream 'things' has a stream map, flattening or deselected "
        "properties, which batch files would not apply; remove batch_config or them"
    )


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_the_duckdb_loader_loads_batch_files_whole(httpserver, tmp_path, compression):
    """The loader reads each file with DuckDB; a key sent twice keeps its last line, as with RECORDs."""
    records = [*RECORDS, {"id": 2, "name": "n2 again"}]
    serve(httpserver, records, per_page=10)
    config = batch_source(httpserver, tmp_path, compression)
    config["batch_config"]["batch_size"] = 10
    out = sync(config)
    proc = run_loader(out.messages, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    path = str(tmp_path / "warehouse.duckdb")
    assert rows(path, "SELECT id, name FROM things ORDER BY id") == [
        (1, "n1"),
        (2, "n2 again"),
        (3, "n3"),
        (4, "n4"),
        (5, "n5"),
    ]
    assert [json.loads(line) for line in proc.stdout.splitlines()] == [out.states[-1]]


def test_replace_with_batch_files_keeps_exactly_the_last_version(httpserver, tmp_path):
    serve(httpserver, RECORDS)
    config = batch_source(httpserver, tmp_path, write_disposition="replace")
    first = sync(config)
    assert [m["type"] for m in first.messages].count("ACTIVATE_VERSION") == 2
    path = str(tmp_path / "warehouse.duckdb")
    assert run_loader(first.messages, tmp_path).returncode == 0
    assert rows(path, "SELECT count(*) FROM things") == [(5,)]

    httpserver.clear()
    serve(httpserver, RECORDS[2:])
    second = sync(config)
    for m in second.messages:
        if m["type"] == "ACTIVATE_VERSION":
            m["version"] += 1  # a later sync: a later version
    proc = run_loader(second.messages, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert rows(path, "SELECT id FROM things ORDER BY id") == [(3,), (4,), (5,)]


@pytest.mark.usefixtures("tracker")
def test_parents_and_children_in_batch_files_are_all_there(sandbox, tmp_path):
    """A child's files are written while its parent's file is open: every file a BATCH message
    names exists, whole, and together they hold exactly the records RECORD messages carry."""
    config = config_for(tracker_source(sandbox))
    expected = sync(config)
    config["batch_config"] = {"encoding": {"format": "jsonl", "compression": "gzip"}, "storage": {"root": tmp_path.as_uri()}}
    out = sync(config)
    assert not [m for m in out.messages if m["type"] == "RECORD"]
    for stream in ("issues", "comments", "reactions"):
        urls = [u for m in out.messages if m["type"] == "BATCH" and m["stream"] == stream for u in m["manifest"]]
        batched = [record for url in urls for record in file_records(url)]
        key = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731
        assert sorted(batched, key=key) == sorted(expected.records(stream), key=key), stream
    assert not list(tmp_path.glob("*.part"))
    assert out.states[-1] == expected.states[-1]


def sorted_source(httpserver, tmp_path, batch_size: int) -> dict:
    config = batch_source(
        httpserver, tmp_path, endpoint={"path": "things", "incremental": {"cursor_path": "id", "row_order": "asc"}}
    )
    config["batch_config"]["batch_size"] = batch_size
    return config


def announced(messages: list[dict], stream: str) -> list[dict]:
    return [r for m in messages if m["type"] == "BATCH" and m["stream"] == stream for u in m["manifest"] for r in file_records(u)]


def test_a_state_written_while_a_batch_file_is_open_comes_after_that_file_is_announced(httpserver, tmp_path):
    """A child's STATE holds its parent's bookmark: the parent's open file is closed and announced
    (BATCH) before it, so no STATE covers a record that is not in an announced file."""
    serve(httpserver, RECORDS)

    def parts(request):
        from werkzeug import Response

        time.sleep(0.3)  # five parents, one at a time: a tree writes an interim STATE after a second
        return Response(json.dumps([{"part": 1}]), content_type="application/json")

    httpserver.expect_request("/api/parts").respond_with_handler(parts)
    config = sorted_source(httpserver, tmp_path, batch_size=100)
    config["max_concurrency"] = 1
    child = {
        "name": "parts",
        "endpoint": {"path": "parts", "params": {"of": "{resources.things.id}"}, "paginator": "single_page"},
    }
    config["source"]["resources"].append(child)
    out = sync(config)
    for i, message in enumerate(out.messages):
        if message["type"] == "STATE":
            bookmark = message["value"]["bookmarks"]["things"].get("replication_key_value")
            covered = max((r["id"] for r in announced(out.messages[:i], "things")), default=0)
            assert bookmark is None or bookmark <= covered, f"STATE {i} holds {bookmark}, the files announced end at {covered}"
    assert sorted(r["id"] for r in announced(out.messages, "things")) == [1, 2, 3, 4, 5]
    assert len([m for m in out.messages if m["type"] == "BATCH" and m["stream"] == "things"]) > 1  # closed early
    assert not list((tmp_path / "batches").glob("*.part"))


def test_a_signal_during_a_batch_sync_leaves_the_last_state_and_no_partial_file(httpserver, tmp_path):
    release = threading.Event()
    page_3_asked = threading.Event()

    def handler(request):
        from werkzeug import Response

        page = int(request.args.get("page", "1"))
        if page == 3:
            page_3_asked.set()
            release.wait(30)  # the tap waits here when the signal comes
        body = [{"id": i, "name": f"n{i}"} for i in range(2 * page - 1, 2 * page + 1)] if page <= 5 else []
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/things").respond_with_handler(handler)
    config = sorted_source(httpserver, tmp_path, batch_size=3)
    (tmp_path / "config.json").write_text(json.dumps(config))
    argv = [sys.executable, "-c", "from tap_restgeneric.cli import main; main()", "--config", str(tmp_path / "config.json")]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in process.stdout:  # type: ignore[union-attr]
        lines.append(line)
        if line.startswith('{"type":"STATE"'):
            break
    assert page_3_asked.wait(30)  # records 4 is read (in the open file or about to be); the tap waits on page 3
    process.send_signal(signal.SIGTERM)
    rest, stderr = process.communicate(timeout=30)
    release.set()
    messages = [json.loads(line) for line in ("".join(lines) + rest).splitlines()]
    assert process.returncode == 143
    assert last_line(stderr) == "tap-restgeneric: interrupted by SIGTERM: the records written are covered by the last STATE"
    assert [m["type"] for m in messages] == ["SCHEMA", "BATCH", "STATE"]
    assert messages[-1]["value"]["bookmarks"]["things"]["replication_key_value"] == 3
    assert announced(messages, "things") == [{"id": i, "name": f"n{i}"} for i in (1, 2, 3)]
    assert [p.name for p in (tmp_path / "batches").iterdir()] == [messages[1]["manifest"][0].rsplit("/", 1)[1]]


def batch_messages(stream: str, key: str, urls: list[str], *, version: int | None = None) -> list[dict]:
    schema = {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"properties": {key: {"type": "integer"}, "v": {"type": ["string", "null"]}}},
    }
    batches = [
        {"type": "BATCH", "stream": stream, "encoding": {"format": "jsonl", "compression": "none"}, "manifest": [u]} for u in urls
    ]
    if version is None:
        return [{**schema, "key_properties": [key]}, *batches]
    begin = {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}
    return [{**schema, "key_properties": [key]}, begin, *batches, begin]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (None, "target-duckdb-exact: error: stream 't': IO Error: No files found"),
        ('{"id": 1, "v": "a"}\n{"id": 2, "v', "target-duckdb-exact: error: stream 't': "),
    ],
    ids=["missing", "cut-short"],
)
def test_a_batch_file_the_loader_cannot_read_is_one_line_and_no_state(tmp_path, content, line):
    if content is not None:
        (tmp_path / "b.jsonl").write_text(content)
    messages = [*batch_messages("t", "id", [(tmp_path / "b.jsonl").as_uri()]), {"type": "STATE", "value": {"b": 1}}]
    proc = run_loader(messages, tmp_path)
    assert proc.returncode == 1
    assert last_line(proc.stderr).startswith(line)
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_records_before_a_batch_are_loaded_before_it_whichever_way_the_batch_is_read(tmp_path):
    """A manifest of a bare path takes the SDK's way (records read in Python); the RECORD before
    it still loads first, so the BATCH's newer row is the one kept."""
    (tmp_path / "b.jsonl").write_text('{"id": 1, "v": "from the batch"}\n')
    schema, batch = batch_messages("t", "id", [str(tmp_path / "b.jsonl")])
    record = {"type": "RECORD", "stream": "t", "record": {"id": 1, "v": "from a record before"}}
    proc = run_loader([schema, record, batch, {"type": "STATE", "value": {"b": 1}}], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert rows(str(tmp_path / "warehouse.duckdb"), "SELECT id, v FROM t") == [(1, "from the batch")]


@pytest.mark.parametrize("key", ["k", "id"])
def test_replace_from_batch_files_whatever_the_key_is_named(tmp_path, key):
    (tmp_path / "v1.jsonl").write_text("".join(json.dumps({key: i, "v": "one"}) + "\n" for i in (1, 2, 3)))
    (tmp_path / "v2.jsonl").write_text("".join(json.dumps({key: i, "v": "two"}) + "\n" for i in (2, 3)))
    assert run_loader(batch_messages("t", key, [(tmp_path / "v1.jsonl").as_uri()], version=1), tmp_path).returncode == 0
    proc = run_loader(batch_messages("t", key, [(tmp_path / "v2.jsonl").as_uri()], version=2), tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert rows(str(tmp_path / "warehouse.duckdb"), f'SELECT "{key}", v FROM t ORDER BY 1') == [(2, "two"), (3, "two")]


def test_a_failed_load_fails_every_wait_after_it():
    """The SIGTERM path drains and writes STATE: the failure of the load in flight must stop it too."""
    from target_duckdb_exact.sink import LoadError, Loads

    def fail() -> None:
        raise LoadError("stream 't': boom")

    loads = Loads()
    loads.submit(fail)
    for _ in range(2):
        with pytest.raises(LoadError, match="boom"):
            loads.wait()


def test_batch_files_do_not_depend_on_the_tap_s_own_writer(httpserver, tmp_path, monkeypatch):
    """The SDK's writer (levers.py's variant) writes the BATCH messages; the files are the same."""
    from singer_sdk.plugin_base import SingerWriter

    from tap_restgeneric.tap import TapRestGeneric

    monkeypatch.setattr(TapRestGeneric, "message_writer_class", SingerWriter)
    serve(httpserver, RECORDS)
    out = sync(batch_source(httpserver, tmp_path))
    assert announced(out.messages, "things") == RECORDS


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_a_batch_file_that_cannot_be_written_whole_is_one_line_and_never_announced(httpserver, tmp_path, compression):
    """A full disk, here a file size limit (RLIMIT_FSIZE, as `ulimit -f`): the sync stops in one line
    naming the stream and the file; the cut file is removed, and every BATCH message names a whole file."""
    import os
    import resource

    big = {"id": 11, "name": os.urandom(40_000).hex()}  # its file passes the limit, compressed or not
    records = [{"id": i, "name": f"n{i}"} for i in range(1, 11)] + [big, {"id": 12, "name": "n12"}]
    serve(httpserver, records, per_page=5)
    config = batch_source(httpserver, tmp_path, compression) | {"max_concurrency": 1}  # no page logged after the error
    config["batch_config"]["batch_size"] = 5
    (tmp_path / "config.json").write_text(json.dumps(config))
    limit = 32_768

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-c", "from tap_restgeneric.cli import main; main()", "--config", str(tmp_path / "config.json")],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limited,  # the limit must be the child's alone, set before it starts
        check=False,
    )
    assert proc.returncode == 1
    folder = tmp_path / "batches"
    files = sorted(folder.iterdir())
    line = last_line(proc.stderr)
    suffix = ".jsonl.gz" if compression == "gzip" else ".jsonl"
    assert line.startswith(
        f"tap-restgeneric: error: stream 'things': cannot write batch file {folder}/b-tap-restgeneric--things-"
    )
    assert line.endswith(
        f"-3{suffix}.part: File too large (EFBIG); the file was removed and no BATCH message names it (the last STATE "
        "covers the files announced before it)"
    )
    assert "Traceback" not in proc.stderr
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    batches = [m["manifest"][0] for m in messages if m["type"] == "BATCH"]
    assert [file_records(url) for url in batches] == [records[0:5], records[5:10]]  # whole files, each announced
    assert [Path(urllib.parse.urlparse(url).path) for url in batches] == files  # and nothing else left behind
