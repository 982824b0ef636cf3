"""The --state a sync starts from, and cursors compared by what they are (not as text).

A state of the wrong shape, or a bookmark that is not a value of its stream's cursor, is one
state-error line before any request. Date-times compare as moments (offsets normalised to UTC,
fractions of a second), numbers as numbers, and the bookmark keeps the record's own value of the
largest one, as the API wrote it.
"""

from __future__ import annotations

import datetime
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tap_restgeneric.errors import StateError
from tap_restgeneric.tap import TapRestGeneric
from tests.support import last_line, run_cli, sync

DATE_TIME = {"type": ["string", "null"], "format": "date-time"}


def events_config(httpserver, cursor: dict | None = DATE_TIME, **incremental) -> dict:
    properties: dict = {"id": {"type": "integer"}}
    if cursor is not None:
        properties["ts"] = cursor
    return {
        "source": {
            "client": {"base_url": httpserver.url_for("/api"), "paginator": "single_page"},
            "resources": [
                {
                    "name": "events",
                    "primary_key": "id",
                    "schema": {"properties": properties},
                    "endpoint": {"path": "events", "incremental": {"cursor_path": "ts", "start_param": "since", **incremental}},
                }
            ],
        }
    }


def serve(httpserver, records: list[dict]) -> None:
    httpserver.expect_request("/api/events").respond_with_json(records)


def bookmark_of(value, **more) -> dict:
    return {"bookmarks": {"events": {"replication_key": "ts", "replication_key_value": value, **more}}}


def with_state(tmp_path, state) -> list[str]:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    return ["--state", str(path)]


# ---------------------------------------------------------------- the state's shape


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"bookmarks": "events"}, "bookmarks: expected an object of stream states, got a string ('events')"),
        (
            {"bookmarks": {"events": []}},
            "stream 'events': bookmarks.events: expected an object (a stream state), got a list ([])",
        ),
        (
            {"bookmarks": {"events": {"partitions": "all"}}},
            (
                "stream 'events': bookmarks.events.partitions: expected a list of objects, each with a \"context\" object, "
                "got a string ('all')"
            ),
        ),
        (
            {"bookmarks": {"events": {"partitions": [{"context": {"id": 1}}, {"replication_key": "ts"}]}}},
            "stream 'events': bookmarks.events.partitions[1].context: expected an object, got null",
        ),
        (
            {"bookmarks": {"events": {"partitions": [7]}}},
            "stream 'events': bookmarks.events.partitions[0]: expected an object (a partition), got a number (7)",
        ),
        (
            {"bookmarks": {"events": {"progress_markers": "yes"}}},
            "stream 'events': bookmarks.events.progress_markers: expected an object, got a string ('yes')",
        ),
        (
            {"bookmarks": {"events": {"replication_key": 3}}},
            "stream 'events': bookmarks.events.replication_key: expected a string (the cursor field), got a number (3)",
        ),
        (
            {"bookmarks": {"events": {"replication_key_value": {"at": 1}}}},
            (
                "stream 'events': bookmarks.events.replication_key_value: expected a string, a number or null, got an "
                "object ({'at': 1})"
            ),
        ),
    ],
    ids=[
        "bookmarks-string",
        "entry-list",
        "partitions-string",
        "partition-without-context",
        "partition-number",
        "markers",
        "key",
        "value",
    ],
)
def test_a_state_of_the_wrong_shape_is_one_line_naming_the_stream(httpserver, tmp_path, state, expected):
    out = run_cli(with_state(tmp_path, state), events_config(httpserver), tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == f"tap-restgeneric: state error: {expected}"
    assert "Traceback" not in out.stderr and not out.messages and not httpserver.log


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
entries = st.dictionaries(
    st.sampled_from(["replication_key", "replication_key_value", "progress_markers", "partitions", "context", "other"]),
    json_values
    | st.lists(st.dictionaries(st.sampled_from(["context", "replication_key", "replication_key_value"]), json_values)),
    max_size=4,
)
states = st.fixed_dictionaries(
    {}, optional={"bookmarks": json_values | st.dictionaries(st.sampled_from(["events", "other"]), entries | json_values)}
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(state=states)
def test_any_state_loads_or_is_refused_in_lines_naming_a_stream(httpserver, state):
    """Whatever the state holds, the tap loads it or refuses it with a StateError whose every line
    names ``bookmarks`` or a stream: never an AttributeError or a KeyError."""
    refused: list[str] = []
    try:
        tap = TapRestGeneric(config=events_config(httpserver), state=state, parse_env_config=False)
    except StateError as exc:
        refused = exc.problems or ["(a StateError without problems)"]
    if refused:
        assert all(problem.startswith(("bookmarks: ", "stream ")) for problem in refused), refused
        return
    tap._reset_state_progress_markers()  # what a sync does first: it reads every entry and partition
    tap.streams["events"].starting_value(None)


# ---------------------------------------------------------------- bookmarks that are not cursor values


@pytest.mark.parametrize(
    ("cursor", "value", "expected"),
    [
        (DATE_TIME, "zzzz", "'zzzz' is not an ISO 8601 date or date-time like cursor 'ts'"),
        (DATE_TIME, 1704067200, "1704067200 is not an ISO 8601 date or date-time like cursor 'ts'"),
        ({"type": "integer"}, "12", "'12' is not a number like cursor 'ts'"),
        (
            {"type": "string", "format": "date"},
            "2024-13-45",
            "'2024-13-45' is not an ISO 8601 date or date-time like cursor 'ts'",
        ),
    ],
    ids=["text-for-date-time", "number-for-date-time", "text-for-integer", "impossible-date"],
)
def test_a_bookmark_that_is_not_a_cursor_value_is_a_state_error_before_any_request(httpserver, tmp_path, cursor, value, expected):
    serve(httpserver, [{"id": 1, "ts": "2024-01-01T00:00:00Z"}])
    out = run_cli(with_state(tmp_path, bookmark_of(value)), events_config(httpserver, cursor), tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        f"tap-restgeneric: state error: stream 'events': bookmarks.events.replication_key_value: {expected}; correct or "
        "remove the bookmark (meltano state set / clear), or the stream would compare every record with it"
    )
    assert not httpserver.log and not out.messages


def test_a_partition_bookmark_is_checked_too(httpserver, tmp_path):
    state = {
        "bookmarks": {
            "events": {
                "partitions": [
                    {"context": {"a": 1}, "replication_key": "ts", "replication_key_value": "2024-01-01"},
                    {"context": {"a": 2}, "replication_key": "ts", "replication_key_value": "last tuesday"},
                ]
            }
        }
    }
    out = run_cli(with_state(tmp_path, state), events_config(httpserver), tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr).startswith(
        "tap-restgeneric: state error: stream 'events': bookmarks.events.partitions[1].replication_key_value: "
        "'last tuesday' is not an ISO 8601 date or date-time like cursor 'ts'"
    )


def test_a_bookmark_under_another_replication_key_is_not_read_nor_checked(httpserver, tmp_path):
    serve(httpserver, [{"id": 1, "ts": "2024-01-01T00:00:00Z"}])
    state = {"bookmarks": {"events": {"replication_key": "updated", "replication_key_value": "zzzz"}}}
    out = run_cli(with_state(tmp_path, state), events_config(httpserver), tmp_path)
    assert out.returncode == 0 and out.ids("events") == [1]


# ---------------------------------------------------------------- values compared by what they are

OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: datetime.timezone(datetime.timedelta(minutes=m)))
MOMENTS = st.datetimes(
    min_value=datetime.datetime(2023, 12, 30),  # noqa: DTZ001 - hypothesis takes naive bounds, and the zone apart
    max_value=datetime.datetime(2024, 1, 3),  # noqa: DTZ001
    timezones=st.just(datetime.timezone.utc),
)


@st.composite
def written_moments(draw) -> tuple[datetime.datetime, str]:
    """A moment and one way an API writes it: any offset, Z or not, fractions of a second or not."""
    moment = draw(MOMENTS)
    if draw(st.booleans()):
        moment = moment.replace(microsecond=0)
    local = moment.astimezone(draw(OFFSETS))
    text = local.isoformat(timespec=draw(st.sampled_from(["auto", "seconds", "milliseconds", "microseconds"])))
    if local.utcoffset() == datetime.timedelta(0) and draw(st.booleans()):
        text = text.replace("+00:00", "Z")
    return datetime.datetime.fromisoformat(text).astimezone(datetime.timezone.utc), text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(written_moments(), min_size=1, max_size=8), bookmark=written_moments())
def test_date_times_compare_as_moments_and_the_bookmark_keeps_the_api_s_text(httpserver, records, bookmark):
    """Mixed offsets and fractions of a second: the records at or after the bookmark's moment are
    emitted (none before it), and the next bookmark is the latest record's value as the API wrote it."""
    httpserver.clear()
    serve(httpserver, [{"id": i, "ts": text} for i, (_, text) in enumerate(records)])
    out = sync(events_config(httpserver), state=bookmark_of(bookmark[1]))
    kept = [i for i, (moment, _) in enumerate(records) if moment >= bookmark[0]]
    assert out.ids("events") == kept
    final = out.states[-1]["bookmarks"]["events"]["replication_key_value"]
    if kept:
        latest = max(records[i][0] for i in kept)
        assert final in [records[i][1] for i in kept if records[i][0] == latest]
    else:
        assert final == bookmark[1]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(st.integers(-1000, 1000) | st.floats(-1000, 1000, allow_nan=False), min_size=1, max_size=8),
    start=st.integers(-1000, 1000) | st.floats(-1000, 1000, allow_nan=False),
)
def test_numbers_compare_as_numbers_integers_and_fractions_alike(httpserver, values, start):
    httpserver.clear()
    serve(httpserver, [{"id": i, "ts": value} for i, value in enumerate(values)])
    out = sync(events_config(httpserver, {"type": "number"}), state=bookmark_of(start))
    assert out.ids("events") == [i for i, value in enumerate(values) if value >= start]
    final = out.states[-1]["bookmarks"]["events"]["replication_key_value"]
    assert final == max([v for v in values if v >= start], default=start)


def test_records_in_moment_order_are_sorted_whatever_their_text(httpserver, tmp_path):
    """row_order asc: 10:00+02:00 comes before 09:00Z (08:00 and 09:00 UTC); as text it would not, and
    the SDK would stop the stream as unsorted."""
    serve(
        httpserver,
        [
            {"id": 1, "ts": "2024-01-01T10:00:00+02:00"},
            {"id": 2, "ts": "2024-01-01T09:00:00Z"},
            {"id": 3, "ts": "2024-01-01T09:00:00.5Z"},
        ],
    )
    out = run_cli([], events_config(httpserver, row_order="asc"), tmp_path)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.ids("events") == [1, 2, 3]
    assert [s["bookmarks"]["events"]["replication_key_value"] for s in out.states][-1] == "2024-01-01T09:00:00.5Z"


def test_a_date_time_in_the_future_does_not_become_the_bookmark(httpserver):
    """An unsorted stream's bookmark never passes the sync's start (the SDK's signpost), so records
    updated meanwhile are read again next time."""
    serve(httpserver, [{"id": 1, "ts": "2024-01-01T00:00:00Z"}, {"id": 2, "ts": "2999-01-01T00:00:00+05:00"}])
    before = datetime.datetime.now(datetime.timezone.utc)
    out = sync(events_config(httpserver))
    assert out.ids("events") == [1, 2]
    final = datetime.datetime.fromisoformat(out.states[-1]["bookmarks"]["events"]["replication_key_value"])
    assert before - datetime.timedelta(minutes=5) <= final <= datetime.datetime.now(datetime.timezone.utc)


def test_a_cursor_value_of_another_kind_is_emitted_with_one_warning_never_dropped(httpserver, tmp_path):
    """The schema types the cursor as a plain string: a start of text ('zzzz') and date-time records
    do not compare, so the records are emitted (with one warning), not compared as text and dropped."""
    serve(httpserver, [{"id": 1, "ts": "2024-01-01T00:00:00Z"}, {"id": 2, "ts": "2024-01-02T00:00:00Z"}, {"id": 3, "ts": "aaa"}])
    out = run_cli(with_state(tmp_path, bookmark_of("zzzz")), events_config(httpserver, {"type": "string"}), tmp_path)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.ids("events") == [1, 2]  # 'aaa' is text, before 'zzzz': filtered as text
    warnings = [line for line in out.stderr.splitlines() if "cannot be compared" in line]
    assert len(warnings) == 1
    assert warnings[0].endswith(
        "stream 'events': a record's cursor 'ts' value '2024-01-01T00:00:00Z' cannot be compared with the incremental "
        "start 'zzzz' (another kind of value); such records are emitted, not filtered"
    )


def test_a_record_whose_cursor_is_not_of_its_type_is_emitted_and_leaves_the_bookmark(httpserver, tmp_path):
    serve(httpserver, [{"id": 1, "ts": "2024-01-02T00:00:00Z"}, {"id": 2, "ts": "soon"}])
    out = run_cli([], events_config(httpserver, {"type": "string", "format": "date-time"}, initial_value="2024-01-01"), tmp_path)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.ids("events") == [1, 2]
    assert out.states[-1]["bookmarks"]["events"]["replication_key_value"] == "2024-01-02T00:00:00Z"
    assert (
        "stream 'events': a record whose cursor 'ts' is 'soon', not an ISO 8601 date or date-time (key {'id': 2})" in out.stderr
    )


def test_an_end_value_that_is_not_a_cursor_value_is_a_config_error(httpserver, tmp_path):
    out = run_cli(["--discover"], events_config(httpserver, end_value="tomorrow"), tmp_path)
    assert out.returncode == 1
    assert last_line(out.stderr) == (
        "tap-restgeneric: config error: events: incremental.end_value: 'tomorrow' is not an ISO 8601 date or date-time "
        "like cursor 'ts' of stream 'events'"
    )
