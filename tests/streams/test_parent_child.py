"""Parent/child resources as dlt writes them, against the sandbox's tracker API (issues -> comments -> reactions)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from tap_restgeneric.errors import SourceConfigError
from tap_restgeneric.sandbox.apis.tracker import ISSUE_COUNT, Tracker, comment, reactions
from tap_restgeneric.source import load_source
from tests.support import CANARY, catalog_selecting, last_line, run_cli, sync

INITIAL = "2024-01-01T00:00:00Z"


def tracker_source(sandbox) -> dict:
    """The README's GitHub-like example, pointed at the sandbox."""
    return {
        "client": {
            "base_url": sandbox.base_url("tracker"),
            "auth": {"type": "bearer", "token": "{{ secrets.token }}"},
            "paginator": {"type": "header_link"},
        },
        "resources": [
            {"name": "issues", "endpoint": {"path": "issues", "params": {"per_page": 5}}, "primary_key": "id"},
            {
                "name": "comments",
                "endpoint": {
                    "path": "issues/{resources.issues.number}/comments",
                    "incremental": {"start_param": "since", "cursor_path": "updated_at", "initial_value": INITIAL},
                },
                "include_from_parent": ["number"],
                "primary_key": "id",
                "write_disposition": "merge",
            },
            {
                "name": "reactions",
                "endpoint": {
                    "path": "comments/{comment_id}/reactions",
                    "params": {"comment_id": {"type": "resolve", "resource": "comments", "field": "id"}},
                    "paginator": {"type": "single_page"},
                },
                "include_from_parent": ["id"],
                "primary_key": "id",
            },
        ],
    }


def config_for(source: dict, **settings) -> dict:
    return {"source": source, "secrets": {"token": CANARY}, **settings}


@pytest.fixture
def tracker(sandbox):
    """The sandbox with fresh tracker data (tests add comments and delete issues)."""
    sandbox.tracker = Tracker()
    yield sandbox.tracker
    sandbox.tracker = Tracker()


def all_comments() -> dict[int, list[int]]:
    return {n: [comment(n, j)["id"] for j in range(1, n % 5 + 1)] for n in range(1, ISSUE_COUNT + 1)}


def paths(sandbox) -> list[str]:
    return [r.path for r in sandbox.requests]


def test_a_three_level_tree_syncs_every_child_under_its_parent(sandbox, tracker):
    out = sync(config_for(tracker_source(sandbox)))
    assert out.ids("issues") == list(range(1001, 1001 + ISSUE_COUNT))
    by_issue: dict[int, list[int]] = {}
    for record in out.records("comments"):
        by_issue.setdefault(record["_issues_number"], []).append(record["id"])
    assert by_issue == {n: ids for n, ids in all_comments().items() if ids}
    expected_reactions = {cid: [r["id"] for r in reactions(cid)] for ids in all_comments().values() for cid in ids}
    by_comment: dict[int, list[int]] = {}
    for record in out.records("reactions"):
        assert set(record) == {"id", "content", "_comments_id"}
        by_comment.setdefault(record["_comments_id"], []).append(record["id"])
    assert by_comment == {cid: ids for cid, ids in expected_reactions.items() if ids}
    # One request sequence per parent: comments page 2 only where an issue has more than 2 comments.
    comment_pages = {(r.path, tuple(r.query.get("page", ["1"]))) for r in sandbox.requests if r.path.endswith("/comments")}
    assert comment_pages == {
        (f"/tracker/issues/{n}/comments", (str(page),))
        for n, ids in all_comments().items()
        for page in range(1, max(1, -(-len(ids) // 2)) + 1)
    }
    assert {p for p in paths(sandbox) if p.endswith("/reactions")} == {
        f"/tracker/comments/{cid}/reactions" for cid in expected_reactions
    }


def test_the_child_schema_carries_the_included_parent_field(sandbox, tracker):
    out = sync(config_for(tracker_source(sandbox)))
    assert out.schema("comments")["schema"]["properties"]["_issues_number"]["type"] == ["integer", "null"]
    assert out.schema("comments")["key_properties"] == ["id"]
    assert out.schema("reactions")["schema"]["properties"]["_comments_id"]["type"] == ["integer", "null"]


def test_a_nested_parent_field_in_params_and_headers(sandbox, tracker):
    source = tracker_source(sandbox)
    source["resources"][1]["endpoint"]["params"] = {"author": "{resources.issues.user.login}"}
    source["resources"][1]["endpoint"]["headers"] = {"X-Issue-Title": "{resources.issues.title}"}
    source["resources"] = source["resources"][:2]
    sync(config_for(source))
    sent = {r.path: r for r in sandbox.requests if r.path.endswith("/comments") and "page" not in r.query}
    issue_3 = sent["/tracker/issues/3/comments"]
    assert issue_3.query["author"] == ["user3"]
    assert issue_3.headers["x-issue-title"] == sync(config_for(tracker_source(sandbox))).records("issues")[2]["title"]


def test_an_incremental_child_keeps_one_bookmark_per_parent(sandbox, tracker):
    config = config_for(tracker_source(sandbox))
    first = sync(config)
    state = first.states[-1]
    partitions = state["bookmarks"]["comments"]["partitions"]
    last = {n: ids[-1] for n, ids in all_comments().items() if ids}
    assert {p["context"]["issues.number"]: p["replication_key_value"] for p in partitions} == {
        n: comment(n, len(ids))["updated_at"] for n, ids in all_comments().items() if ids
    }
    new = tracker.comment_on(3)
    sandbox.clear_requests()
    second = sync(config, state=state)
    # Each parent is asked from its own bookmark, so only its boundary comment comes again (the
    # start is inclusive, as the SDK's and dlt's), plus the one new comment.
    assert sorted(second.ids("comments")) == sorted([*last.values(), new["id"]])
    since = {r.path: r.query.get("since") for r in sandbox.requests if r.path.endswith("/comments") and "page" not in r.query}
    assert since["/tracker/issues/7/comments"] == [comment(7, 2)["updated_at"]]
    assert since["/tracker/issues/5/comments"] == [INITIAL]  # no comment yet: no bookmark, the initial value
    after = {
        p["context"]["issues.number"]: p["replication_key_value"]
        for p in second.states[-1]["bookmarks"]["comments"]["partitions"]
    }
    assert after[3] == new["updated_at"] and after[7] == comment(7, 2)["updated_at"]


def test_parent_bookmarks_are_capped_and_the_rest_reread(sandbox, tracker):
    config = config_for(tracker_source(sandbox), max_parent_bookmarks=3)
    first = sync(config)
    partitions = first.states[-1]["bookmarks"]["comments"]["partitions"]
    assert [p["context"]["issues.number"] for p in partitions] == [1, 2, 3]
    second = sync(config, state=first.states[-1])
    # Issues 1-3 resume from their bookmarks; the others are read from the initial value again.
    resent = {n: ids for n, ids in all_comments().items() if ids and n > 3}
    assert sorted(second.ids("comments")) == sorted(
        [all_comments()[n][-1] for n in (1, 2, 3)] + [i for ids in resent.values() for i in ids]
    )


def test_a_deselected_child_costs_no_requests_and_an_unselected_parent_is_read_not_emitted(sandbox, tracker, tmp_path):
    config = config_for(tracker_source(sandbox))
    select = functools.partial(catalog_selecting, config, tmp_path)  # discovery samples: before counting requests
    catalog = select("issues")
    sandbox.clear_requests()
    out = run_cli(["--catalog", catalog], config, tmp_path)
    assert out.returncode == 0 and {m["stream"] for m in out.messages if m["type"] == "RECORD"} == {"issues"}
    assert not [p for p in paths(sandbox) if "/comments" in p]
    catalog = select("reactions")
    sandbox.clear_requests()
    out = run_cli(["--catalog", catalog], config, tmp_path)
    assert out.returncode == 0 and {m["stream"] for m in out.messages if m["type"] == "RECORD"} == {"reactions"}
    assert len(out.records("reactions")) == sum(len(reactions(c)) for ids in all_comments().values() for c in ids)
    assert any(p.endswith("/comments") for p in paths(sandbox))


def test_a_parent_may_come_after_its_child_in_the_config(sandbox, tracker):
    source = tracker_source(sandbox)
    source["resources"].reverse()
    out = sync(config_for(source))
    assert len(out.records("reactions")) == sum(len(reactions(c)) for ids in all_comments().values() for c in ids)


def test_a_deleted_parent_fails_the_child_naming_child_parent_and_status(sandbox, tracker, tmp_path):
    tracker.delete_issue(4)
    source = tracker_source(sandbox)
    # Declared schemas: no sampling before the sync (a sample would meet the 404 first).
    text, number = {"type": ["string", "null"]}, {"type": ["integer", "null"]}
    source["resources"][1]["schema"] = {
        "properties": {"id": number, "body": text, "user": {"type": ["object", "null"]}, "created_at": text, "updated_at": text}
    }
    source["resources"][2]["schema"] = {"properties": {"id": number, "content": text}}
    out = run_cli([], config_for(source), tmp_path)
    assert out.returncode != 0
    assert last_line(out.stderr) == (
        "tap-restgeneric: error: stream 'comments' (for the 'issues' record with number=4): HTTP 404 Not Found from "
        f'{sandbox.base_url("tracker")}/issues/4/comments: {{"error":"Not Found"}}'
    )
    assert {r["_issues_number"] for r in out.records("comments")} == {1, 2, 3}  # written before the error


def test_a_parent_record_without_the_field_names_child_placeholder_and_key(sandbox, tracker, tmp_path):
    source = tracker_source(sandbox)
    source["resources"][1]["endpoint"]["path"] = "issues/{resources.issues.milestone.number}/comments"
    out = run_cli([], config_for(source), tmp_path)
    assert out.returncode != 0
    assert last_line(out.stderr) == (
        "tap-restgeneric: error: stream 'comments': placeholder {resources.issues.milestone.number}: the 'issues' record with key {'id': 1001} "
        "has no value at 'milestone.number' (its fields: id, number, title, state, user, updated_at)"
    )


BASE = {"client": {"base_url": "https://api.example.com"}}


@pytest.mark.parametrize(
    ("resources", "problem"),
    [
        (
            [{"name": "c", "endpoint": {"path": "issues/{resources.nope.id}/c"}}],
            (
                "resources[0].endpoint: placeholder {resources.nope.id} names resource 'nope', which is not in resources "
                "(resources: c)"
            ),
        ),
        (
            [{"name": "c", "endpoint": {"path": "issues/{unknown.x}/c"}}],
            (
                "resources[0].endpoint.path: placeholder {unknown.x} is not a valid name (valid: {resources.<parent>.<field>}, "
                "{incremental.start_value}, {partition.<name>}); a literal brace is written {{ '{' }}"
            ),
        ),
        (
            [{"name": "p"}, {"name": "c", "endpoint": {"path": "p/{resources.p}/c"}}],
            "resources[1].endpoint.path: placeholder {resources.p}: expected {resources.<parent>.<field>}",
        ),
        (
            [{"name": "c", "endpoint": {"path": "c", "params": {"since": "{incremental.start_vlaue}"}}}],
            (
                "resources[0].endpoint.params.since: placeholder {incremental.start_vlaue} is not one of "
                "{incremental.start_value}, {incremental.end_value}, {incremental.initial_value}, {incremental.last_value}, "
                "{incremental.lag}, {incremental.cursor_path}, {incremental.row_order}, {incremental.range_start}, "
                "{incremental.range_end}, {incremental.on_cursor_value_missing}"
            ),
        ),
        (
            [{"name": "c", "columns": {"id": "bigint"}}],
            "resources[0].columns.id: expected a column such as {data_type: bigint, nullable: false}, got 'bigint'",
        ),
        (
            [
                {"name": "p"},
                {
                    "name": "c",
                    "endpoint": {
                        "path": "c/{n}",
                        "params": {
                            "n": {"type": "resolve", "resource": "p", "field": "id"},
                            "m": {"type": "resolve", "resource": "p", "field": "x"},
                        },
                    },
                },
            ],
            (
                "resources[1].endpoint.params.m: resolve parameter 'm' is not bound in path 'c/{n}' (write {m} in the path; "
                "in a query parameter use {resources.p.x})"
            ),
        ),
        (
            [{"name": "a"}, {"name": "b"}, {"name": "c", "endpoint": {"path": "{resources.a.id}/{resources.b.id}"}}],
            "resources[2].endpoint: a resource has one parent, this one reads a, b",
        ),
        (
            [{"name": "a", "endpoint": {"path": "{resources.b.id}"}}, {"name": "b", "endpoint": {"path": "{resources.a.id}"}}],
            "resources: parent/child resources form a cycle: a -> b -> a",
        ),
        (
            [{"name": "a", "include_from_parent": ["id"]}],
            "resources[0].include_from_parent: the resource reads no parent ({resources.<parent>.<field>} in its request)",
        ),
        (
            [{"name": "p"}, {"name": "c", "endpoint": {"path": "c", "params": {"q": "{{ resources }}"}}}],
            "resources[1].endpoint.params.q: `resources` is read as resources.<parent>.<field> (one field of the parent record)",
        ),
    ],
)
def test_parent_child_config_errors_name_their_path(resources, problem):
    with pytest.raises(SourceConfigError) as raised:
        load_source({"source": {**BASE, "resources": resources}})
    assert raised.value.problems == [problem]


def test_placeholder_and_resolve_forms_read_the_same_fields():
    forms = [
        {"path": "issues/{resources.issues.number}/comments"},
        {"path": "issues/{n}/comments", "params": {"n": {"type": "resolve", "resource": "issues", "field": "number"}}},
        {"path": "issues/{{ resources.issues.number }}/comments"},
    ]
    links = [
        load_source({"source": {**BASE, "resources": [{"name": "issues"}, {"name": "c", "endpoint": form}]}}).resources[1][
            "parent"
        ]
        for form in forms
    ]
    assert all(link == links[0] for link in links)
    assert links[0] is not None and links[0].parent == "issues" and links[0].fields == (("number",),)


@pytest.mark.parametrize(
    ("paginator", "page_of"),
    [
        ({"type": "page_number", "page_param": "page", "total_path": None}, lambda args: int(args.get("page", 1))),
        ({"type": "offset", "limit": 2, "total_path": None}, lambda args: int(args.get("offset", 0)) // 2 + 1),
        ({"type": "json_link", "next_url_path": "next"}, lambda args: int(args.get("p", 1))),
    ],
    ids=["page_number", "offset", "json_link"],
)
@pytest.mark.parametrize("concurrency", [1, 8])
def test_each_parent_pages_its_children_from_the_start(httpserver, paginator, page_of, concurrency):
    """Every parent has the same two pages of children (same ids): paging restarts per parent, and the
    repeated-page guard does not mistake parent 2's first page for a repeat of parent 1's last."""

    def children(request):
        from werkzeug import Response

        page = page_of(request.args)
        parent = int(request.path.split("/")[-2])
        body: dict = {"items": [{"id": i} for i in ((1, 2) if page == 1 else (3,) if page == 2 else ())], "parent": parent}
        if paginator["type"] == "json_link" and page < 3:
            body["next"] = httpserver.url_for(request.path) + f"?p={page + 1}"
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/parents").respond_with_json([{"id": 1}, {"id": 2}, {"id": 3}])
    for parent in (1, 2, 3):
        httpserver.expect_request(f"/api/parents/{parent}/children").respond_with_handler(children)
    source = {
        "client": {"base_url": httpserver.url_for("/api")},
        "resources": [
            {"name": "parents", "endpoint": {"path": "parents", "paginator": {"type": "single_page"}}, "primary_key": "id"},
            {
                "name": "children",
                "endpoint": {"path": "parents/{resources.parents.id}/children", "data_selector": "items", "paginator": paginator},
                "include_from_parent": ["id"],
                "primary_key": "id",
                "schema": {"properties": {"id": {"type": "integer"}}},
            },
        ],
    }
    out = sync({"source": source, "max_concurrency": concurrency})
    assert [(r["_parents_id"], r["id"]) for r in out.records("children")] == [(p, i) for p in (1, 2, 3) for i in (1, 2, 3)]


def test_fan_out_keeps_the_sequential_order_and_state(sandbox, tracker):
    """Children of upcoming parents are requested ahead (max_concurrency 8), yet the messages are
    those of a one-parent-at-a-time sync: same records in the same order, same final STATE."""
    source = tracker_source(sandbox)
    sandbox.latency_ms = 3  # responses slow enough that requests overlap
    try:
        ahead = sync(config_for(source, max_concurrency=8))
        one_by_one = sync(config_for(source, max_concurrency=1))
    finally:
        sandbox.latency_ms = 0
    records = [(m["stream"], m["record"]) for m in ahead.messages if m["type"] == "RECORD"]
    assert records == [(m["stream"], m["record"]) for m in one_by_one.messages if m["type"] == "RECORD"]
    assert ahead.states[-1] == one_by_one.states[-1]
    assert len(records) == ISSUE_COUNT + sum(map(len, all_comments().values())) + sum(
        len(reactions(c)) for ids in all_comments().values() for c in ids
    )


def test_response_actions_ignore_a_deleted_parents_404(sandbox, tracker, tmp_path):
    tracker.delete_issue(4)
    source = tracker_source(sandbox)
    source["resources"][1]["endpoint"]["response_actions"] = [{"status_code": 404, "action": "ignore"}]
    out = run_cli([], config_for(source), tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert {r["_issues_number"] for r in out.records("comments")} == {n for n, ids in all_comments().items() if ids and n != 4}
    assert "stream 'comments' (for the 'issues' record with number=4): HTTP 404 from " in out.stderr
    assert "ignored (response_actions)" in out.stderr


def test_a_stream_map_filter_on_the_parent_with_fan_out_completes(sandbox, tracker, tmp_path):
    """The SDK syncs no children of a record a stream map filters out; their prefetched pages are
    dropped, and the fan-out goes on (it once waited forever for room)."""
    config = config_for(tracker_source(sandbox), max_concurrency=2, stream_maps={"issues": {"__filter__": "number > 9"}})
    out = run_cli([], config, tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.ids("issues") == [1010, 1011, 1012]
    assert {r["_issues_number"] for r in out.records("comments")} == {n for n in (10, 11, 12) if all_comments()[n]}


def test_parents_sharing_a_bookmark_give_the_same_records_at_any_concurrency(sandbox, tracker):
    source = tracker_source(sandbox)
    source["resources"] = source["resources"][:2]
    # user.id is 500 + number % 4: three issues share each value, so each bookmark is kept for several parents.
    source["resources"][1]["endpoint"]["path"] = "issues/{{ resources.issues.user.id - 499 }}/comments"
    outputs = [sync(config_for(source, max_concurrency=c)) for c in (1, 8)]
    assert [(r["_issues_number"], r["id"]) for r in outputs[0].records("comments")] == [
        (r["_issues_number"], r["id"]) for r in outputs[1].records("comments")
    ]
    assert outputs[0].states[-1] == outputs[1].states[-1]
    assert len(outputs[0].states[-1]["bookmarks"]["comments"]["partitions"]) == 4


def test_an_unselected_incremental_child_leaves_no_bookmarks_for_its_selected_grandchild(sandbox, tracker, tmp_path):
    config = config_for(tracker_source(sandbox))
    out = run_cli(["--catalog", catalog_selecting(config, tmp_path, "reactions")], config, tmp_path)
    assert out.returncode == 0
    assert (out.states[-1]["bookmarks"].get("comments") or {}).get("partitions", []) == []


def test_no_thread_is_left_behind_after_a_sync(sandbox, tracker):
    import threading

    def fan_out_threads() -> list[threading.Thread]:
        return [thread for thread in threading.enumerate() if "-ahead-" in thread.name]

    sync(config_for(tracker_source(sandbox)))
    for thread in fan_out_threads():  # idle workers end after a second
        thread.join(timeout=60)
    assert [thread.name for thread in fan_out_threads()] == []


def log_lines(stderr: str, level: str, text: str) -> list[str]:
    return [line for line in stderr.splitlines() if f"| {level} " in line and text in line]


def test_a_child_stream_says_once_that_it_begins(sandbox, tracker, tmp_path):
    """examples/tracker.yaml: one start line per child stream (not one per parent record), and one
    closing line; the per-parent lines are there at DEBUG."""
    config = {
        "source_file": str(Path(__file__).resolve().parent.parent.parent / "examples/tracker.yaml"),
        "base_url": sandbox.base_url("tracker"),
        "secrets": {"api_key": CANARY},
    }
    out = run_cli([], config, tmp_path, env={"LOGLEVEL": "INFO"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert [line.split("| ")[-1] for line in log_lines(out.stderr, "INFO", "Beginning sync of ")] == [
        "Beginning sync of 'issues' in full_table mode",
        "Beginning sync of 'comments' in incremental mode, once per 'issues' record (one closing line for all of them)",
        "Beginning sync of 'reactions' in full_table mode, once per 'comments' record (one closing line for all of them)",
    ]
    assert log_lines(out.stderr, "INFO", "Starting incremental sync") == []
    assert "unsorted" not in out.stderr and "not known to arrive" not in out.stderr  # a bookmark per parent: nothing to do
    assert len(log_lines(out.stderr, "INFO", "stream 'comments': 23 records, 16 pages, ")) == 1
    assert len(log_lines(out.stderr, "INFO", " under 23 parents; ")) == 1  # reactions, one per comment
    debug = run_cli([], config, tmp_path, env={"LOGLEVEL": "DEBUG"})
    assert len(log_lines(debug.stderr, "DEBUG", "Beginning sync of 'reactions' in full_table mode with context keys")) == 22
    starts = [line.split("| ")[-1] for line in log_lines(debug.stderr, "DEBUG", "Starting incremental sync of 'comments'")]
    assert starts == [
        f"Starting incremental sync of 'comments' (for the 'issues' record with number={n}) on 'updated_at' from '{INITIAL}'"
        for n in range(1, ISSUE_COUNT + 1)
    ]
