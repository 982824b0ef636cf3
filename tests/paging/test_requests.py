"""What goes on the wire for the rest of dlt's dialect: method, JSON body, headers, templates, keys."""

from __future__ import annotations

import json

from tests.support import CANARY, catalog_selecting, pipe_into_duckdb, preset_config, run_cli, sync


def test_post_with_json_body_headers_and_templates(httpserver):
    httpserver.expect_request("/api/search", method="POST").respond_with_json(
        {"results": [{"org": "a", "id": 1, "updated": "2024-02-01"}, {"org": "b", "id": 1, "updated": "2024-03-01"}]}
    )
    config = {
        "secrets": {"tenant": "acme"},
        "start_date": "2024-01-15T00:00:00Z",
        "source": {
            "client": {"base_url": httpserver.url_for("/api"), "headers": {"X-Client": "tap"}},
            "resources": [
                {
                    "name": "hits",
                    "primary_key": ["org", "id"],
                    "write_disposition": {"disposition": "merge", "strategy": "upsert"},
                    "schema": {
                        "properties": {
                            "org": {"type": "string"},
                            "id": {"type": "integer"},
                            "updated": {"type": ["string", "null"]},
                        }
                    },
                    "endpoint": {
                        "path": "search",
                        "method": "POST",
                        "headers": {"X-Tenant": "{{ secrets.tenant }}"},
                        "json": {"query": {"since": "{{ incremental.start_value }}"}, "size": 50},
                        "incremental": {"cursor_path": "updated"},
                        "paginator": "single_page",
                    },
                }
            ],
        },
    }
    out = sync(config)
    ((request, _),) = httpserver.log
    assert request.method == "POST"
    assert request.headers["X-Client"] == "tap" and request.headers["X-Tenant"] == "acme"
    assert json.loads(request.data) == {"query": {"since": "2024-01-15T00:00:00Z"}, "size": 50}
    schema = out.schema("hits")
    assert schema["key_properties"] == ["org", "id"] and schema["bookmark_properties"] == ["updated"]
    assert [(r["org"], r["id"]) for r in out.records("hits")] == [("a", 1), ("b", 1)]
    assert out.states[-1]["bookmarks"]["hits"]["replication_key_value"] == "2024-03-01"


def test_dlt_params_incremental_and_placeholder(httpserver):
    httpserver.expect_request("/api/events").respond_with_json([{"id": 1, "ts": 5}, {"id": 2, "ts": 9}, {"id": 3, "ts": 2}])
    config = {
        "source": {
            "client": {"base_url": httpserver.url_for("/api")},
            "resources": [
                {
                    "name": "events",
                    "primary_key": "id",
                    "write_disposition": "append",
                    "schema": {"properties": {"id": {"type": "integer"}, "ts": {"type": "integer"}}},
                    "endpoint": {
                        "path": "events",
                        "paginator": "single_page",
                        "params": {
                            "after": {"type": "incremental", "cursor_path": "ts", "initial_value": 4},
                            "echo": "{incremental.start_value}",
                        },
                    },
                }
            ],
        }
    }
    out = sync(config)
    ((request, _),) = httpserver.log
    assert dict(request.args) == {"after": "4", "echo": "4"}
    assert out.ids("events") == [1, 2]  # ts 2 is older than the start value: dropped, as dlt does
    assert out.schema("events")["key_properties"] == ["id"]  # the key describes the data, whatever the disposition


def test_config_from_environment_variables(sandbox, tmp_path):
    env = {
        "TAP_RESTGENERIC_API": "incidents",
        "TAP_RESTGENERIC_BASE_URL": sandbox.base_url("incidents"),
        "TAP_RESTGENERIC_SECRETS": json.dumps({"api_token": CANARY}),
    }
    out = run_cli(["--config", "ENV"], env=env)
    assert out.returncode == 0, out.stderr[-500:]
    assert sorted(out.ids("alerts")) == sorted(sandbox.ids("incidents", "alerts"))


def test_test_flag_syncs_one_record_per_stream(sandbox, tmp_path):
    out = run_cli(["--test"], preset_config(sandbox, "operations"), tmp_path)
    assert out.returncode == 0
    counts = {}
    for message in out.messages:
        if message["type"] == "RECORD":
            counts[message["stream"]] = counts.get(message["stream"], 0) + 1
    assert counts and set(counts.values()) == {1}


def test_catalog_selection_and_deselected_properties(sandbox, tmp_path):
    config = preset_config(sandbox, "incidents")
    path = catalog_selecting(config, tmp_path, "teams", deselected_properties=("description",))
    out = run_cli(["--catalog", path], config, tmp_path)
    assert out.returncode == 0
    assert {m["stream"] for m in out.messages if m["type"] == "RECORD"} == {"teams"}
    records = out.records("teams")
    assert sorted(r["id"] for r in records) == sorted(sandbox.ids("incidents", "teams"))
    assert all("description" not in r and "name" in r for r in records)


def test_plain_pipe_into_the_duckdb_loader(sandbox, tmp_path):
    import duckdb

    proc = pipe_into_duckdb(preset_config(sandbox, "certifications"), tmp_path, "plain.duckdb", "certifications")
    assert proc.returncode == 0, proc.stderr[-1000:]
    with duckdb.connect(str(tmp_path / "plain.duckdb"), read_only=True) as con:
        for name, count in sandbox.counts()["certifications"].items():
            assert con.execute(f'SELECT count(*) FROM certifications."{name}"').fetchall() == [(count,)], name
