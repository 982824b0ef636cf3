"""Records of a stream with a primary key always carry it.

A record whose key field is null or absent (an upserting target cannot load it; dlt refuses a null
merge key) stops the stream with one line naming the record's page and position
(``on_missing_key: error``, the default), or is dropped and counted (``on_missing_key: drop``). A key
value is never taken away by ``schema_contract: discard_value``.
"""

from __future__ import annotations

import json

import pytest
from werkzeug import Response

from tests.support import last_line, run_cli

SCHEMA = {"properties": {"id": {"type": "integer"}, "org": {"type": ["string", "null"]}, "name": {"type": ["string", "null"]}}}


def items_config(httpserver, primary_key="id", **settings) -> dict:
    paginator = {"type": "page_number", "limit": 3}
    resource = {"name": "items", "primary_key": primary_key, "write_disposition": "merge", "schema": SCHEMA}
    resource["endpoint"] = {"path": "items", "data_selector": "data", "paginator": paginator}
    source = {"client": {"base_url": httpserver.url_for("/api")}, "resources": [resource]}
    return {"max_concurrency": 1, **settings, "source": source}


def serve_pages(httpserver, *pages: list[dict]) -> None:
    def handler(request):
        page = int(request.args.get("page", 1))
        records = pages[page - 1] if page <= len(pages) else []
        return Response(json.dumps({"data": records}), content_type="application/json")

    httpserver.expect_request("/api/items").respond_with_handler(handler)


PAGE_1 = [{"id": 1, "org": "a", "name": "one"}, {"id": 2, "org": "a", "name": "two"}, {"id": 3, "org": "a", "name": "three"}]


@pytest.mark.parametrize(
    ("bad", "lacking"),
    [({"id": None, "org": "a", "name": "null id"}, "'id' is null"), ({"org": "a", "name": "no id"}, "'id' is absent")],
    ids=["null", "absent"],
)
def test_a_record_without_its_key_stops_the_stream_naming_its_position(httpserver, tmp_path, bad, lacking):
    serve_pages(httpserver, PAGE_1, [{"id": 4, "org": "a", "name": "four"}, bad, {"id": 6, "org": "a", "name": "six"}])
    out = run_cli([], items_config(httpserver), tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        f"tap-restgeneric: error: stream 'items': record 2 of page 2 has no value for its primary key ({lacking}); a target "
        "that merges on the key cannot load it (on_missing_key: error; set on_missing_key: drop to skip such records)"
    )
    assert out.ids("items") == [1, 2, 3]  # nothing of the page that holds it
    assert "Traceback" not in out.stderr


def test_every_field_of_a_composite_key_is_required(httpserver, tmp_path):
    serve_pages(httpserver, [{"id": 1, "org": "a"}, {"id": 2, "org": None}, {"id": 3, "org": "c"}])
    out = run_cli([], items_config(httpserver, primary_key=["org", "id"]), tmp_path)
    assert out.returncode == 1
    assert "stream 'items': record 2 of page 1 has no value for its primary key ('org' is null)" in last_line(out.stderr)
    assert out.ids("items") == []


def test_on_missing_key_drop_skips_them_with_one_warning_and_a_count(httpserver, tmp_path):
    serve_pages(
        httpserver,
        [{"id": 1}, {"id": None}, {"id": 3}],
        [{"name": "x", "id": None}, {"id": 5}, {"name": "no id"}],
        [{"id": 7}],
    )
    out = run_cli([], items_config(httpserver, on_missing_key="drop"), tmp_path)
    assert out.returncode == 0, out.stderr[-800:]
    assert out.ids("items") == [1, 3, 5, 7]
    warnings = [line for line in out.stderr.splitlines() if "has no value for its primary key" in line]
    assert len(warnings) == 1
    assert warnings[0].endswith(
        "stream 'items': record 2 of page 1 has no value for its primary key ('id' is null): dropped (on_missing_key: drop), "
        "and every such record after it; the stream's closing line counts them"
    )
    closing = next(line for line in out.stderr.splitlines() if "paging stopped" in line)
    assert "stream 'items': 4 records, 3 dropped without their key (on_missing_key: drop), 3 pages" in closing


def test_a_child_record_without_its_key_names_its_parent(httpserver, tmp_path):
    httpserver.expect_request("/api/parents").respond_with_json({"data": [{"id": 10}, {"id": 20}]})
    httpserver.expect_request("/api/parents/10/children").respond_with_json({"data": [{"id": 1}]})
    httpserver.expect_request("/api/parents/20/children").respond_with_json({"data": [{"id": 2}, {"name": "none"}]})
    config = {
        "source": {
            "client": {"base_url": httpserver.url_for("/api"), "paginator": "single_page"},
            "resources": [
                {"name": "parents", "primary_key": "id", "endpoint": {"path": "parents", "data_selector": "data"}},
                {
                    "name": "children",
                    "primary_key": "id",
                    "schema": SCHEMA,
                    "endpoint": {"path": "parents/{resources.parents.id}/children", "data_selector": "data"},
                },
            ],
        }
    }
    out = run_cli([], config, tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr).startswith(
        "tap-restgeneric: error: stream 'children' (for the 'parents' record with id=20): record 2 of page 1 has no value "
        "for its primary key ('id' is absent)"
    )
    assert out.ids("children") == [1]


def discard_value_config(httpserver, **settings) -> dict:
    config = items_config(httpserver, **settings)
    config["source"]["resources"][0]["schema_contract"] = "discard_value"
    return config


def test_discard_value_never_takes_a_key_value(httpserver, tmp_path):
    serve_pages(httpserver, [{"id": 1, "org": 5}, {"id": "two", "org": "b"}, {"id": 3}])
    out = run_cli([], discard_value_config(httpserver), tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        "tap-restgeneric: error: stream 'items': the record with key {'id': 'two'}: field 'id': a str where the schema says "
        "integer, and schema_contract discard_value never discards a key value (on_missing_key: error; set on_missing_key: "
        "drop to skip such records, or declare the key's type)"
    )
    assert out.records("items") == [{"id": 1}]  # a value of another field is discarded as before


def test_discard_value_with_on_missing_key_drop_drops_the_record_not_its_key(httpserver, tmp_path):
    serve_pages(httpserver, [{"id": 1}, {"id": "two"}, {"id": 3}])
    out = run_cli([], discard_value_config(httpserver, on_missing_key="drop"), tmp_path)
    assert out.returncode == 0, out.stderr[-800:]
    assert out.records("items") == [{"id": 1}, {"id": 3}]
    assert all("id" in record for record in out.records("items"))
    assert "dropped without their key (on_missing_key: drop)" in out.stderr


def test_on_missing_key_is_checked_first(httpserver, tmp_path):
    out = run_cli([], items_config(httpserver, on_missing_key="ignore"), tmp_path)
    assert out.returncode == 1 and not httpserver.log
    assert last_line(out.stderr).startswith("tap-restgeneric: config error: on_missing_key: 'ignore' is not one of")
