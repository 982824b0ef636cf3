"""Records that leave their schema: schema_contract evolve (default), freeze, discard_value, discard_row."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest

from tap_restgeneric.errors import StreamError
from tests.support import last_line, pipe_into_duckdb, run_cli, sync

SCHEMA = {
    "properties": {
        "id": {"type": "integer"},
        "count": {"type": ["integer", "null"]},
        "seen_at": {"type": ["string", "null"], "format": "date-time"},
    }
}
PAGES = {
    "1": [{"id": 1, "count": 1, "seen_at": "2024-01-01T00:00:00Z"}, {"id": 2, "count": 2, "seen_at": None}],
    "2": [
        {"id": 3, "count": "many", "seen_at": "2024-01-02T00:00:00Z"},
        {"id": 4, "count": 4, "seen_at": "yesterday", "extra": True},
    ],
    "3": [{"id": 5, "count": 5, "seen_at": "2024-01-03T00:00:00Z", "extra": False}],
}


def config(httpserver, contract=None, setting=None) -> dict:
    def handler(request):
        from werkzeug import Response

        page = request.args.get("page", "1")
        return Response(json.dumps({"data": PAGES.get(page, [])}), content_type="application/json")

    httpserver.expect_request("/api/things").respond_with_handler(handler)
    resource = {
        "name": "things",
        "primary_key": "id",
        "write_disposition": "merge",
        "schema": SCHEMA,
        "endpoint": {"path": "things", "data_selector": "data", "paginator": {"type": "page_number"}},
    }
    if contract is not None:
        resource["schema_contract"] = contract
    settings = {"schema_contract": setting} if setting else {}
    return {**settings, "source": {"client": {"base_url": httpserver.url_for("/api")}, "resources": [resource]}}


def test_evolve_widens_and_adds_fields_with_a_new_schema_before_the_record(httpserver, tmp_path):
    out = run_cli([], config(httpserver), tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    kinds = [(m["type"], m.get("record", {}).get("id")) for m in out.messages if m["type"] in ("SCHEMA", "RECORD")]
    assert kinds == [
        ("SCHEMA", None),
        ("RECORD", 1),
        ("RECORD", 2),
        ("SCHEMA", None),
        ("RECORD", 3),
        ("SCHEMA", None),
        ("RECORD", 4),
        ("RECORD", 5),
    ]
    schemas = [m["schema"]["properties"] for m in out.messages if m["type"] == "SCHEMA"]
    assert schemas[1]["count"]["type"] == ["integer", "null", "string"]
    assert schemas[2]["seen_at"] == {"type": ["null", "string"]} and schemas[2]["extra"] == {"type": ["boolean", "null"]}
    assert [r["count"] for r in out.records("things")] == [1, 2, "many", 4, 5]
    assert out.records("things")[3]["extra"] is True
    evolved = [line for line in out.stderr.splitlines() if "schema evolved" in line]
    assert len(evolved) == 3
    assert evolved[0].endswith(
        "stream 'things': schema evolved: 'count' from integer/null to integer/null/string (schema_contract evolve)"
    )


def test_freeze_stops_with_one_line_naming_field_value_type_and_key(httpserver, tmp_path):
    out = run_cli([], config(httpserver, setting="freeze"), tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        "tap-restgeneric: error: stream 'things': field 'count': a str where the schema says integer/null "
        "in the record with key {'id': 3} (schema_contract freeze)"
    )
    assert out.ids("things") == [1, 2]


def test_discard_value_and_discard_row(httpserver):
    kept = sync(config(httpserver, contract="discard_value")).records("things")
    assert [r["id"] for r in kept] == [1, 2, 3, 4, 5]
    assert "count" not in kept[2] and "extra" not in kept[3] and "seen_at" not in kept[3]
    httpserver.clear()
    rows = sync(config(httpserver, contract={"columns": "evolve", "data_type": "discard_row"})).ids("things")
    assert rows == [1, 2, 5]


def test_a_resource_contract_wins_over_the_setting_and_a_bad_one_is_a_config_error(httpserver, tmp_path):
    with pytest.raises(StreamError, match="schema_contract freeze"):
        sync(config(httpserver, contract="freeze", setting="evolve"))
    httpserver.clear()
    out = run_cli(["--discover"], config(httpserver, contract={"columns": "sometimes"}), tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        "tap-restgeneric: config error: resources[0].schema_contract.columns: 'sometimes' is not one of "
        "evolve, freeze, discard_value, discard_row"
    )


def test_the_duckdb_loader_adds_and_widens_columns_in_place(httpserver, tmp_path):
    proc = pipe_into_duckdb(config(httpserver), tmp_path, "w.duckdb", "s")
    assert proc.returncode == 0, proc.stderr[-2000:]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        rows = con.execute('SELECT id, "count", CAST(seen_at AS VARCHAR), extra FROM s.things ORDER BY id').fetchall()
        types = dict(
            con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'things'").fetchall()
        )
    assert [r[:2] for r in rows] == [(1, "1"), (2, "2"), (3, "many"), (4, "4"), (5, "5")]
    assert rows[3][2] == "yesterday" and rows[3][3] is True
    assert types["count"] == "VARCHAR" and types["seen_at"] == "VARCHAR" and types["extra"] == "BOOLEAN"


def test_the_duckdb_loader_names_a_value_it_cannot_store_in_one_line(tmp_path):
    lines = [
        {
            "type": "SCHEMA",
            "stream": "t",
            "key_properties": ["id"],
            "schema": {"properties": {"id": {"type": "integer"}, "n": {"type": ["integer", "null"]}}},
        },
        {"type": "RECORD", "stream": "t", "record": {"id": 1, "n": 5}},
        {"type": "RECORD", "stream": "t", "record": {"id": 2, "n": "five"}},
        {"type": "STATE", "value": {"bookmarks": {"t": {}}}},
    ]
    (tmp_path / "target.json").write_text(json.dumps({"filepath": str(tmp_path / "w.duckdb"), "default_target_schema": "s"}))
    proc = subprocess.run(
        [f"{sys.prefix}/bin/target-duckdb-exact", "--config", str(tmp_path / "target.json")],
        input="\n".join(json.dumps(line) for line in lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "target-duckdb-exact: error: stream 't': column 'n' (BIGINT) cannot hold 'five' (record with key {'id': '2'}); "
        "nothing of this batch was loaded"
    )
    assert "Traceback" not in proc.stderr
    assert '"bookmarks"' not in proc.stdout  # the state is not passed on past the failed batch
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM s.t").fetchall() == [(0,)]


NESTED_SCHEMA = {
    "properties": {
        "id": {"type": "integer"},
        "address": {"type": ["object", "null"], "properties": {"city": {"type": ["string", "null"]}}},
        "lines": {"type": ["array", "null"], "items": {"type": "object", "properties": {"sku": {"type": ["string", "null"]}}}},
    }
}
NESTED = [
    {"id": 1, "address": {"city": "Oslo"}, "lines": [{"sku": "a"}]},
    {"id": 2, "address": {"city": "Rome", "country": "IT"}, "lines": [{"sku": "b", "qty": 2}, {"sku": "c"}]},
]


def nested_config(httpserver, contract=None) -> dict:
    httpserver.expect_request("/api/orders").respond_with_json(NESTED)
    resource = {
        "name": "orders",
        "primary_key": "id",
        "schema": NESTED_SCHEMA,
        "endpoint": {"path": "orders", "paginator": {"type": "single_page"}},
    }
    if contract is not None:
        resource["schema_contract"] = contract
    return {"source": {"client": {"base_url": httpserver.url_for("/api")}, "resources": [resource]}}


def test_nested_fields_evolve_instead_of_being_dropped(httpserver):
    out = sync(nested_config(httpserver))
    assert out.records("orders") == NESTED
    schemas = [m["schema"] for m in out.messages if m["type"] == "SCHEMA"]
    assert len(schemas) == 2
    assert schemas[-1]["properties"]["address"]["properties"]["country"] == {"type": ["string", "null"]}
    assert schemas[-1]["properties"]["lines"]["items"]["properties"]["qty"] == {"type": ["integer", "null"]}


def test_nested_fields_under_freeze_and_discard_value(httpserver, tmp_path):
    out = run_cli([], nested_config(httpserver, "freeze"), tmp_path)
    assert out.returncode != 0
    assert last_line(out.stderr) == (
        "tap-restgeneric: error: stream 'orders': new field 'address.country' (str) in the record with key {'id': 2} "
        "(schema_contract freeze)"
    )
    assert [r["id"] for r in out.records("orders")] == [1]
    kept = sync(nested_config(httpserver, "discard_value")).records("orders")
    assert kept == [NESTED[0], {"id": 2, "address": {"city": "Rome"}, "lines": [{"sku": "b"}, {"sku": "c"}]}]
