"""dlt's incremental window: which records of a sync are emitted, and where it starts.

- the start is the bookmark (less ``lag``: seconds for date-times, days for dates, units for
  numbers, never before ``initial_value``), else ``initial_value``, else ``start_date``;
- a run with ``end_value`` is a backfill: it starts at ``initial_value`` and never moves the
  bookmark (dlt keeps no state for it);
- records before the start are dropped (``range_start: open`` drops the start value too), and
  records at or after ``end_value`` (``range_end: closed`` keeps the end value itself);
- a record without the cursor is emitted (``on_cursor_value_missing: include``, the tap's
  default), dropped (``exclude``) or stops the stream (``raise``, dlt's default);
- a cursor that no record has (``updatedAt`` for ``updated_at``) never moves the bookmark:
  ``CursorWatch`` says so, naming the closest field the records have.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import typing as t

from tap_restgeneric.errors import StreamError
from tap_restgeneric.values import parse_date

if t.TYPE_CHECKING:
    import logging


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
    return max(moved, floor) if floor is not None and type(floor) is type(moved) else moved


def _iso_like(moment: datetime.datetime, like: str) -> str:
    text = moment.isoformat()
    return text.replace("+00:00", "Z") if like.strip().endswith(("Z", "z")) else text


@dataclasses.dataclass(frozen=True)
class Window:
    cursor: str
    start: t.Any
    end: t.Any = None
    start_open: bool = False
    end_closed: bool = False
    missing: str = "include"
    stream: str = ""

    @classmethod
    def of(cls, incremental: t.Mapping[str, t.Any], start: t.Any, stream: str) -> Window:
        return cls(
            cursor=incremental["cursor_path"],
            start=start,
            end=incremental.get("end_value"),
            start_open=incremental.get("range_start") == "open",
            end_closed=incremental.get("range_end") == "closed",
            missing=incremental.get("on_cursor_value_missing") or "include",
            stream=stream,
        )

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
                    f"stream '{self.stream}': a record has no cursor field {self.cursor!r} "
                    "(incremental.on_cursor_value_missing: raise)"
                )
            return self.missing == "include"
        start, end = self.start, self.end
        if start is not None and type(value) is type(start) and (value <= start if self.start_open else value < start):
            return False
        return not (end is not None and type(value) is type(end) and (value > end if self.end_closed else value >= end))


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
                self.logger.warning(
                    "stream '%s': incremental.cursor_path %r is in none of the %s records of the first page (%s); %s",
                    self.stream,
                    self.cursor,
                    len(records),
                    closest_field(self.cursor, records),
                    "records without it are emitted" if self.backfill else "records without it do not move the bookmark",
                )
        self._seen = any(record.get(self.cursor) is not None for record in records)

    def record_without_cursor(self, record: dict, key_of: t.Callable[[dict], t.Any]) -> None:
        """A record without a cursor value was emitted (``key_of`` names it): said once, unless the first
        page said it all."""
        if not self._warned:
            self._warned = True
            self.logger.warning(
                "stream '%s': a record without its cursor field %r (key %s) was emitted; records without it do not "
                "move the bookmark",
                self.stream,
                self.cursor,
                key_of(record),
            )

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
    return (
        f"stream '{stream}': records are not known to arrive in {cursor!r} order, so the bookmark moves only when "
        "the stream completes (a killed sync reads it again from the last bookmark); if the API returns them in "
        f"that order, set incremental.row_order: asc, or ask the API to sort in params (e.g. sort: {cursor})"
    )
