"""The stream's collaborators built directly, on records and pages in memory: no tap, no server."""

from __future__ import annotations

import datetime
import logging

import pytest
import requests
from singer_sdk.exceptions import InvalidStreamSortException
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_restgeneric.errors import StreamError
from tap_restgeneric.paging.page import Page
from tap_restgeneric.schema_drift import Contract
from tap_restgeneric.source.parent_link import ParentLink
from tap_restgeneric.streams.bookmarks import Bookmarks
from tap_restgeneric.streams.emitter import Output, RecordEmitter
from tap_restgeneric.streams.incremental import CursorWatch, Window
from tap_restgeneric.streams.keys import RequiredKey
from tap_restgeneric.streams.notes import Notes
from tap_restgeneric.streams.processing import Steps
from tap_restgeneric.streams.progress import Progress
from tap_restgeneric.streams.records import RecordSource
from tap_restgeneric.streams.start_lines import StartLines
from tap_restgeneric.streams.tree import FullTableVersion, SentSchemas, StateThrottle
from tap_restgeneric.values import CursorType

LOGGER = logging.getLogger("tests.streams")
SCHEMA = {"properties": {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}}}
MOMENTS = CursorType("updated_at", "date-time")


def key(fields=("id",), drop=False) -> RequiredKey:
    return RequiredKey("items", fields, drop=drop, progress=Progress("items", LOGGER), notes=Notes("items", LOGGER))


def test_the_window_keeps_the_records_from_the_start_and_before_the_end():
    window = Window(MOMENTS, start="2024-01-02T00:00:00Z", end="2024-01-04T00:00:00Z", stream="items")
    records = [{"updated_at": f"2024-01-0{day}T00:00:00Z"} for day in range(1, 6)]
    assert [r["updated_at"][:10] for r in window.keep(records)] == ["2024-01-02", "2024-01-03"]
    strict = Window(MOMENTS, start="2024-01-02T00:00:00Z", missing="raise", stream="items")
    with pytest.raises(StreamError, match=r"^stream 'items': a record has no cursor field 'updated_at'"):
        strict.keep([{"id": 1}])


def test_a_record_without_its_key_stops_the_stream_naming_its_page_and_parent():
    with pytest.raises(StreamError) as raised:
        key().kept([{"id": 1}, {"name": "x"}], 3, " (for the 'issues' record with number=7)")
    assert str(raised.value).startswith(
        "stream 'items' (for the 'issues' record with number=7): record 2 of page 3 has no value for its primary key ('id' is absent)"
    )
    dropping = key(drop=True)
    assert dropping.kept([{"id": 1}, {"id": None}], 1) == [{"id": 1}]
    assert dropping.progress.dropped_without_key == 1
    assert dropping.identity()({"id": 5, "x": 1}) == (5,)
    assert dropping.describe({"id": 5, "x": 1}) == {"id": 5}


def emitter(contract: str) -> RecordEmitter:
    made = RecordEmitter(stream="items", primary_keys=["id"], contract=Contract.parse(contract, "c"), key=key(), logger=LOGGER)
    made.start(SCHEMA, Output(None, TypeConformanceLevel.ROOT_ONLY))
    return made


def test_a_record_that_fits_goes_out_unchanged_and_one_that_drifts_meets_the_contract():
    evolved: list[dict] = []
    record = {"id": 1, "name": "a"}
    assert emitter("evolve").fitted(record, evolved.append) is record
    wider = emitter("evolve").fitted({"id": 2, "name": "b", "extra": True}, evolved.append)
    assert wider == {"id": 2, "name": "b", "extra": True}
    assert evolved[0]["properties"]["extra"] == {"type": ["boolean", "null"]}
    assert emitter("discard_row").fitted({"id": 3, "extra": True}, evolved.append) is None
    assert emitter("discard_value").fitted({"id": 4, "extra": True}, evolved.append) == {"id": 4}
    with pytest.raises(StreamError, match=r"^stream 'items': .*schema_contract freeze"):
        emitter("freeze").fitted({"id": 5, "extra": True}, evolved.append)


def bookmarks(**incremental) -> Bookmarks:
    notes = Notes("items", LOGGER)
    return Bookmarks(
        stream="items",
        incremental={"cursor_path": "updated_at", **incremental},
        start_date="2023-01-01",
        cursor_type_of=lambda: MOMENTS,
        sync_started=datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc),
        cursor_watch=CursorWatch("items", "updated_at", LOGGER),
        key=key(),
        notes=notes,
    )


def test_the_start_is_the_bookmark_less_lag_else_initial_value_else_start_date():
    assert bookmarks().start({}) == "2023-01-01"
    assert bookmarks(initial_value="2024-01-01").start({}) == "2024-01-01"
    bookmark = {"replication_key": "updated_at", "replication_key_value": "2024-05-01T00:00:10Z"}
    assert bookmarks(lag=10).start(bookmark) == "2024-05-01T00:00:00Z"
    assert bookmarks(end_value="2024-06-01").start(bookmark) == "2023-01-01"  # a backfill ignores the bookmark


def test_the_bookmark_moves_by_value_not_by_text():
    state: dict = {}
    marks = bookmarks()
    for value in ("2024-01-01T10:00:00+02:00", "2024-01-01T09:00:00Z", "2024-01-01T07:00:00Z"):
        marks.advance(state, {"id": 1, "updated_at": value}, in_order=False, check_sorted=True)
    assert state["progress_markers"]["replication_key_value"] == "2024-01-01T09:00:00Z"
    in_order: dict = {}
    marks.advance(in_order, {"id": 1, "updated_at": "2024-01-02T00:00:00Z"}, in_order=True, check_sorted=True)
    with pytest.raises(InvalidStreamSortException):
        marks.advance(in_order, {"id": 2, "updated_at": "2024-01-01T00:00:00Z"}, in_order=True, check_sorted=True)


def fake_page(records: list[dict]) -> Page:
    response = requests.Response()
    response.status_code = 200
    return Page(response, {"data": records}, records)


def test_the_records_of_a_context_carry_their_parent_fields_pass_the_steps_and_the_window():
    link = ParentLink(parent="issues", fields=(("number",),), include=("number",))
    source = RecordSource(
        stream="comments",
        link=link,
        incremental={"cursor_path": "updated_at"},
        cursor_type=lambda: MOMENTS,
        steps=Steps([("exclude", frozenset({"body"}))], {}),
        key=key(),
        cursor_watch=None,
        progress=Progress("comments", LOGGER),
        emitter=emitter("evolve"),
        notes=Notes("comments", LOGGER),
        pages=None,  # type: ignore[arg-type]  # pages are given to read() here
        scheduler=None,  # type: ignore[arg-type]
        max_concurrency=1,
    )
    pages = [
        fake_page([{"id": 1, "body": "x", "updated_at": "2024-01-01T00:00:00Z"}]),
        fake_page([{"id": 2, "body": "y", "updated_at": "2024-03-01T00:00:00Z"}]),
    ]
    prefetched: list[list[dict]] = []
    context = {"issues.number": 7, "_issues_number": 7}
    records = list(source.read(context, "2024-02-01T00:00:00Z", pages, lambda found, _: prefetched.append(found)))
    assert records == [{"id": 2, "updated_at": "2024-03-01T00:00:00Z", "_issues_number": 7}]
    assert prefetched == [[], records]
    assert (source.progress.records, source.progress.pages) == (1, 2)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_child_says_it_begins_once_and_names_the_start_it_sends():
    lines = StartLines("comments", ParentLink("issues", (("number",),)), {"cursor_path": "updated_at"}, LOGGER)
    first = lines.beginning("Beginning sync of '%s' in %s mode with context keys: %s", ("comments",), logging.INFO, "INCREMENTAL")
    again = lines.beginning("Beginning sync of '%s' in %s mode with context keys: %s", ("comments",), logging.INFO, "INCREMENTAL")
    assert (
        first[0] % first[1]
        == "Beginning sync of 'comments' in incremental mode, once per 'issues' record (one closing line for all of them)"
    )
    assert again[2] == logging.DEBUG
    state: dict = {}
    said = Lines()
    LOGGER.addHandler(said)
    LOGGER.setLevel(logging.DEBUG)
    try:
        lines.started(state, "2024-01-01", " (for the 'issues' record with number=1)", in_order=False)
    finally:
        LOGGER.removeHandler(said)
    assert state["starting_replication_value"] == "2024-01-01"
    assert "progress_markers" in state
    assert said.messages == [
        "Starting incremental sync of 'comments' (for the 'issues' record with number=1) on 'updated_at' from '2024-01-01'"
    ]


def test_the_tree_deciders():
    clock = iter([100.0, 100.5, 105.0, 111.0, 111.1])
    writes: list[int] = []
    throttle = StateThrottle(clock=lambda: next(clock))
    throttle.write(lambda: writes.append(1))  # at 100: written, in 0.5 s
    throttle.write(lambda: writes.append(2))  # at 105: not yet (twenty times 0.5 s is 10 s)
    throttle.write(lambda: writes.append(3))  # at 111: written
    assert writes == [1, 3]
    versions = FullTableVersion()
    assert (versions.starts(7), versions.starts(7), versions.ends(), versions.ends()) == (True, False, 7, None)

    class Message:
        def __init__(self, schema: dict) -> None:
            self.stream, self.schema, self.key_properties, self.bookmark_properties = "s", schema, ["id"], None

    schema = {"properties": {}}
    sent = SentSchemas()
    assert (sent.changed([Message(schema)]), sent.changed([Message(schema)]), sent.changed([Message(dict(schema))])) == (
        True,
        False,
        True,
    )
