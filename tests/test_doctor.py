"""--doctor: every stream probed with at most two requests, one row each, problems with hints."""

from __future__ import annotations

import copy
import json

import pytest

from tap_restgeneric.sandbox.apis.tracker import Tracker
from tests.streams.test_parent_child import config_for, tracker_source
from tests.support import CANARY, catalog_selecting, run_cli


@pytest.fixture
def tracker(sandbox):
    sandbox.tracker = Tracker()
    yield sandbox.tracker
    sandbox.tracker = Tracker()


def doctor(config: dict, tmp_path, *extra: str):
    out = run_cli(["--doctor", "--format", "json", *extra], config, tmp_path)
    return out, json.loads(out.stdout)["streams"]


def test_a_sound_config_is_ok_with_at_most_two_requests_per_stream(sandbox, tracker, tmp_path):
    config = config_for(tracker_source(sandbox))
    sandbox.clear_requests()
    out, rows = doctor(config, tmp_path)
    assert out.returncode == 0, out.stdout
    by_stream = {row["stream"]: row for row in rows}
    assert [row["stream"] for row in rows] == ["issues", "comments", "reactions"]
    assert all(row["ok"] and row["status"] == 200 and row["problems"] == [] for row in rows)
    assert by_stream["issues"]["records"] == 5
    assert by_stream["issues"]["next_request"] == f"GET {sandbox.base_url('tracker')}/issues?per_page=5&page=2"
    assert by_stream["comments"]["stop_reason"] == "no Link rel=next header"  # issue 1 has one comment
    streams = [r.path.rsplit("/", 1)[-1] for r in sandbox.requests]  # issues, comments or reactions
    assert {name: streams.count(name) for name in streams} == {"issues": 2, "comments": 1, "reactions": 1}


def test_a_broken_config_gets_a_problem_and_a_hint_per_mistake(sandbox, tracker, tmp_path):
    source = copy.deepcopy(tracker_source(sandbox))
    issues, comments = source["resources"][0], source["resources"][1]
    issues["endpoint"]["data_selector"] = "data"
    comments["endpoint"]["incremental"]["cursor_path"] = "edited_at"
    comments["primary_key"] = "user"
    out, rows = doctor(config_for(source), tmp_path)
    assert out.returncode == 1
    by_stream = {row["stream"]: row for row in rows}
    assert by_stream["issues"]["problems"] == [
        (
            f"stream 'issues': data_selector 'data' matched nothing in the response (HTTP 200) from {sandbox.base_url('tracker')}/issues; "
            "hint: the body itself is the list of records (remove data_selector, or set it to $)"
        )
    ]
    assert by_stream["comments"]["problems"] == ["no record of 'issues' to probe it under"]


def test_key_and_cursor_problems_in_the_sample(sandbox, tracker, tmp_path):
    source = copy.deepcopy(tracker_source(sandbox))
    source["resources"][0]["primary_key"] = "state"
    source["resources"][1]["endpoint"]["incremental"]["cursor_path"] = "edited_at"
    source["resources"] = source["resources"][:2]
    out, rows = doctor(config_for(source), tmp_path)
    assert out.returncode == 1
    by_stream = {row["stream"]: row for row in rows}
    assert by_stream["issues"]["problems"] == ["primary key state is not unique in the sample (add a field to it)"]
    assert by_stream["comments"]["problems"] == [
        "incremental cursor 'edited_at' is missing in 1 of 1 records (did you mean 'updated_at'?)"
    ]


def test_refused_credentials_are_named_and_nothing_secret_is_printed(sandbox, tracker, tmp_path):
    config = config_for(tracker_source(sandbox))
    config["secrets"] = {"token": "not-" + CANARY}
    out, rows = doctor(config, tmp_path)
    assert out.returncode == 1
    assert rows[0]["status"] == 401
    assert rows[0]["problems"][0].endswith("; hint: the credentials were refused (secrets, client.auth)")
    assert CANARY not in out.stdout and "not-" + CANARY not in out.stdout


def test_the_catalog_limits_the_probe_and_text_is_the_default(sandbox, tracker, tmp_path):
    config = config_for(tracker_source(sandbox))
    out = run_cli(["--doctor", "--catalog", catalog_selecting(config, tmp_path, "issues")], config, tmp_path)
    assert out.returncode == 0
    assert out.stdout.splitlines()[0].split() == [
        "issues",
        "ok",
        "HTTP",
        "200",
        "records",
        "5",
        "next:",
        "GET",
        f"{sandbox.base_url('tracker')}/issues?per_page=5&page=2",
    ]
    assert out.stdout.strip().splitlines()[1:] == ["    auth: bearer"]  # one row, and which auth it sends


def test_a_grandchild_under_an_unselected_child_and_a_failing_step_get_rows(sandbox, tracker, tmp_path):
    source = copy.deepcopy(tracker_source(sandbox))
    source["resources"][0]["processing_steps"] = [{"map": {"x": "{{ record.nothing.deeper }}"}}]
    config = config_for(source)
    catalog = catalog_selecting(config_for(tracker_source(sandbox)), tmp_path, "reactions")
    out, rows = doctor(config_for(tracker_source(sandbox)), tmp_path, "--catalog", catalog)
    assert [row["stream"] for row in rows] == ["reactions"] and rows[0]["ok"], rows
    out, rows = doctor(config, tmp_path)
    assert out.returncode == 1
    assert rows[0]["stream"] == "issues"
    assert rows[0]["problems"][0].startswith("resources[0].processing_steps[0].map.x: template error: ")
