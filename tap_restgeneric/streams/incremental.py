"""dlt's incremental window: which records of a sync are emitted, and where it starts.

- the start is the bookmark (less ``lag``: seconds for date-times, days for dates, units for
  numbers, never before ``initial_value``), else ``initial_value``, else ``start_date``;
- a run with ``end_value`` is a backfill: it starts at ``initial_value`` and never moves the
  bookmark (dlt keeps no state for it);
- records before the start are dropped (``range_start: open`` drops the start value too), and
  records at or after ``end_value`` (``range_end: closed`` keeps the end value itself), the values
  compared by what they are (``values.CursorType``: moments in UTC, numbers, text);
- a record without the cursor is emitted (``on_cursor_value_missing: include``, the tap's
  default), dropped (``exclude``) or stops the stream (``raise``, dlt's default);
- a cursor that no record has (``updatedAt`` for ``updated_at``) never moves the bookmark:
  ``CursorWatch`` says so, naming the closest field the records have;
- a record whose cursor value cannot be compared with the start or end (another kind of value:
  text where they are dates) is emitted, never dropped unseen; one warning per stream says so.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import typing as t

from tap_restgeneric.errors import StreamError, stream_line
from tap_restgeneric.values import CursorType, parse_date

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from tap_restgeneric.values import Comparable


def lagged(value: t.Any, lag: float | None, floor: t.Any) -> t.Any:
    """The bookmark ``value`` moved back by ``lag``, not before ``floor`` (the initial value)."""
    if not lag or value is None:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        moved: t.Any = value - lag
    elif isinstance(value, str) and (parsed := parse_date(value)) is not None:
        is_date = len(value.strip()) == 10
        shifted = parsed - (datetime.timedelta(days=lag) if is_date else datetime.timedelta(seconds=lag))
        moved = shifted.date().isoformat() if is_date else _iso_like(shifted, value)
    else:
        return value
    if floor is None:
        return moved
    values = CursorType("")
    low, high = values.parse(floor), values.parse(moved)
    return floor if low is not None and high is not None and low[0] == high[0] and low[1] > high[1] else moved


def _iso_like(moment: datetime.datetime, like: str) -> str:
    text = moment.isoformat()
    return text.replace("+00:00", "Z") if like.strip().endswith(("Z", "z")) else text


@dataclasses.dataclass
class Window:
    """The records of a sync inside [start, end), by the cursor's values compared as ``cursor_type`` says."""

    cursor_type: CursorType
    start: t.Any
    end: t.Any = None
    start_open: bool = False
    end_closed: bool = False
    missing: str = "include"
    stream: str = ""
    #: Says a thing once per stream (``warn_once(topic, message)``).
    warn_once: Callable[[str, str], None] = lambda topic, message: None
    _start: Comparable | None = dataclasses.field(default=None, init=False)
    _end: Comparable | None = dataclasses.field(default=None, init=False)

    @classmethod
    def of(
        cls,
        incremental: t.Mapping[str, t.Any],
        start: t.Any,
        stream: str,
        cursor_type: CursorType,
        warn_once: Callable[[str, str], None] = lambda topic, message: None,
    ) -> Window:
        return cls(
            cursor_type=cursor_type,
            start=start,
            end=incremental.get("end_value"),
            start_open=incremental.get("range_start") == "open",
            end_closed=incremental.get("range_end") == "closed",
            missing=incremental.get("on_cursor_value_missing") or "include",
            stream=stream,
            warn_once=warn_once,
        )

    def __post_init__(self) -> None:
        # The tap checks state and config before the sync: a bound that does not parse here is a bug.
        self._start, self._end = (self._bound(name, value) for name, value in (("start", self.start), ("end", self.end)))

    def _bound(self, name: str, value: t.Any) -> Comparable | None:
        parsed = None if value is None else self.cursor_type.parse(value)
        if value is not None and parsed is None:
            raise StreamError(
                f"the incremental {name} value {value!r} is not {self.cursor_type.expected()} like cursor {self.cursor!r}",
                stream=self.stream,
            )
        return parsed

    @property
    def cursor(self) -> str:
        return self.cursor_type.field

    def keep(self, records: list[dict]) -> list[dict]:
        """The records inside the window (like dlt's incremental, whether or not the API filtered)."""
        if self.start is None and self.end is None and self.missing == "include":
            return records
        return [record for record in records if self._inside(record)]

    def _inside(self, record: dict) -> bool:
        value = record.get(self.cursor)
        if value is None:
            if self.missing == "raise":
                raise StreamError(
                    f"a record has no cursor field {self.cursor!r} (incremental.on_cursor_value_missing: raise)",
                    stream=self.stream,
                )
            return self.missing == "include"
        start, end = self._start, self._end
        if start is None and end is None:
            return True
        parsed = self.cursor_type.parse(value)
        if parsed is None or (start is not None and start[0] != parsed[0]) or (end is not None and end[0] != parsed[0]):
            bounds = " and ".join(
                f"{name} {given!r}" for name, given in (("start", self.start), ("end", self.end)) if given is not None
            )
            self.warn_once(
                "incomparable cursor",
                stream_line(
                    self.stream,
                    f"a record's cursor {self.cursor!r} value {value!r} cannot be compared with the "
                    f"incremental {bounds} (another kind of value); such records are emitted, not filtered",
                ),
            )
            return True
        if start is not None and (parsed[1] <= start[1] if self.start_open else parsed[1] < start[1]):
            return False
        return not (end is not None and (parsed[1] > end[1] if self.end_closed else parsed[1] >= end[1]))


def closest_field(cursor: str, records: list[dict]) -> str:
    """For a cursor none of ``records`` has: ``did you mean 'updated_at'?``, or the fields they have."""
    fields = sorted({str(field) for record in records for field in record})
    close = difflib.get_close_matches(cursor, fields, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    shown = ", ".join(fields[:20]) + (", …" if len(fields) > 20 else "")
    return f"the records' fields: {shown}" if fields else "the records have no fields"


@dataclasses.dataclass
class CursorWatch:
    """Whether a stream's records carry its cursor, said once each: a cursor in none of the records of
    the first page that has any is most likely misspelt (a warning names the closest field); a record
    without it later is one warning; the closing line says when the bookmark did not move."""

    stream: str
    cursor: str
    logger: logging.Logger
    #: A backfill (``end_value``) never moves the bookmark: nothing to say about it.
    backfill: bool = False
    _first_page_seen: bool = False
    _warned: bool = False
    #: A record with a cursor value was read (the bookmark moves).
    _seen: bool = False

    def page(self, records: list[dict]) -> None:
        """The records a page gave the stream (after its filters)."""
        if self._seen or not records:
            return
        if not self._first_page_seen:
            self._first_page_seen = True
            if not any(self.cursor in record for record in records):
                self._warned = True
                consequence = "records without it are emitted" if self.backfill else "records without it do not move the bookmark"
                found = f"in none of the {len(records)} records of the first page ({closest_field(self.cursor, records)})"
                self.logger.warning(
                    "%s", stream_line(self.stream, f"incremental.cursor_path {self.cursor!r} is {found}; {consequence}")
                )
        self._seen = any(record.get(self.cursor) is not None for record in records)

    def record_without_cursor(self, record: dict, key_of: t.Callable[[dict], t.Any]) -> None:
        """A record without a cursor value was emitted (``key_of`` names it): said once, unless the first
        page said it all."""
        if not self._warned:
            self._warned = True
            emitted = f"a record without its cursor field {self.cursor!r} (key {key_of(record)}) was emitted"
            self.logger.warning("%s", stream_line(self.stream, f"{emitted}; records without it do not move the bookmark"))

    def closing_note(self, records: int) -> str:
        """What the stream's closing line adds: that the bookmark did not move, when records came without it."""
        if self._seen or self.backfill or not records:
            return ""
        return f"; the bookmark did not move: no record had {self.cursor!r}"


#: Words in a parameter's name that say it orders the results (``sort``, ``order_by``, ``sortBy``).
_ORDER_WORDS = ("sort", "order")


def sorted_by_params(params: t.Mapping[str, t.Any] | None, cursor: str) -> bool:
    """Whether the request asks the API to sort by the cursor, ascending: a parameter named like
    ``sort``/``order_by`` whose value is the cursor (``updated_at``, ``+updated_at``,
    ``updated_at asc``, ``updated_at:asc``), and no parameter saying ``desc``. Then records arrive
    in cursor order and the bookmark can move with each one (as dlt's ``row_order: asc``)."""
    if not params:
        return False
    values = {str(name).lower(): value for name, value in params.items() if isinstance(value, str)}
    if any(value.strip().lower() in ("desc", "descending") for value in values.values()):
        return False
    for name, value in values.items():
        if not any(word in name for word in _ORDER_WORDS):
            continue
        field, _, direction = value.strip().replace(":", " ").partition(" ")
        if field.lstrip("+") == cursor and not field.startswith("-") and direction.strip().lower() in ("", "asc", "ascending"):
            return True
    return False


def unsorted_notice(stream: str, cursor: str) -> str:
    """What a stream whose records have no known order should say once: what it means, and the two
    ways to make its bookmark move with each record (README: Reliability, "A killed sync resumes")."""
    return stream_line(
        stream,
        f"records are not known to arrive in {cursor!r} order, so the bookmark moves only when "
        "the stream completes (a killed sync reads it again from the last bookmark); if the API returns them in "
        f"that order, set incremental.row_order: asc, or ask the API to sort in params (e.g. sort: {cursor})",
    )
