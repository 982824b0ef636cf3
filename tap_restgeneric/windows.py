"""Date windows and bookmarks with the arithmetic of Airbyte's ``DatetimeBasedCursor``.

In the CDK (7.x) a ``DatetimeBasedCursor`` runs as a ``ConcurrentCursor``; this module reproduces
what that cursor decides, checked against ``airbyte-cdk`` 7.39.1 (tests/test_windows.py):

- **the start** is the configured start (``MinMaxDatetime`` bounds applied, :func:`bounded_datetime`),
  or the bookmark when there is one at or after it; ``lookback`` moves back only a start taken from
  the bookmark, and never before the configured start;
- **windows** (:func:`iter_windows`): a non-final window is ``[s, s + step - granularity]``, the next
  starts at ``s + step``; the last ends at the end; no step: one window; a zero granularity
  (``PT0S``) is no granularity: windows share their boundaries;
- **the bookmark** (:class:`WindowBookmarks`): the newest cursor value read over the contiguous
  prefix of finished windows, never older than the start of the sync; windows may finish in any order;
- **which records a sync keeps** (:class:`RecordRange`): from the bookmark (less the lookback) to the
  end, both inclusive; a data feed stops paging at the first page whose last record is outside.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing as t

from tap_restgeneric.datetimes import (
    DEFAULT_DATETIME_FORMAT,
    Duration,
    format_datetime,
    is_zero_duration,
    parse_datetime_any,
)

#: How far apart two finished windows may be and still count as contiguous, when the cursor has no
#: granularity (the CDK's state converter's default).
DEFAULT_INCREMENT = datetime.timedelta(milliseconds=1)


def bounded_datetime(
    value: str,
    datetime_format: str | None = None,
    minimum: str | None = None,
    maximum: str | None = None,
    where: str = "start_datetime",
) -> datetime.datetime:
    """What a ``MinMaxDatetime`` evaluates to, given its rendered strings: ``value`` parsed with one
    format (its own, else its cursor's ``datetime_format``, else ``%Y-%m-%dT%H:%M:%S.%f%z``), raised
    to ``minimum`` and then lowered to ``maximum`` (each parsed with the same format; empty: none)."""
    fmt = datetime_format or DEFAULT_DATETIME_FORMAT
    moment = parse_datetime_any(value, [fmt], where)
    if minimum:
        moment = max(moment, parse_datetime_any(minimum, [fmt], f"{where}.min_datetime"))
    if maximum:
        moment = min(moment, parse_datetime_any(maximum, [fmt], f"{where}.max_datetime"))
    return moment


# ---------------------------------------------------------------------------------------------------------------
# clamping (DatetimeBasedCursor.clamping: windows aligned to days, weeks or months)


@dataclasses.dataclass(frozen=True)
class Clamping:
    """``clamping.target``: ``DAY``, ``WEEK`` (with ``weekday``, 0 = Monday) or ``MONTH``."""

    target: t.Literal["DAY", "WEEK", "MONTH"]
    weekday: int = 0

    def ceil(self, moment: datetime.datetime) -> datetime.datetime:
        """The first boundary at or after ``moment``."""
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.target == "DAY":
            return midnight if midnight == moment else midnight + datetime.timedelta(days=1)
        if self.target == "WEEK":
            return midnight + datetime.timedelta(days=(self.weekday - moment.weekday()) % 7)
        if moment.day == 1:
            return midnight
        return midnight.replace(year=midnight.year + midnight.month // 12, month=midnight.month % 12 + 1, day=1)

    def floor(self, moment: datetime.datetime) -> datetime.datetime:
        """The last boundary at or before ``moment``."""
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.target == "DAY":
            return midnight
        if self.target == "WEEK":
            ahead = (self.weekday - moment.weekday()) % 7
            return midnight + datetime.timedelta(days=ahead - 7 if ahead else 0)
        return midnight if moment.day == 1 else midnight.replace(day=1)

    @property
    def default_granularity(self) -> datetime.timedelta:
        """What the end is moved back by when the cursor has no granularity."""
        return datetime.timedelta(seconds=1) if self.target == "DAY" else datetime.timedelta(days=1)


# ---------------------------------------------------------------------------------------------------------------
# windows


@dataclasses.dataclass(frozen=True)
class Window:
    """One request window; both bounds are inclusive."""

    start: datetime.datetime
    end: datetime.datetime

    def contains(self, value: datetime.datetime) -> bool:
        return self.start <= value <= self.end

    def formatted(self, datetime_format: str) -> tuple[str, str]:
        """The bounds as sent (``stream_interval.start_time``/``end_time``)."""
        return format_datetime(self.start, datetime_format), format_datetime(self.end, datetime_format)


@dataclasses.dataclass(frozen=True)
class WindowSpec:
    """A cursor's window settings, evaluated.

    ``start``/``end`` are the configured start and end with their ``MinMaxDatetime`` bounds applied
    (the end: ``end_datetime``, else now, fixed once per sync)."""

    start: datetime.datetime
    end: datetime.datetime
    step: Duration | None = None
    granularity: Duration | None = None
    lookback: Duration | None = None
    #: ``is_compare_strictly``: no window when the start equals the end.
    compare_strictly: bool = False
    clamping: Clamping | None = None

    def __post_init__(self) -> None:
        if (self.step is None) != (self.granularity is None):
            raise ValueError(
                f"step and cursor_granularity go together: step is {self.step!r}, cursor_granularity is {self.granularity!r}"
            )

    @property
    def effective_granularity(self) -> Duration | None:
        """The granularity as the CDK uses it: a zero one (``PT0S``) is none."""
        return None if is_zero_duration(self.granularity) else self.granularity

    @property
    def effective_end(self) -> datetime.datetime:
        """The end windows reach and records are kept up to (clamping moves it to the boundary before)."""
        if self.clamping is None:
            return self.end
        return self.clamping.floor(self.end) - (self.effective_granularity or self.clamping.default_granularity)

    def sync_start(self, bookmark: datetime.datetime | None) -> datetime.datetime:
        """Where this sync starts: the bookmark if it is at or after the configured start."""
        return bookmark if bookmark is not None and bookmark >= self.start else self.start

    def align(self, moment: datetime.datetime) -> datetime.datetime:
        """A window bound moved to the next clamping boundary (unchanged without clamping)."""
        return moment if self.clamping is None else self.clamping.ceil(moment)


def _advance(moment: datetime.datetime, step: Duration, end: datetime.datetime) -> datetime.datetime:
    """``moment + step``; past the calendar's last year, the end (as the CDK does)."""
    try:
        return moment + step
    except (OverflowError, ValueError):
        return end


def iter_windows(spec: WindowSpec, bookmark: datetime.datetime | None = None) -> t.Iterator[Window]:
    """The windows a sync requests, in order (lazily: a small step over a long range is many)."""
    upper = spec.effective_end
    lower = spec.sync_start(bookmark)
    if not is_zero_duration(spec.lookback):
        lower = _advance(lower, -t.cast("Duration", spec.lookback), lower)
    granularity = spec.effective_granularity
    if lower > upper or (lower == upper and granularity is None) or upper < spec.start:
        return
    lower = spec.align(max(lower, spec.start))
    if lower > upper or (lower == upper and spec.compare_strictly):
        return
    step = spec.step
    if step is None or is_zero_duration(step) or _advance(lower, step, upper) >= upper:
        yield Window(lower, upper if granularity is not None else spec.align(upper))
        return
    current = lower
    while True:
        bound = min(_advance(current, step, upper), upper)
        clamped = spec.align(bound) if bound != upper else bound
        last = bound >= upper or clamped == upper
        first = spec.align(current)
        if first >= clamped:
            return
        yield Window(first, clamped - granularity if granularity is not None and not last else clamped)
        if last:
            return
        current = clamped


# ---------------------------------------------------------------------------------------------------------------
# bookmarks


def read_back_through(
    datetime_format: str, input_formats: t.Sequence[str] = ()
) -> t.Callable[[datetime.datetime], datetime.datetime]:
    """A window bound as the CDK's state sees it: written in ``datetime_format``, read with
    ``cursor_datetime_formats`` then ``datetime_format`` (a coarse format loses precision)."""
    formats = [*input_formats, datetime_format]
    return lambda moment: parse_datetime_any(format_datetime(moment, datetime_format), formats, "window bound")


@dataclasses.dataclass
class _Interval:
    start: datetime.datetime
    end: datetime.datetime
    newest: datetime.datetime | None


class WindowBookmarks:
    """The bookmark to checkpoint as windows finish, possibly out of order (read concurrently).

    It is the newest cursor value read over the contiguous prefix of finished windows (the prefix
    starts with what the bookmark already covered), never older than the sync's start: a window that
    finished after an unfinished one moves nothing until the gap is closed. Two windows are contiguous
    when the end of one plus the granularity (1 ms without one) reaches the start of the next, both
    bounds read back as the CDK's state does (``read_back``, see :func:`read_back_through`)."""

    def __init__(
        self,
        spec: WindowSpec,
        bookmark: datetime.datetime | None = None,
        read_back: t.Callable[[datetime.datetime], datetime.datetime] = lambda moment: moment,
    ) -> None:
        start = spec.sync_start(bookmark)
        self._increment = spec.effective_granularity or DEFAULT_INCREMENT
        self._read_back = read_back
        self._merged = [_Interval(spec.start, start, start)]
        self._newest: dict[Window, datetime.datetime] = {}

    def observe(self, window: Window, value: datetime.datetime) -> None:
        """A record of ``window`` with this cursor value was written."""
        newest = self._newest.get(window)
        if newest is None or value > newest:
            self._newest[window] = value

    def finish(self, window: Window) -> datetime.datetime:
        """``window`` was read to its end; returns the bookmark to checkpoint now."""
        interval = _Interval(self._read_back(window.start), self._read_back(window.end), self._newest.pop(window, None))
        intervals = sorted([*self._merged, interval], key=lambda i: (i.start, i.end))
        merged = [intervals[0]]
        for current in intervals[1:]:
            last = merged[-1]
            if last.end + self._increment >= current.start:
                last.end = max(last.end, current.end)
                newest = [value for value in (last.newest, current.newest) if value is not None]
                last.newest = max(newest) if newest else None
            else:
                merged.append(current)
        self._merged = merged
        return self.bookmark

    @property
    def bookmark(self) -> datetime.datetime:
        first = self._merged[0]
        return first.newest if first.newest is not None else first.start

    @property
    def pending(self) -> int:
        """Finished windows that wait for an earlier one before they count."""
        return len(self._merged) - 1


# ---------------------------------------------------------------------------------------------------------------
# records kept


@dataclasses.dataclass(frozen=True)
class RecordRange:
    """The cursor values a sync keeps (client-side incremental) and a data feed pages through.

    The CDK checks a record against the sync's whole range, not its window's: an API that ignores
    the window returns every record in every window, and each is kept each time."""

    lower: datetime.datetime
    upper: datetime.datetime

    @classmethod
    def of(cls, spec: WindowSpec, bookmark: datetime.datetime | None = None) -> RecordRange:
        start = spec.sync_start(bookmark)
        lower = start
        if not is_zero_duration(spec.lookback):
            lower = max(_advance(start, -t.cast("Duration", spec.lookback), start), min(start, spec.start))
        return cls(lower, spec.effective_end)

    def admits(self, value: datetime.datetime | None) -> bool:
        """Whether a record with this cursor value is kept (bounds inclusive); a record without a
        cursor value is kept, as the CDK keeps it."""
        return value is None or self.lower <= value <= self.upper

    def stops_feed(self, last_value: datetime.datetime | None) -> bool:
        """``is_data_feed``: whether paging stops after a page whose last record has this value."""
        return not self.admits(last_value)
