"""An incremental stream's start value and bookmark.

- A context starts from the bookmark in STATE (less ``lag``), else ``initial_value``, else the
  ``start_date`` setting; a backfill (``end_value``) ignores the bookmark and never moves it (dlt
  keeps no state for it). (The SDK's own starting value prefers ``start_date`` to all but a bookmark.)
- The bookmark moves with the records as they are written, their cursor values compared by what they
  are (``values.CursorType``: the SDK compares text, and an offset or a fraction of a second then puts
  the bookmark past records the API returns). It keeps the record's own value of the largest, as the
  API wrote it; in a stream of no known order, a date-time past the sync's start is that start (as
  the SDK's signpost does), and the largest is kept in the SDK's progress markers until the stream
  (or a child's parent) is done. A record without a value that compares is emitted and leaves the
  bookmark as it is: one warning per stream says so.
"""

from __future__ import annotations

import dataclasses
import typing as t

from singer_sdk.exceptions import InvalidStreamSortException
from singer_sdk.helpers._state import PROGRESS_MARKER_NOTE, PROGRESS_MARKERS  # private module: the SDK's state keys

from tap_restgeneric.errors import stream_line
from tap_restgeneric.streams.incremental import lagged
from tap_restgeneric.values import MOMENT

if t.TYPE_CHECKING:
    import datetime
    from collections.abc import Callable

    from tap_restgeneric.source.incremental_config import IncrementalConfig
    from tap_restgeneric.streams.incremental import CursorWatch
    from tap_restgeneric.streams.keys import RequiredKey
    from tap_restgeneric.streams.notes import Notes
    from tap_restgeneric.values import CursorType


@dataclasses.dataclass(kw_only=True)
class Bookmarks:
    """The start and the bookmark of one incremental stream (see the module docstring).

    ``cursor_type_of()`` is asked for when first needed: it reads the stream's schema, which may be
    sampled from the API (not at construction). ``sync_started`` is when the tap started."""

    stream: str
    incremental: IncrementalConfig
    start_date: str | None
    cursor_type_of: Callable[[], CursorType]
    sync_started: datetime.datetime
    cursor_watch: CursorWatch
    key: RequiredKey
    notes: Notes
    #: The last bookmark value compared with, and its parsed form (one parse per bookmark, not per record).
    _seen: tuple[t.Any, t.Any] | None = dataclasses.field(default=None, init=False)

    @property
    def cursor(self) -> str:
        return self.incremental["cursor_path"]

    @property
    def backfill(self) -> bool:
        """dlt's ``end_value``: a bounded run, which ignores the bookmark and never moves it."""
        return self.incremental.get("end_value") is not None

    @property
    def cursor_type(self) -> CursorType:
        return self.cursor_type_of()

    def start(self, bookmark: t.Mapping[str, t.Any]) -> t.Any:
        """Where a context's requests start, given the state that holds its bookmark."""
        initial = self.incremental.get("initial_value")
        initial = self.start_date if initial is None else initial
        if (
            not self.backfill
            and bookmark.get("replication_key") == self.cursor
            and bookmark.get("replication_key_value") is not None
        ):
            return lagged(bookmark["replication_key_value"], self.incremental.get("lag"), initial)
        return initial

    def advance(self, state: dict, record: t.Mapping[str, t.Any], *, in_order: bool, check_sorted: bool) -> None:
        """The bookmark in ``state`` (a context's) after ``record`` was written; ``in_order``: the records
        come in cursor order (the bookmark itself moves, else the progress markers)."""
        if self.backfill:
            return
        value = record.get(self.cursor)
        cursor_type = self.cursor_type
        parsed = None if value is None else cursor_type.parse(value)
        if parsed is None:
            if value is None:  # said once, unless the first page said it all; the closing line says the rest
                self.cursor_watch.record_without_cursor(dict(record), self.key.describe)
            else:
                self.notes.warn_once(
                    "cursor value",
                    stream_line(
                        self.stream,
                        f"a record whose cursor {self.cursor!r} is {value!r}, not {cursor_type.expected()} "
                        f"(key {self.key.describe(record)}), was emitted; such records do not move the bookmark",
                    ),
                )
            return
        target = state if in_order else progress_markers(state)
        old = target.get("replication_key_value")
        if old is not None:
            seen = self._seen
            previous = seen[1] if seen is not None and seen[0] is old else cursor_type.parse(old)
            self._seen = (old, previous)
            if previous is None or previous[0] != parsed[0]:
                self.notes.warn_once(
                    "bookmark kind",
                    stream_line(
                        self.stream,
                        f"cursor {self.cursor!r} value {value!r} cannot be compared with the bookmark {old!r} "
                        "(another kind of value); the bookmark stays",
                    ),
                )
                return
            if parsed[1] < previous[1] and check_sorted:
                if in_order:
                    raise InvalidStreamSortException(
                        f"Unsorted data detected in stream. Latest value '{value}' is smaller than previous max '{old}'."
                    )
                return
        if not in_order and parsed[0] == MOMENT and parsed[1] > self.sync_started:
            value = self.sync_started.isoformat()
        target["replication_key"] = self.cursor
        target["replication_key_value"] = value


def progress_markers(state: dict) -> dict:
    """Where a stream of no known order keeps the largest value while it runs (the SDK's progress markers,
    made the bookmark when the stream completes). ``StartLines`` makes them before a context's first
    record and says once what they mean; the SDK's own warning would name no stream."""
    markers = state.get(PROGRESS_MARKERS)
    if markers is None:
        markers = state[PROGRESS_MARKERS] = {PROGRESS_MARKER_NOTE: "Progress is not resumable if interrupted."}
    return t.cast("dict", markers)
