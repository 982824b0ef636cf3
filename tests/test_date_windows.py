"""Date windows and list partitions against the sandbox's ``reports`` API (31-day cap, three accounts,
records unsorted inside a range): the README's example, resuming window by window, state per partition."""

from __future__ import annotations

import copy
import datetime
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tap_restgeneric.sandbox.apis.reports import ACCOUNTS, activities
from tap_restgeneric.streams import slices
from tests.support import CANARY, assert_no_canary, run_cli, sync, sync_until_error, wait_for
from tests.time_zones import machine_time_zone  # noqa: F401 - the fixture, used by usefixtures

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "reports.yaml"
NOW = "2024-06-15T12:00:00Z"
ENV = {"TAP_RESTGENERIC_TEST_NOW": NOW}
ACTIVITY = "/reports/v1/accounts/{}/activity"


SCHEMA = {
    "properties": {
        "id": {"type": "string"},
        "account": {"type": "string"},
        "kind": {"type": "string"},
        "amount": {"type": "integer"},
        "updated_at": {"type": "string", "format": "date-time"},
    }
}


def example_source(sandbox, *, schema: bool = True) -> dict:
    """The README's example (with a schema, unless ``schema`` is False: then discovery samples the first slice)."""
    source = yaml.safe_load(EXAMPLE.read_text())
    source["client"]["base_url"] = sandbox.base_url("reports")
    if schema:
        source["resources"][0]["schema"] = SCHEMA
    return source


def config(sandbox, source: dict | None = None, **extra) -> dict:
    return {
        "source": source or example_source(sandbox),
        "secrets": {"reports_token": CANARY},
        "accounts": list(ACCOUNTS),
        **extra,
    }


def served(account: str, since: str = "2024-01-01", until: str = NOW) -> list[str]:
    """The ids of an account's activity whose day is in [since, until's day], as the API keeps them (the
    last window ends at now, sent as its day: the API answers the whole day)."""
    return [a["id"] for a in activities(account) if since <= a["updated_at"][:10] <= until[:10]]


def ranges(sandbox, account: str) -> list[tuple[str, str]]:
    """The (start_date, end_date) of each first-page request the server saw for ``account``, in order."""
    seen = [r.query for r in sandbox.requests if r.path == ACTIVITY.format(account)]
    return [(q["start_date"][0], q["end_date"][0]) for q in seen if q.get("page", ["1"])[0] == "1"]


MONTHLY = [
    ("2024-01-01", "2024-01-31"),
    ("2024-02-01", "2024-03-02"),
    ("2024-03-03", "2024-04-02"),
    ("2024-04-03", "2024-05-03"),
    ("2024-05-04", "2024-06-03"),
    ("2024-06-04", "2024-06-15"),
]


def test_the_readme_example_reads_every_account_in_31_day_windows_with_a_state_after_each(sandbox, tmp_path):
    readme = (ROOT / "README.md").read_text()
    assert EXAMPLE.read_text().split("\n", 2)[2] in readme  # the README shows this config (after its comment)
    (tmp_path / "c.json").write_text(json.dumps(config(sandbox, example_source(sandbox, schema=False), max_concurrency=1)))
    out = run_cli(["--config", str(tmp_path / "c.json")], env=ENV)
    assert out.returncode == 0, out.stderr
    assert sorted(out.ids("activity")) == sorted(i for account in ACCOUNTS for i in served(account))
    # Each within 31 days, both ends inclusive, none twice (the resource declares no schema: discovery
    # samples the first slice first).
    assert ranges(sandbox, "acme") == [MONTHLY[0], *MONTHLY]
    for account in ACCOUNTS[1:]:
        assert ranges(sandbox, account) == MONTHLY
    assert not [r for r in sandbox.requests if r.path.startswith("/reports") and "start_date" not in r.query]
    # One STATE per finished window (18), each moving one account's bookmark: the newest record's day.
    moved = []
    for before, after in zip([{}, *out.states], out.states, strict=False):
        table = after["bookmarks"]["activity"]["partition_bookmarks"]
        old = before.get("bookmarks", {}).get("activity", {}).get("partition_bookmarks", {})
        moved += [(key, table[key]["cursor"]) for key in table if old.get(key) != table[key]]
    assert len(moved) == len(ACCOUNTS) * len(MONTHLY)
    assert out.states[-1]["bookmarks"]["activity"] == {
        "partition_bookmarks": {json.dumps({"account": account}): {"cursor": "2024-06-15"} for account in ACCOUNTS}
    }


def test_the_next_run_starts_at_each_partitions_bookmark_inclusively_and_a_new_partition_at_the_start(sandbox, monkeypatch):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", "2024-07-20T00:00:00Z")
    state = {
        "bookmarks": {
            "activity": {
                "partition_bookmarks": {
                    json.dumps({"account": "acme"}): {"cursor": "2024-06-15"},
                    json.dumps({"account": "globex"}): {"cursor": "2024-07-01"},
                    json.dumps({"account": "umbrella"}): {"cursor": "2023-05-05"},  # not in this run's config
                }
            }
        }
    }
    out = sync(config(sandbox, max_concurrency=1), state=copy.deepcopy(state))
    assert ranges(sandbox, "acme") == [("2024-06-15", "2024-07-15"), ("2024-07-16", "2024-07-20")]
    assert ranges(sandbox, "globex") == [("2024-07-01", "2024-07-20")]
    assert ranges(sandbox, "initech")[0] == ("2024-01-01", "2024-01-31")  # new: from the configured start
    until = "2024-07-20T00:00:00Z"
    expected = served("acme", "2024-06-15", until) + served("globex", "2024-07-01", until) + served("initech", until=until)
    assert sorted(out.ids("activity")) == sorted(expected)  # the bookmark's day is read again (as the CDK does)
    table = out.states[-1]["bookmarks"]["activity"]["partition_bookmarks"]
    assert table[json.dumps({"account": "umbrella"})] == {"cursor": "2023-05-05"}  # kept
    assert table[json.dumps({"account": "acme"})] == {"cursor": "2024-07-20"}  # (the API answers now's whole day)


def start(config_: dict, tmp_path, state: dict | None = None) -> subprocess.Popen:
    (tmp_path / "config.json").write_text(json.dumps(config_))
    argv = [sys.executable, "-c", "from tap_restgeneric.cli import main; main()", "--config", str(tmp_path / "config.json")]
    if state is not None:
        (tmp_path / "state.json").write_text(json.dumps(state))
        argv += ["--state", str(tmp_path / "state.json")]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **ENV})


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_sync_killed_mid_window_resumes_from_the_last_finished_window_and_loses_nothing(sandbox, tmp_path, concurrency):
    # acme's second window hangs on its second page: the tap has read the first window (3 pages,
    # unsorted records) and part of the second when it is killed.
    sandbox.inject_fault(ACTIVITY.format("acme"), "slow", count=1, delay=60, query={"start_date": "2024-02-01", "page": "2"})
    process = start(config(sandbox, max_concurrency=concurrency), tmp_path)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:  # up to the first window's STATE (a STATE is flushed at once)
        lines.append(json.loads(line))
        if lines[-1]["type"] == "STATE":
            break
    second = {"start_date": ["2024-02-01"], "end_date": ["2024-03-02"], "page": ["2"]}
    wait_for(lambda: any(r.query == second for r in sandbox.requests), "the tap waits on the slow page")
    process.send_signal(signal.SIGKILL)
    rest, stderr = process.communicate(timeout=30)
    sandbox.clear_faults()
    assert process.returncode == -signal.SIGKILL
    assert_no_canary(rest, stderr)
    first_lines = lines + [json.loads(line) for line in rest.splitlines()]  # (a killed tap may cut its last line)
    state = [m["value"] for m in first_lines if m["type"] == "STATE"][-1]
    # The first window finished (its records unsorted): the bookmark is its newest record's day.
    assert state["bookmarks"]["activity"]["partition_bookmarks"] == {json.dumps({"account": "acme"}): {"cursor": "2024-01-31"}}
    first_ids = {m["record"]["id"] for m in first_lines if m["type"] == "RECORD"}

    sandbox.clear_requests()
    out = run_cli(["--config", str(tmp_path / "config.json"), "--state", str(_write(tmp_path, state))], env=ENV)
    assert out.returncode == 0, out.stderr
    # Nothing lost: every record of the API is in the two runs' output.
    assert first_ids | set(out.ids("activity")) >= {i for account in ACCOUNTS for i in served(account)}
    # The finished window is not requested again, beyond its last day (the bookmark, inclusive).
    assert ranges(sandbox, "acme")[0] == ("2024-01-31", "2024-03-01")
    assert all(start_date >= "2024-01-31" for start_date, _ in ranges(sandbox, "acme"))


def _write(tmp_path, state: dict) -> Path:
    path = tmp_path / "resume.json"
    path.write_text(json.dumps(state))
    return path


def test_concurrent_windows_and_partitions_write_what_a_sequential_sync_writes(sandbox, monkeypatch):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", NOW)
    sequential = sync(config(sandbox, max_concurrency=1))
    requests = len(sandbox.requests)
    sandbox.clear_requests()
    concurrent = sync(config(sandbox, max_concurrency=8))
    strip = lambda messages: [  # noqa: E731
        {k: v for k, v in m.items() if k != "time_extracted"} for m in messages if m["type"] in ("RECORD", "STATE")
    ]
    assert strip(concurrent.messages) == strip(sequential.messages)
    assert len(sandbox.requests) == requests  # no request beyond those a sequential sync sends


def windowed(sandbox, incremental: dict, *, params: dict | None = None, partitions: list | None = None, **endpoint) -> dict:
    source = example_source(sandbox)
    resource = source["resources"][0]
    resource["endpoint"]["incremental"] = {"cursor_path": "updated_at", **incremental}
    resource["endpoint"]["params"] = params or {}
    resource["endpoint"].update(endpoint)
    if partitions is not None:
        resource["partitions"] = partitions
    return config(sandbox, source, max_concurrency=1)


def test_client_side_filtering_keeps_the_records_in_the_syncs_range_of_an_api_that_ignores_it(sandbox, monkeypatch):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", NOW)
    incremental = {
        "initial_value": "2024-03-10T00:00:00Z",
        "is_client_side_incremental": True,
        "cursor_datetime_formats": ["%Y-%m-%dT%H:%M:%SZ"],
    }
    out = sync(windowed(sandbox, incremental, params={"start_date": "2024-03-01", "end_date": "2024-03-31"}))
    march = {a["id"]: a["updated_at"] for account in ACCOUNTS for a in activities(account) if a["updated_at"][:7] == "2024-03"}
    assert sorted(out.ids("activity")) == sorted(i for i, when in march.items() if when >= "2024-03-10T00:00:00Z")
    table = out.states[-1]["bookmarks"]["activity"]["partition_bookmarks"]
    assert table[json.dumps({"account": "acme"})]["cursor"] == max(
        a["updated_at"] for a in activities("acme") if a["updated_at"][:7] == "2024-03"
    )


def test_a_data_feed_stops_paging_at_the_first_page_older_than_the_bookmark(sandbox, monkeypatch):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", NOW)
    incremental = {"initial_value": "2024-03-25T00:00:00Z", "is_data_feed": True}
    params = {"start_date": "2024-03-01", "end_date": "2024-03-31", "order": "desc"}
    out = sync(windowed(sandbox, incremental, params=params, partitions=[{"name": "account", "values": ["acme"]}]))
    newest_first = sorted(
        (a for a in activities("acme") if a["updated_at"][:7] == "2024-03"), key=lambda a: a["updated_at"], reverse=True
    )
    newer = [a for a in newest_first if a["updated_at"] >= "2024-03-25T00:00:00Z"]
    pages = len(newer) // 10 + 1  # up to the page holding the first older record
    assert [r.query["page"][0] for r in sandbox.requests] == [str(p) for p in range(1, pages + 1)]
    assert out.ids("activity") == [a["id"] for a in newest_first[: pages * 10]]


def test_partitions_are_the_cartesian_product_sent_where_each_list_says(sandbox, monkeypatch):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", "2024-01-20T00:00:00Z")
    partitions = [
        {"name": "account", "values": "{{ config.accounts }}"},
        {"name": "region", "values": ["eu", "us"], "inject_into": "header", "field_name": "X-Region"},
        {"name": "kind", "values": ["charge", "refund"], "inject_into": "request_parameter", "field_name": "kind"},
    ]
    out = sync(
        windowed(
            sandbox,
            {
                "initial_value": "2024-01-15",
                "datetime_format": "%Y-%m-%d",
                "cursor_datetime_formats": ["%Y-%m-%dT%H:%M:%SZ"],
                "start_time_option": {"inject_into": "request_parameter", "field_name": "start_date"},
                "end_time_option": {"inject_into": "header", "field_name": "X-End", "datetime_format": "%d/%m/%Y"},
            },
            params={"end_date": "{{ incremental.end_value }}"},
            partitions=partitions,
        )
    )
    seen = [
        (
            r.path.split("/")[4],
            r.headers["x-region"],
            r.query["kind"][0],
            r.query["start_date"][0],
            r.query["end_date"][0],
            r.headers["x-end"],
        )
        for r in sandbox.requests
        if r.query.get("page") == ["1"]
    ]
    assert seen == [
        (account, region, kind, "2024-01-15", "2024-01-20", "20/01/2024")
        for account in ACCOUNTS
        for region in ("eu", "us")
        for kind in ("charge", "refund")
    ]
    assert len(out.states[-1]["bookmarks"]["activity"]["partition_bookmarks"]) == 12
    key = json.dumps({"account": "acme", "kind": "charge", "region": "eu"}, sort_keys=True)
    assert key in out.states[-1]["bookmarks"]["activity"]["partition_bookmarks"]


def test_past_the_partition_cap_a_partition_keeps_no_bookmark_and_is_read_from_the_start(sandbox, monkeypatch, tmp_path):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", "2024-01-20T00:00:00Z")
    (tmp_path / "c.json").write_text(json.dumps({**config(sandbox, max_concurrency=1), "max_partition_bookmarks": 2}))
    first = run_cli(["--config", str(tmp_path / "c.json")])
    table = first.states[-1]["bookmarks"]["activity"]["partition_bookmarks"]
    assert sorted(table) == [json.dumps({"account": "acme"}), json.dumps({"account": "globex"})]
    assert (
        "stream 'activity': more than 2 partitions (max_partition_bookmarks): further partitions keep no bookmark "
        "and are read from the configured start each sync"
    ) in first.stderr
    sandbox.clear_requests()
    second = sync({**config(sandbox, max_concurrency=1), "max_partition_bookmarks": 2}, state=first.states[-1])
    assert ranges(sandbox, "acme") == [("2024-01-20", "2024-01-20")]
    assert ranges(sandbox, "initech") == [("2024-01-01", "2024-01-20")]  # read again from the start: nothing skipped
    assert set(second.ids("activity")) >= set(served("initech", until="2024-01-20T00:00:00Z"))


def test_bookmarks_are_compared_as_dates_not_as_text(sandbox, monkeypatch):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", "2024-02-10T00:00:00Z")
    incremental = {
        "initial_value": "01/01/2024",
        "datetime_format": "%d/%m/%Y",
        "step": "P31D",
        "cursor_granularity": "P1D",
        "cursor_datetime_formats": ["%Y-%m-%dT%H:%M:%SZ"],
    }
    params = {
        "start_date": "{{ incremental.start_value[6:] }}-{{ incremental.start_value[3:5] }}-{{ incremental.start_value[:2] }}",
        "end_date": "{{ incremental.end_value[6:] }}-{{ incremental.end_value[3:5] }}-{{ incremental.end_value[:2] }}",
    }
    state = {"bookmarks": {"activity": {"partition_bookmarks": {json.dumps({"account": "acme"}): {"cursor": "31/01/2024"}}}}}
    out = sync(windowed(sandbox, incremental, params=params, partitions=[{"name": "account", "values": ["acme"]}]), state=state)
    assert ranges(sandbox, "acme") == [("2024-01-31", "2024-02-10")]
    # "09/02/2024" sorts before "31/01/2024" as text; as dates it is later, and it is the bookmark.
    assert out.states[-1]["bookmarks"]["activity"]["partition_bookmarks"][json.dumps({"account": "acme"})] == {
        "cursor": "09/02/2024"
    }


def test_a_cursor_no_format_reads_stops_the_stream_naming_the_value_and_the_formats(sandbox, monkeypatch):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", "2024-01-20T00:00:00Z")
    incremental = {
        "initial_value": "2024-01-15",
        "datetime_format": "%Y-%m-%d",
        "cursor_datetime_formats": ["%s"],
        "start_time_option": {"inject_into": "request_parameter", "field_name": "start_date"},
        "end_time_option": {"inject_into": "request_parameter", "field_name": "end_date"},
    }
    out, error = sync_until_error(windowed(sandbox, incremental, partitions=[{"name": "account", "values": ["acme"]}]))
    assert error is not None
    assert "stream 'activity': cursor 'updated_at' value '2024-01-" in str(error)
    assert "matches none of the formats tried: '%s', '%Y-%m-%d'" in str(error)
    assert not out.states or "partition_bookmarks" not in json.dumps(out.states[-1])


def test_a_child_reads_its_windows_per_parent(sandbox, monkeypatch):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", "2024-01-20T00:00:00Z")
    source = example_source(sandbox)
    child = source["resources"][0]
    del child["partitions"]
    child["endpoint"]["path"] = "/v1/accounts/{resources.accounts.id}/activity"
    child["endpoint"]["incremental"]["step"] = "P7D"
    child["endpoint"]["incremental"]["initial_value"] = "2024-01-10"
    source["resources"].insert(
        0,
        {
            "name": "accounts",
            "primary_key": "id",
            "schema": {"properties": {"id": {"type": "string"}}},
            "endpoint": {"path": "/v1/accounts", "data_selector": "data", "paginator": "single_page"},
        },
    )
    out = sync(config(sandbox, source, max_concurrency=1))
    for account in ACCOUNTS:
        assert ranges(sandbox, account) == [("2024-01-10", "2024-01-16"), ("2024-01-17", "2024-01-20")]
    assert sorted(out.ids("activity")) == sorted(i for a in ACCOUNTS for i in served(a, "2024-01-10", "2024-01-20T00:00:00Z"))
    partitions = out.states[-1]["bookmarks"]["activity"]["partitions"]
    assert [(p["context"], p["partition_bookmarks"]) for p in partitions] == [
        ({"accounts.id": account}, {"{}": {"cursor": "2024-01-20"}}) for account in ACCOUNTS
    ]


def test_a_state_whose_partition_bookmarks_are_not_objects_is_refused_naming_the_place(sandbox, tmp_path):
    (tmp_path / "c.json").write_text(json.dumps(config(sandbox)))
    (tmp_path / "s.json").write_text(json.dumps({"bookmarks": {"activity": {"partition_bookmarks": {"acme": "2024-01-01"}}}}))
    out = run_cli(["--config", str(tmp_path / "c.json"), "--state", str(tmp_path / "s.json")], env=ENV)
    assert out.returncode != 0
    assert (
        "bookmarks.activity.partition_bookmarks.acme: expected {\"cursor\": <a string>}, got a string ('2024-01-01')"
        in out.stderr
    )
    assert not sandbox.requests


def test_windows_need_a_start(sandbox):
    source = example_source(sandbox)
    del source["resources"][0]["endpoint"]["incremental"]["initial_value"]
    _, error = sync_until_error(config(sandbox, source))
    assert error is not None and "date windows need a start: set incremental.initial_value or the start_date setting" in str(
        error
    )


def test_window_keys_are_checked_up_front_naming_the_key(sandbox, tmp_path):
    source = example_source(sandbox)
    incremental = source["resources"][0]["endpoint"]["incremental"]
    incremental["step"] = "monthly"
    del incremental["cursor_granularity"]
    (tmp_path / "c.json").write_text(json.dumps(config(sandbox, source)))
    out = run_cli(["--config", str(tmp_path / "c.json")], env=ENV)
    assert out.returncode != 0
    assert "resources[0].endpoint.incremental.step: 'monthly' is not an ISO 8601 duration (e.g. P1D, PT6H, P1M)" in out.stderr
    assert "resources[0].endpoint.incremental.cursor_granularity: required with step" in out.stderr
    assert not sandbox.requests


def test_the_doctor_lists_each_partitions_windows_and_probes_only_the_first(sandbox, tmp_path):
    (tmp_path / "c.json").write_text(json.dumps(config(sandbox)))
    out = run_cli(["--config", str(tmp_path / "c.json"), "--doctor"], env=ENV)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[1:] == [
        *(
            f"    partition account={account}: 6 windows, first 2024-01-01 .. 2024-01-31, last 2024-06-04 .. 2024-06-15"
            for account in ACCOUNTS
        ),
        "    auth: bearer",  # the doctor also says which auth the stream uses
    ]
    # Only the first window of the first account is probed: its first page and the next one.
    assert [(r.path, r.query) for r in sandbox.requests] == [
        (ACTIVITY.format("acme"), {"start_date": ["2024-01-01"], "end_date": ["2024-01-31"], "page": [str(page)]})
        for page in (1, 2)
    ]


def test_a_sorted_stream_also_checkpoints_inside_a_window(sandbox, monkeypatch):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", "2024-01-31T23:00:00Z")
    monkeypatch.setattr(slices, "SORTED_CHECKPOINT_EVERY", 5)
    incremental = {**example_source(sandbox)["resources"][0]["endpoint"]["incremental"], "row_order": "asc"}
    out = sync(windowed(sandbox, incremental, params={"order": "asc"}, partitions=[{"name": "account", "values": ["acme"]}]))
    records = out.records("activity")
    assert [r["updated_at"] for r in records] == sorted(r["updated_at"] for r in records)
    key = json.dumps({"account": "acme"})
    seen, checkpoints = 0, []
    for message in out.messages:  # each STATE's bookmark against the records written before it
        if message["type"] == "RECORD":
            seen += 1
        elif message["type"] == "STATE":
            table = message["value"].get("bookmarks", {}).get("activity", {}).get("partition_bookmarks", {})
            checkpoints += [(seen, table[key]["cursor"])] if key in table else []
    days = [r["updated_at"][:10] for r in records]
    moved = [(count, day) for count, day in checkpoints if count % 5 == 0 and count < len(records)]
    assert moved and all(day == days[count - 1] for count, day in moved)  # the newest record written, inside the window
    assert checkpoints[-1] == (len(records), "2024-01-31")


def test_the_lookback_moves_back_a_start_taken_from_the_bookmark_only(sandbox, monkeypatch):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", "2024-03-20T00:00:00Z")
    incremental = {**example_source(sandbox)["resources"][0]["endpoint"]["incremental"], "lookback_window": "P5D"}
    partitions = [{"name": "account", "values": ["acme", "globex"]}]
    state = {"bookmarks": {"activity": {"partition_bookmarks": {json.dumps({"account": "acme"}): {"cursor": "2024-03-10"}}}}}
    sync(windowed(sandbox, incremental, partitions=partitions), state=state)
    assert ranges(sandbox, "acme") == [("2024-03-05", "2024-03-20")]
    assert ranges(sandbox, "globex")[0] == ("2024-01-01", "2024-01-31")  # a configured start is not moved back


def test_window_bounds_and_partition_values_go_into_a_json_body(sandbox, monkeypatch):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", "2024-01-20T00:00:00Z")
    incremental = {
        "initial_value": "2024-01-15",
        "datetime_format": "%Y-%m-%d",
        "cursor_datetime_formats": ["%Y-%m-%dT%H:%M:%SZ"],
        "start_time_option": {"inject_into": "body_json", "field_name": "from", "datetime_format": "%s"},
        "end_time_option": {"inject_into": "body_json", "field_name": "to"},
    }
    partitions = [
        {"name": "account", "values": ["acme"]},
        {"name": "team", "values": ["a", "b"], "inject_into": "body_json", "field_name": "team"},
    ]
    params = {"start_date": "{{ incremental.start_value }}", "end_date": "{{ incremental.end_value }}"}
    sync(windowed(sandbox, incremental, params=params, partitions=partitions, method="POST", json={"fixed": 1}))
    assert [(r.method, json.loads(r.body)) for r in sandbox.requests] == [
        ("POST", {"fixed": 1, "team": team, "from": "1705276800", "to": "2024-01-20"}) for team in ("a", "b")
    ]


def test_meltanos_state_merge_keeps_every_partitions_bookmark(sandbox, monkeypatch):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", "2024-01-20T00:00:00Z")
    meltano_python = ROOT / ".tools" / "bin" / "python"
    if not meltano_python.exists():
        pytest.fail("Meltano is not installed: run `bash scripts/setup.sh` (it installs Meltano into .tools/)")
    first = sync({**config(sandbox, max_concurrency=1), "accounts": ["acme"]}).states[-1]
    second = sync({**config(sandbox, max_concurrency=1), "accounts": ["globex"]}).states[-1]
    merge = "import json, sys; from meltano.core.utils import merge; a, b = json.load(sys.stdin); print(json.dumps(merge(a, b)))"
    merged = json.loads(
        subprocess.run(
            [str(meltano_python), "-c", merge], input=json.dumps([second, first]), capture_output=True, text=True, check=True
        ).stdout
    )
    sandbox.clear_requests()
    sync(config(sandbox, max_concurrency=1), state=merged)
    assert ranges(sandbox, "acme") == ranges(sandbox, "globex") == [("2024-01-20", "2024-01-20")]
    assert ranges(sandbox, "initech") == [("2024-01-01", "2024-01-20")]


def test_the_children_of_an_incremental_windowed_parent_are_read_for_its_new_records_only(sandbox, monkeypatch):
    # Airbyte's incremental_dependency: the parent is read incrementally (its state kept), and its children
    # only for the parent records of this sync.
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", "2024-01-10T00:00:00Z")
    source = example_source(sandbox)
    source["resources"][0]["partitions"][0]["values"] = ["acme"]
    source["resources"].append(
        {
            "name": "lines",
            "primary_key": "id",
            "schema": {"properties": {"id": {"type": "string"}, "activity_id": {"type": "string"}}},
            "endpoint": {
                "path": "/v1/activity/{resources.activity.id}/lines",
                "data_selector": "data",
                "paginator": "single_page",
            },
        }
    )
    first = sync(config(sandbox, source, max_concurrency=1))
    assert sorted({r["activity_id"] for r in first.records("lines")}) == sorted(first.ids("activity"))
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", "2024-01-15T00:00:00Z")
    sandbox.clear_requests()
    second = sync(config(sandbox, source, max_concurrency=1), state=first.states[-1])
    assert ranges(sandbox, "acme") == [("2024-01-10", "2024-01-15")]
    new = served("acme", "2024-01-10", "2024-01-15")
    assert sorted(second.ids("activity")) == sorted(new)
    assert sorted(r.path for r in sandbox.requests if r.path.endswith("/lines")) == sorted(
        f"/reports/v1/activity/{i}/lines" for i in new
    )
    assert second.states[-1]["bookmarks"]["activity"]["partition_bookmarks"] == {
        json.dumps({"account": "acme"}): {"cursor": "2024-01-15"}
    }


def test_min_datetime_raises_the_configured_start_and_a_form_body_carries_the_bounds(sandbox, monkeypatch):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", "2024-01-20T00:00:00Z")
    incremental = {
        "initial_value": "2023-06-01",
        "min_datetime": "2024-01-12",
        "datetime_format": "%Y-%m-%d",
        "cursor_datetime_formats": ["%Y-%m-%dT%H:%M:%SZ"],
        "start_time_option": {"inject_into": "body_data", "field_name": "from"},
        "end_time_option": {"inject_into": "request_parameter", "field_name": "end_date"},
    }
    params = {"start_date": "{{ incremental.start_value }}"}
    partitions = [{"name": "account", "values": ["acme"]}]
    sync(windowed(sandbox, incremental, params=params, partitions=partitions, method="POST", data={"fixed": "1"}))
    assert [(r.query["start_date"], r.query["end_date"], r.body) for r in sandbox.requests] == [
        (["2024-01-12"], ["2024-01-20"], b"fixed=1&from=2024-01-12")
    ]


def test_a_template_reading_a_partition_the_resource_does_not_have_is_refused_up_front(sandbox, tmp_path):
    source = example_source(sandbox)
    source["resources"][0]["endpoint"]["path"] = "/v1/accounts/{partition.acount}/activity"
    (tmp_path / "c.json").write_text(json.dumps(config(sandbox, source)))
    out = run_cli(["--config", str(tmp_path / "c.json")], env=ENV)
    assert out.returncode != 0
    assert "resources[0].endpoint.path: reads partition 'acount', not one of the resource's partitions (account)" in out.stderr
    assert not sandbox.requests


@pytest.mark.usefixtures("machine_time_zone")
def test_what_is_sent_and_stored_does_not_depend_on_the_machines_time_zone(sandbox, monkeypatch):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", "2024-01-20T00:00:00Z")
    incremental = {
        "initial_value": "2024-01-18T00:00:00Z",
        "datetime_format": "%s",
        "cursor_datetime_formats": ["%Y-%m-%dT%H:%M:%S%z"],
        "step": "P1D",
        "cursor_granularity": "PT1S",
        "start_time_option": {"inject_into": "request_parameter", "field_name": "from", "datetime_format": "%Y-%m-%dT%H:%M:%S%z"},
        "end_time_option": {"inject_into": "request_parameter", "field_name": "to"},
    }
    params = {"start_date": "2024-01-18", "end_date": "2024-01-20"}
    out = sync(windowed(sandbox, incremental, params=params, partitions=[{"name": "account", "values": ["acme"]}]))
    assert [(r.query["from"], r.query["to"]) for r in sandbox.requests] == [
        (["2024-01-18T00:00:00+0000"], ["1705622399"]),
        (["2024-01-19T00:00:00+0000"], ["1705708800"]),
    ]
    newest = max(a["updated_at"] for a in activities("acme") if "2024-01-18" <= a["updated_at"][:10] <= "2024-01-20")
    stored = out.states[-1]["bookmarks"]["activity"]["partition_bookmarks"][json.dumps({"account": "acme"})]["cursor"]
    assert datetime.datetime.fromtimestamp(int(stored), tz=datetime.timezone.utc).isoformat() == newest.replace("Z", "+00:00")


def test_a_stream_said_to_be_sorted_whose_records_are_not_stops_before_the_first_out_of_order_record(sandbox, monkeypatch):
    monkeypatch.setenv("TAP_RESTGENERIC_TEST_NOW", "2024-01-31T23:00:00Z")
    incremental = {**example_source(sandbox)["resources"][0]["endpoint"]["incremental"], "row_order": "asc"}
    out, error = sync_until_error(windowed(sandbox, incremental, partitions=[{"name": "account", "values": ["acme"]}]))
    assert error is not None
    assert "stream 'activity': records are not in 'updated_at' order as row_order (or a sort parameter) says" in str(error)
    assert all("partition_bookmarks" not in json.dumps(state) for state in out.states)  # no bookmark claimed
