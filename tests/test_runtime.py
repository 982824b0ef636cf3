"""Retries with injected faults, errors a user can act on, incremental state, schema inference."""

from __future__ import annotations

import datetime
import email.utils
import json
import re
import time

import pytest
from werkzeug import Response

from tap_restgeneric.errors import StreamError
from tap_restgeneric.tap import TapRestGeneric
from tap_restgeneric.transport.retry import retry_after_seconds
from tests.support import CANARY, last_line, preset_config, run_cli, sync

CLIENTS = "/operations/v1/master/client"
LOCATIONS = "/operations/v1/master/locations"


def operations_source(sandbox, error_handler=None, **endpoint) -> dict:
    return {
        "secrets": {"api_key": CANARY},
        "request_timeout": 5,
        "source": {
            "client": {
                "base_url": sandbox.base_url("operations"),
                "auth": {"type": "api_key", "name": "api_key", "api_key": "{{ secrets.api_key }}"},
            },
            "resource_defaults": {
                "primary_key": "id",
                "write_disposition": "merge",
                "error_handler": {"backoff_factor": 0.01, **(error_handler or {})},
            },
            "resources": [
                {
                    "name": "clients",
                    "schema": {"properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}}},
                    "endpoint": {"path": "/v1/master/client", "data_selector": "data", "paginator": "single_page", **endpoint},
                },
                {
                    "name": "locations",
                    "schema": {"properties": {"id": {"type": "integer"}}},
                    "endpoint": {"path": "/v1/master/locations", "data_selector": "data", "paginator": "single_page"},
                },
            ],
        },
    }


def hits(sandbox, path: str) -> int:
    return sum(1 for r in sandbox.requests if r.path == path)


@pytest.mark.parametrize(
    ("kind", "extra"),
    [("429", {"retry_after": 0}), ("500", {}), ("502", {}), ("503", {}), ("504", {}), ("reset", {}), ("slow", {"delay": 2})],
)
def test_transient_faults_are_retried(sandbox, kind, extra):
    config = operations_source(sandbox)
    if kind == "slow":
        config["request_timeout"] = 0.5
    sandbox.inject_fault(CLIENTS, kind, count=2, **extra)
    out = sync(config)
    assert out.ids("clients") == sandbox.ids("operations", "clients")
    assert out.ids("locations") == sandbox.ids("operations", "locations")
    assert hits(sandbox, CLIENTS) == 3


def test_retries_give_up_after_max_retries_with_the_stream_status_and_url(sandbox):
    sandbox.inject_fault(CLIENTS, "503", count=10)
    with pytest.raises(StreamError) as info:
        sync(operations_source(sandbox, {"max_retries": 2}))
    assert str(info.value) == (
        f"stream 'clients': HTTP 503 Service Unavailable from {sandbox.base_url('operations')}/v1/master/client (gave up after 3 attempts)"
    )
    assert hits(sandbox, CLIENTS) == 3
    sandbox.clear_faults()


def test_status_not_in_retry_on_status_codes_is_not_retried(sandbox):
    sandbox.inject_fault(CLIENTS, "503", count=1)
    with pytest.raises(StreamError, match=r"^stream 'clients': HTTP 503 Service Unavailable from "):
        sync(operations_source(sandbox, {"retry_on_status_codes": [429]}))
    assert hits(sandbox, CLIENTS) == 1


@pytest.mark.parametrize("kind", ["401", "403"])
def test_refused_credentials_are_named(sandbox, kind):
    sandbox.inject_fault(CLIENTS, kind, count=1)
    with pytest.raises(StreamError) as info:
        sync(operations_source(sandbox))
    assert str(info.value).startswith(f"stream 'clients': HTTP {kind} ")
    assert str(info.value).endswith(
        f"from {sandbox.base_url('operations')}/v1/master/client: the API refused the credentials (check `secrets` and client.auth)"
    )
    assert hits(sandbox, CLIENTS) == 1


def test_non_json_body_is_retried_then_names_stream_status_and_url(sandbox):
    sandbox.inject_fault(CLIENTS, "html", count=10)
    with pytest.raises(StreamError) as info:
        sync(operations_source(sandbox, {"max_retries": 2}))
    sandbox.clear_faults()
    assert str(info.value).startswith("stream 'clients': response is not JSON (text/html")
    assert str(info.value).endswith(
        f"HTTP 200) from {sandbox.base_url('operations')}/v1/master/client (gave up after 3 attempts)"
    )
    assert hits(sandbox, CLIENTS) == 3


def test_a_non_json_200_mid_stream_is_retried_and_the_stream_completes(sandbox):
    sandbox.inject_fault(CLIENTS, "html", count=2)
    out = sync(operations_source(sandbox))
    assert out.ids("clients") == sandbox.ids("operations", "clients")
    assert hits(sandbox, CLIENTS) == 3


def test_data_selector_that_does_not_match_names_stream_status_and_url(sandbox):
    with pytest.raises(StreamError) as info:
        sync(operations_source(sandbox, data_selector="items"))
    assert str(info.value) == (
        f"stream 'clients': data_selector 'items' matched nothing in the response (HTTP 200) from {sandbox.base_url('operations')}/v1/master/client"
    )


def test_cli_error_is_one_line_nonzero_and_keeps_records_already_emitted(sandbox, tmp_path):
    config = operations_source(sandbox, {"max_retries": 1})
    sandbox.inject_fault(LOCATIONS, "html", count=5)
    out = run_cli([], config, tmp_path)
    sandbox.clear_faults()
    assert out.returncode == 1
    assert last_line(out.stderr).startswith("tap-restgeneric: error: stream 'locations': response is not JSON")
    assert "Traceback" not in out.stderr
    assert out.ids("clients") == sandbox.ids("operations", "clients")
    assert out.ids("locations") == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0", 0.0), ("600", 60.0), ("not-a-date", 0.04)],
)
def test_retry_after_seconds_are_honoured_and_capped(header, expected):
    stream = _clients_stream()
    assert stream.parts.sender.retry_delay(_retriable(header), attempt=2) == pytest.approx(expected)


def test_retry_after_http_date_is_seconds_from_now():
    now = datetime.datetime(2026, 10, 21, 7, 27, 55, tzinfo=datetime.timezone.utc).timestamp()
    assert retry_after_seconds("Wed, 21 Oct 2026 07:28:00 GMT", now=now) == 5.0
    assert retry_after_seconds("Wed, 21 Oct 2026 07:27:50 GMT", now=now) == -5.0  # the stream's delay clamps it to 0
    assert retry_after_seconds("soon", now=now) is None


def test_retry_after_http_date_is_honoured_and_capped():
    stream = _clients_stream()
    when = email.utils.formatdate(time.time() + 3600, usegmt=True)  # an hour from now: more than max_retry_after
    assert stream.parts.sender.retry_delay(_retriable(when), attempt=0) == 60.0


def test_exponential_backoff_without_retry_after():
    sender = _clients_stream().parts.sender
    assert [sender.retry_delay(RuntimeError("x"), attempt=n) for n in range(4)] == pytest.approx([0.01, 0.02, 0.04, 0.08])


def _clients_stream():
    from tests.conftest import SANDBOX

    tap = TapRestGeneric(config=operations_source(SANDBOX), parse_env_config=False)
    return tap.streams["clients"]


def _retriable(retry_after: str):
    import requests
    from singer_sdk.exceptions import RetriableAPIError

    response = requests.Response()
    response.status_code = 429
    response.headers["Retry-After"] = retry_after
    return RetriableAPIError("429", response)


# ---------------------------------------------------------------- incremental


def test_incremental_over_two_runs_with_state(fresh_sandbox):
    sandbox = fresh_sandbox  # it advances the API's data
    config = preset_config(sandbox, "operations")
    first = sync(config)
    all_ids = sandbox.ids("operations", "registrations_incremental")
    assert sorted(first.ids("registrations_incremental")) == sorted(all_ids)
    state = first.states[-1]
    bookmark = state["bookmarks"]["registrations_incremental"]["replication_key_value"]
    assert bookmark == max(r["updated_at"] for r in sandbox.records("operations", "registrations_incremental"))
    assert state["bookmarks"]["registrations_incremental"]["replication_key"] == "updated_at"

    changed = sandbox.advance("operations")
    sandbox.clear_requests()
    second = sync(config, state=state)
    expected = changed["registrations"]["new"] + changed["registrations"]["updated"]
    assert sorted(second.ids("registrations_incremental")) == sorted(expected)
    assert sorted(second.ids("sessions_incremental")) == sorted(changed["sessions"]["new"] + changed["sessions"]["updated"])
    sent = [
        r.query for r in sandbox.requests if r.path == "/operations/v1/transactional/registrations" and "updated_since" in r.query
    ]
    assert sent == [{"updated_since": [bookmark]}]
    # Full-table resources reading the same endpoint still get everything.
    assert sorted(second.ids("registrations_initial")) == sorted(sandbox.ids("operations", "registrations_initial"))
    new_bookmark = second.states[-1]["bookmarks"]["registrations_incremental"]["replication_key_value"]
    assert new_bookmark == max(r["updated_at"] for r in sandbox.records("operations", "registrations_incremental"))


def test_start_date_is_the_first_start_value(sandbox):
    records = sandbox.records("operations", "sessions_incremental")
    cutoff = sorted(r["updated_at"] for r in records)[-5]
    out = sync(preset_config(sandbox, "operations", start_date=cutoff))
    assert sorted(out.ids("sessions_incremental")) == sorted(r["id"] for r in records if r["updated_at"] > cutoff)
    assert any(r.query.get("updated_since") == [cutoff] for r in sandbox.requests)


# ---------------------------------------------------------------- discovery of custom resources


def test_discovery_infers_a_schema_from_more_than_the_first_page(sandbox):
    config = {
        "secrets": {"api_key": CANARY},
        "source": {
            "client": {
                "base_url": sandbox.base_url("learning"),
                "auth": {"type": "api_key", "name": "api_key", "api_key": "{{ secrets.api_key }}"},
            },
            "resources": [
                {
                    "name": "enrollments",
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "endpoint": {
                        "path": "/v1/enrollments",
                        "data_selector": "items",
                        "paginator": {"type": "page_number", "limit": 250},
                    },
                }
            ],
        },
    }
    tap = TapRestGeneric(config=config, parse_env_config=False)
    schema = tap.streams["enrollments"].schema
    assert [r.query.get("page") for r in sandbox.requests] == [["1"], ["2"], ["3"]]
    served = sandbox.records("learning", "enrollments")
    assert set(schema["properties"]) == set().union(*(r.keys() for r in served))
    assert schema["properties"]["id"]["type"] == "integer"
    assert schema["properties"]["created_at"] == {"type": ["string", "null"], "format": "date-time"}
    assert "enrollments" in schema["description"]


# ---------------------------------------------------------------- start values and cursors


def events_config(httpserver, incremental: dict, cursor_schema: dict | None = None, **settings) -> dict:
    properties = {"id": {"type": "integer"}}
    if cursor_schema is not None:
        properties["ts"] = cursor_schema
    return {
        **settings,
        "source": {
            "client": {"base_url": httpserver.url_for("/api")},
            "resources": [
                {
                    "name": "events",
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "schema": {"properties": properties},
                    "endpoint": {
                        "path": "events",
                        "paginator": "single_page",
                        "incremental": {"cursor_path": "ts", **incremental},
                    },
                }
            ],
        },
    }


def test_initial_value_wins_over_start_date(httpserver):
    httpserver.expect_request("/api/events").respond_with_json([{"id": 1, "ts": "2024-03-01"}, {"id": 2, "ts": "2024-01-05"}])
    config = events_config(
        httpserver, {"start_param": "since", "initial_value": "2024-02-01"}, {"type": "string"}, start_date="2023-01-01"
    )
    out = sync(config)
    ((request, _),) = httpserver.log
    assert request.args["since"] == "2024-02-01"
    assert out.ids("events") == [1]


def test_start_date_applies_when_there_is_no_initial_value(httpserver):
    httpserver.expect_request("/api/events").respond_with_json([{"id": 1, "ts": "2024-03-01"}])
    sync(events_config(httpserver, {"start_param": "since"}, {"type": "string"}, start_date="2024-02-01T00:00:00Z"))
    assert httpserver.log[0][0].args["since"] == "2024-02-01T00:00:00Z"


@pytest.mark.parametrize(
    ("incremental", "cursor_schema", "settings", "expected"),
    [
        (
            {"initial_value": "yesterday"},
            {"type": ["string", "null"], "format": "date-time"},
            {},
            "events: incremental.initial_value: 'yesterday' is not an ISO 8601 date or date-time like cursor 'ts' of stream 'events'",
        ),
        (
            {},
            {"type": "integer"},
            {"start_date": "2024-01-01"},
            "start_date: '2024-01-01' cannot be compared with cursor 'ts' of stream 'events' (integer)",
        ),
        (
            {"initial_value": "10"},
            {"type": ["integer", "null"]},
            {},
            "events: incremental.initial_value: '10' cannot be compared with cursor 'ts' of stream 'events' (integer)",
        ),
    ],
)
def test_a_start_value_that_cannot_compare_with_the_cursor_is_a_config_error(
    httpserver, tmp_path, incremental, cursor_schema, settings, expected
):
    out = run_cli(["--discover"], events_config(httpserver, incremental, cursor_schema, **settings), tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == f"tap-restgeneric: config error: {expected}"
    assert httpserver.log == []


def test_records_without_the_cursor_are_emitted_with_one_warning_and_do_not_move_the_bookmark(httpserver, tmp_path):
    httpserver.expect_request("/api/events").respond_with_json(
        [{"id": 1, "ts": 5}, {"id": 2}, {"id": 3, "ts": None}, {"id": 4, "ts": 7}, {"id": 5}]
    )
    out = run_cli([], events_config(httpserver, {}, {"type": ["integer", "null"]}), tmp_path)
    assert out.returncode == 0, out.stderr[-1000:]
    assert out.ids("events") == [1, 2, 3, 4, 5]
    assert out.states[-1]["bookmarks"]["events"]["replication_key_value"] == 7
    warnings = [line for line in out.stderr.splitlines() if "without its cursor field" in line]
    assert len(warnings) == 1
    assert warnings[0].endswith(
        "stream 'events': a record without its cursor field 'ts' (key {'id': 2}) was emitted; records without it do not move the bookmark"
    )


def test_a_cursor_path_missing_from_the_schema_is_a_config_error(httpserver, tmp_path):
    config = events_config(httpserver, {}, {"type": "string"})
    config["source"]["resources"][0]["endpoint"]["incremental"]["cursor_path"] = "updatedAt"
    out = run_cli(["--discover"], config, tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        "tap-restgeneric: config error: events: incremental.cursor_path: 'updatedAt' is not a property of the stream's schema "
        "(its properties: id, ts)"
    )


def test_a_cursor_path_typo_without_a_schema_is_a_warning_naming_the_closest_field(httpserver, tmp_path):
    """``updatedAt`` for ``updated_at``: the sync completes, one warning names the field the records have,
    and the closing line says the bookmark did not move; no STATE claims a bookmark."""
    records = [{"id": i, "title": f"t{i}", "updated_at": f"2024-01-0{i}"} for i in (1, 2, 3)]
    httpserver.expect_request("/api/events").respond_with_json(records)
    config = events_config(httpserver, {})
    del config["source"]["resources"][0]["schema"]  # inferred from the API
    config["source"]["resources"][0]["endpoint"]["incremental"]["cursor_path"] = "updatedAt"
    out = run_cli([], config, tmp_path)
    assert out.returncode == 0 and out.ids("events") == [1, 2, 3]
    warnings = [line.split("| ")[-1] for line in out.stderr.splitlines() if "| WARNING " in line]
    assert warnings == [
        (
            "stream 'events': incremental.cursor_path 'updatedAt' is in none of the 3 records of the first page (did you "
            "mean 'updated_at'?); records without it do not move the bookmark"
        )
    ]
    assert re.search(
        r"stream 'events': 3 records, 1 pages, \d+\.\d s; paging stopped: single page; the bookmark did not move: "
        r"no record had 'updatedAt'$",
        out.stderr,
        re.MULTILINE,
    )
    assert "replication_key_value" not in json.dumps(out.states[-1])
    doctor = run_cli(["--doctor", "--format", "json"], config, tmp_path)
    assert doctor.returncode == 1
    assert json.loads(doctor.stdout)["streams"][0]["problems"] == [
        "incremental cursor 'updatedAt' is missing in 3 of 3 records (did you mean 'updated_at'?)"
    ]


def test_a_cursor_path_close_to_no_field_lists_the_fields(httpserver, tmp_path):
    httpserver.expect_request("/api/events").respond_with_json([{"id": 1, "title": "a"}, {"id": 2, "name": "b"}])
    config = events_config(httpserver, {})
    del config["source"]["resources"][0]["schema"]
    config["source"]["resources"][0]["endpoint"]["incremental"]["cursor_path"] = "modified"
    out = run_cli([], config, tmp_path)
    assert out.returncode == 0
    assert (
        "stream 'events': incremental.cursor_path 'modified' is in none of the 2 records of the first page (the records' "
        "fields: id, name, title); records without it do not move the bookmark"
    ) in out.stderr


def test_a_cursor_seen_on_a_later_page_moves_the_bookmark_and_the_closing_line_says_nothing(httpserver, tmp_path):
    """The first page's records lack the cursor (one warning), a later page's have it: the bookmark moves."""
    pages = {"1": [{"id": 1}, {"id": 2}], "2": [{"id": 3, "ts": 9}], "3": []}
    httpserver.expect_request("/api/events").respond_with_handler(
        lambda request: Response(json.dumps(pages[request.args.get("page", "1")]), content_type="application/json")
    )
    config = events_config(httpserver, {}, {"type": ["integer", "null"]}, max_concurrency=1)
    config["source"]["resources"][0]["endpoint"]["paginator"] = {"type": "page_number", "total_path": None}
    out = run_cli([], config, tmp_path)
    assert out.returncode == 0 and out.ids("events") == [1, 2, 3]
    assert len([line for line in out.stderr.splitlines() if "| WARNING " in line]) == 1
    assert out.states[-1]["bookmarks"]["events"]["replication_key_value"] == 9
    closing = next(line for line in out.stderr.splitlines() if "stream 'events': 3 records" in line)
    assert closing.endswith("paging stopped: empty page")
