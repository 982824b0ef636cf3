"""A resource read by date windows and list partitions: one request range (a ``Slice``) after another.

Each partition (the cartesian product of the resource's lists; one, empty, without lists) keeps its
own bookmark and its own windows (``windows``: Airbyte's ``DatetimeBasedCursor`` arithmetic). Each
window pages to its end, then the next starts; the slices after the one being read are fetched
ahead on up to ``max_concurrency`` threads (the scheduler's fan-out), and their records are written
in order, so the output is a sequential sync's. After each finished window the partition's bookmark
(``WindowBookmarks``: the newest cursor over the contiguous prefix of finished windows) goes out in a
STATE at once (in a tree, when its throttle allows): a killed sync resumes from the last finished
window even when records are unsorted.
A sorted stream also checkpoints inside a window. ``is_data_feed`` stops paging at a page whose last
record is outside the sync's range; ``is_client_side_incremental`` drops the records outside it.

The bookmarks live in the stream's state as an object keyed by partition
(``partition_bookmarks.{<partition as JSON>: {"cursor": …}}``): Meltano's state merge deep-merges
objects, so partitions absent from a run keep theirs; at most ``max_partition_bookmarks`` are kept,
and a partition beyond that is read from the configured start each sync (warned once).
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import typing as t

from tap_restgeneric.datetimes import ISO_8601, DatetimeParseError, format_datetime, parse_datetime_any
from tap_restgeneric.errors import StreamError, stream_line
from tap_restgeneric.source.window_config import Slice, partition_product
from tap_restgeneric.state import partition_key
from tap_restgeneric.streams.records import counted
from tap_restgeneric.windows import RecordRange, Window, WindowBookmarks, WindowSpec, iter_windows

if t.TYPE_CHECKING:
    import datetime
    import threading
    from collections.abc import Callable, Iterable, Iterator

    from tap_restgeneric.paging.page import Page
    from tap_restgeneric.scheduling.fanout import FanOut
    from tap_restgeneric.scheduling.scheduler import Scheduler
    from tap_restgeneric.settings import Settings
    from tap_restgeneric.source.window_config import ListPartition, WindowConfig
    from tap_restgeneric.streams.notes import Notes
    from tap_restgeneric.streams.pages import PageSource
    from tap_restgeneric.streams.records import RecordSource

#: The key of a stream's state that holds its partitions' bookmarks.
PARTITION_BOOKMARKS = "partition_bookmarks"
#: Slices submitted to the fan-out ahead of the one read, per thread (what waits stays bounded).
SLICES_AHEAD = 4
#: Records between checkpoints inside a window of a sorted stream (as the stream's STATE_MSG_FREQUENCY).
SORTED_CHECKPOINT_EVERY = 1000


class PartitionBookmarks:
    """``state["partition_bookmarks"]``: each partition's bookmark, written in ``datetime_format`` and
    compared as parsed values (``%d/%m/%Y`` sorts wrong as text); at most ``cap`` partitions."""

    def __init__(self, stream: str, state: dict, windows: WindowConfig, cap: int, notes: Notes) -> None:
        self.stream = stream
        self.table: dict[str, dict] = state.setdefault(PARTITION_BOOKMARKS, {})
        self.windows = windows
        self.cap = cap
        self.notes = notes

    def get(self, key: str) -> datetime.datetime | None:
        held = self.table.get(key)
        if not held or held.get("cursor") is None:
            return None
        try:
            return parse_datetime_any(held["cursor"], self.windows.parse_formats, "bookmark")
        except DatetimeParseError as exc:
            raise StreamError(f"state partition_bookmarks[{key!r}]: {exc}", stream=self.stream) from None

    def put(self, key: str, moment: datetime.datetime) -> bool:
        """Move ``key``'s bookmark to ``moment`` if it is newer (False: nothing changed)."""
        if key not in self.table and len(self.table) >= self.cap:
            self.notes.warn_once(
                "partition cap",
                stream_line(
                    self.stream,
                    f"more than {self.cap:,} partitions (max_partition_bookmarks): further partitions keep no "
                    "bookmark and are read from the configured start each sync",
                ),
            )
            return False
        held = self.get(key)
        if held is not None and held >= moment:
            return False
        self.table[key] = {"cursor": format_datetime(moment, self.windows.datetime_format)}
        return True


@dataclasses.dataclass
class _Plan:
    """One partition of a sync: its key, values, windows and bookmark."""

    key: str
    partition: dict[str, str]
    windows: Iterator[Window | None]
    bookmarks: WindowBookmarks | None = None
    range: RecordRange | None = None


@dataclasses.dataclass(kw_only=True)
class SliceReads:
    """The records of a resource with date windows or list partitions (see the module docstring)."""

    stream: str
    windows: WindowConfig | None
    partitions: list[ListPartition]
    settings: Settings
    pages: PageSource
    records: RecordSource
    scheduler: Scheduler
    notes: Notes
    is_sorted: bool
    _slices_ahead: FanOut | None = dataclasses.field(default=None, init=False, repr=False)

    def spec(self) -> WindowSpec | None:
        """The window settings, evaluated with the sync's now (None: partitions without windows)."""
        windows = self.windows
        if windows is None:
            return None
        formats = windows.parse_formats
        if windows.start is not None:
            start = parse_datetime_any(windows.start, formats, "incremental.initial_value")
        elif self.settings.start_date:
            start = parse_datetime_any(self.settings.start_date, (ISO_8601, *formats), "start_date")
        else:
            raise StreamError(
                "date windows need a start: set incremental.initial_value or the start_date setting", stream=self.stream
            )
        if windows.min_datetime is not None:
            start = max(start, parse_datetime_any(windows.min_datetime, formats, "incremental.min_datetime"))
        if windows.max_datetime is not None:
            start = min(start, parse_datetime_any(windows.max_datetime, formats, "incremental.max_datetime"))
        end = parse_datetime_any(windows.end, formats, "incremental.end_value") if windows.end is not None else self.settings.now
        return WindowSpec(start=start, end=end, step=windows.step, granularity=windows.granularity, lookback=windows.lookback)

    def saved(self, state: dict) -> PartitionBookmarks | None:
        """The partitions' bookmarks in a stream's (or a parent's) ``state`` (None: no windows)."""
        if self.windows is None:
            return None
        return PartitionBookmarks(self.stream, state, self.windows, self.settings.max_partition_bookmarks, self.notes)

    def plans(self, saved: PartitionBookmarks | None) -> Iterator[_Plan]:
        """Each partition's plan, from its bookmark in ``saved``."""
        spec = self.spec()
        for partition in partition_product(self.partitions):
            key = partition_key(partition)
            if spec is None or saved is None:
                yield _Plan(key, partition, iter([None]))
                continue
            bookmark = None if saved.windows.backfill else saved.get(key)
            yield _Plan(
                key, partition, iter_windows(spec, bookmark), WindowBookmarks(spec, bookmark), RecordRange.of(spec, bookmark)
            )

    def piece(self, plan: _Plan, window: Window | None) -> Slice:
        """What the requests of one partition's window carry."""
        injections = [
            (p.option.inject_into, p.option.field_name, plan.partition[p.name]) for p in self.partitions if p.option is not None
        ]
        windows = self.windows
        if window is None or windows is None:
            return Slice(plan.partition, injections=tuple(injections))
        for option, moment in ((windows.start_option, window.start), (windows.end_option, window.end)):
            if option is not None:
                injections.append(
                    (
                        option.inject_into,
                        option.field_name,
                        format_datetime(moment, option.datetime_format or windows.datetime_format),
                    )
                )
        start_text, end_text = window.formatted(windows.datetime_format)
        return Slice(plan.partition, window.start, window.end, tuple(injections), start_text, end_text)

    def first(self) -> Slice | None:
        """The first slice a first sync requests (discovery samples it for a schema)."""
        for plan in self.plans(self.saved({})):
            for window in plan.windows:
                return self.piece(plan, window)
        return None

    def describe(self, state: dict, most: int = 20) -> list[str]:
        """What a sync would request, per partition (the doctor's): its windows' first, last and count
        (the first ``most`` partitions, then how many more)."""
        lines = []
        count = len(partition_product(self.partitions))
        for plan in itertools.islice(self.plans(self.saved(state)), most):
            name = ", ".join(f"{k}={v}" for k, v in plan.partition.items()) or "(one partition)"
            first = last = None
            windows = 0
            for window in plan.windows:  # counted, not kept: a small step over years is many
                if window is not None:
                    first, last, windows = first or window, window, windows + 1
            if first is None or last is None or self.windows is None:
                lines.append(f"partition {name}" if self.windows is None else f"partition {name}: no window to request")
                continue
            (start, end), (last_start, last_end) = (
                first.formatted(self.windows.datetime_format),
                last.formatted(self.windows.datetime_format),
            )
            lines.append(f"partition {name}: {windows} windows, first {start} .. {end}, last {last_start} .. {last_end}")
        if count > most:
            lines.append(f"... and {count - most:,} more partitions")
        return lines

    def read(
        self,
        context: t.Any,
        state: dict,
        checkpoint: Callable[[], None],
        on_request: Callable[[], None],
        prefetch: Callable[[list[dict], t.Any], None],
        children: list[str],
    ) -> Iterator[dict]:
        """The records of every partition's windows, in order; ``checkpoint()`` writes STATE now, ``prefetch``
        requests the children (named ``children``) of a page's records, as ``RecordSource.of``."""
        fanout, saved = self._fanout(), self.saved(state)
        slices = ((plan, window) for plan in self.plans(saved) for window in plan.windows)
        ahead: collections.deque[tuple[_Plan, Window | None, Slice, dict]] = collections.deque()
        try:
            while True:
                for plan, window in slices:
                    piece = self.piece(plan, window)
                    job = {"context": context, "partition": plan.key, "start": str(piece.start), "end": str(piece.end)}
                    ahead.append((plan, window, piece, job))
                    fanout.submit([(job, piece)])
                    if len(ahead) >= max(1, self.settings.max_concurrency) * SLICES_AHEAD:
                        break
                if not ahead:
                    break
                plan, window, piece, job = ahead.popleft()
                taken = fanout.take(job)
                if taken is not None:
                    pages: Iterable[Page] = counted(taken[1], on_request)
                else:
                    concurrency = self.settings.max_concurrency
                    pages = self.pages.fetcher(context, None, concurrency=concurrency, on_request=on_request, piece=piece).pages()
                yield from self._window(context, plan, window, pages, prefetch, checkpoint, saved, piece)
        except BaseException:
            self.scheduler.stop_streams_ahead()  # the sync is failing: nobody will read the later streams' pages
            raise
        finally:
            fanout.cancel()
            self.scheduler.stop_children(children)
        if self.pages.link is None:  # (a child's closing line is said once for all its parents)
            self.records.say_closing_line()

    def _fanout(self) -> FanOut:
        """The stream's fan-out of slices (one for all its contexts: a child's parents share its threads)."""
        if self._slices_ahead is None:

            def fetch(job: t.Mapping[str, t.Any], piece: Slice, cancelled: threading.Event) -> Iterator[Page]:
                return self.pages.fetcher(job["context"], None, concurrency=1, abandoned=cancelled, piece=piece).pages()

            self._slices_ahead = self.scheduler.slices(self.stream, fetch)
        return self._slices_ahead

    def _window(
        self,
        context: t.Any,
        plan: _Plan,
        window: Window | None,
        pages: Iterable[Page],
        prefetch: Callable[[list[dict], t.Any], None],
        checkpoint: Callable[[], None],
        saved: PartitionBookmarks | None,
        piece: Slice,
    ) -> Iterator[dict]:
        windows, bookmarks = self.windows, plan.bookmarks
        if windows is None or window is None or bookmarks is None or saved is None:
            yield from self.records.read(context, None, pages, prefetch, closing=False, piece=piece)
            return
        newest = None
        checkpoints = self.is_sorted and not windows.backfill  # the window's records checkpoint as they go
        read = self.records.read(context, None, self._bounded(plan, pages), prefetch, closing=False, piece=piece)
        for count, record in enumerate(read, 1):
            value = self.cursor(record)
            if value is not None and self.is_sorted and newest is not None and value < newest:
                raise StreamError(
                    f"records are not in {windows.cursor_field!r} order as row_order (or a sort parameter) says: "
                    f"{record[windows.cursor_field]!r} after {format_datetime(newest, windows.datetime_format)!r}",
                    stream=self.stream,
                )
            if value is not None:
                bookmarks.observe(window, value)
                newest = value if newest is None or value > newest else newest
            yield record
            if checkpoints and count % SORTED_CHECKPOINT_EVERY == 0 and newest is not None and saved.put(plan.key, newest):
                checkpoint()  # sorted: every record up to this one was written
        bookmark = bookmarks.finish(window)
        if not windows.backfill and saved.put(plan.key, bookmark):
            checkpoint()

    def cursor(self, record: t.Mapping[str, t.Any]) -> datetime.datetime | None:
        """A record's cursor, parsed (None: it has none); a value no format reads stops the stream."""
        windows = t.cast("WindowConfig", self.windows)
        value = record.get(windows.cursor_field)
        if value is None:
            return None
        try:
            return parse_datetime_any(value, windows.parse_formats, f"cursor {windows.cursor_field!r} value")
        except DatetimeParseError as exc:
            raise StreamError(str(exc), stream=self.stream) from None

    def _bounded(self, plan: _Plan, pages: Iterable[Page]) -> Iterator[Page]:
        """A data feed's stop and client-side filtering, by the sync's range."""
        windows, kept = t.cast("WindowConfig", self.windows), plan.range
        for page in pages:
            stop = False
            if kept is not None and windows.is_data_feed and page.records:
                stop = kept.stops_feed(self.cursor(page.records[-1]))
            if kept is not None and windows.is_client_side:
                page.records = [record for record in page.records if kept.admits(self.cursor(record))]
            yield page
            if stop:
                return
