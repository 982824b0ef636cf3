"""The records of one context, page by page, as the stream writes them.

For each page: a new ``time_extracted`` for its records, the parent's fields copied in (a child's
``include_from_parent``), records outside the incremental window dropped, the processing steps, the
primary key required, the cursor watched; then the children of these records are requested ahead
(``prefetch``), and the records go to the SDK. A top-level stream says its closing line when its
pages end (a child's, once for all its parents, when the parent's sync is done).
"""

from __future__ import annotations

import dataclasses
import typing as t

from tap_restgeneric.streams.incremental import Window

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from tap_restgeneric.paging.page import Page
    from tap_restgeneric.scheduling.scheduler import Scheduler
    from tap_restgeneric.source.incremental_config import IncrementalConfig
    from tap_restgeneric.source.parent_link import ParentLink
    from tap_restgeneric.source.window_config import Slice
    from tap_restgeneric.streams.emitter import RecordEmitter
    from tap_restgeneric.streams.incremental import CursorWatch
    from tap_restgeneric.streams.keys import RequiredKey
    from tap_restgeneric.streams.notes import Notes
    from tap_restgeneric.streams.pages import PageSource
    from tap_restgeneric.streams.processing import Steps
    from tap_restgeneric.streams.progress import Progress
    from tap_restgeneric.values import CursorType


@dataclasses.dataclass(kw_only=True)
class RecordSource:
    """The records of one stream's contexts (see the module docstring)."""

    stream: str
    link: ParentLink | None
    incremental: IncrementalConfig | None
    #: How the cursor's values compare (asked for when first needed: the stream's schema decides it).
    cursor_type: Callable[[], CursorType]
    steps: Steps
    key: RequiredKey
    cursor_watch: CursorWatch | None
    progress: Progress
    emitter: RecordEmitter
    notes: Notes
    #: The stream's pages, fetched here when the scheduler did not request them ahead.
    pages: PageSource
    scheduler: Scheduler
    max_concurrency: int

    def of(
        self,
        context: t.Any,
        start_of: Callable[[t.Any], t.Any],
        on_request: Callable[[], None],
        prefetch: Callable[[list[dict], t.Any], None],
        children: list[str],
    ) -> Iterator[dict]:
        """The records of ``context``: from the pages the scheduler requested ahead, else fetched from the
        context's start (``start_of``); ``on_request`` counts each page read, ``prefetch`` is given each
        page's records for the children (named ``children``) of this stream."""
        scheduler = self.scheduler
        fetched = scheduler.take(self.stream, context)  # the pages requested ahead, if they were
        start = fetched[0] if fetched else start_of(context)
        if fetched:
            pages: Iterable[Page] = counted(fetched[1], on_request)
        else:
            concurrency = self.max_concurrency
            pages = self.pages.fetcher(context, start, concurrency=concurrency, on_request=on_request).pages()
        try:
            yield from self.read(context, start, pages, prefetch)
        except BaseException:
            scheduler.stop_streams_ahead()  # the sync is failing: nobody will read the later streams' pages
            raise
        finally:
            scheduler.stop_children(children)

    def read(
        self,
        context: t.Any,
        start: t.Any,
        pages: Iterable[Page],
        prefetch: Callable[[list[dict], t.Any], None],
        *,
        closing: bool = True,
        piece: Slice | None = None,
    ) -> Iterator[dict]:
        """The records of ``pages``, read for ``context`` from the incremental ``start`` (``closing``: a
        top-level stream's closing line follows; not after one slice of a windowed stream's; ``piece``:
        the partition and window they were requested for, which the processing steps see)."""
        slice_context = None
        if piece is not None:
            slice_context = {
                "partition": dict(piece.partition),
                "incremental": {"start_value": piece.start_text, "end_value": piece.end_text},
            }
        window = self.window(start)
        label = self.link.label(context) if self.link is not None else ""
        progress = self.progress
        for page_number, page in enumerate(progress.track(pages), 1):
            self.emitter.new_page()  # the records of one page share one time_extracted
            records = self.link.with_included(page.records, context) if self.link is not None else page.records
            if window is not None:
                records = window.keep(records)
            records = self.processed(records, slice_context)
            records = self.key.kept(records, page_number, label)
            if self.cursor_watch is not None:
                self.cursor_watch.page(records)
            prefetch(records, context)
            progress.records += len(records)
            yield from records
        if self.link is None and closing:
            self.say_closing_line()

    def window(self, start: t.Any) -> Window | None:
        """The incremental window of a context starting at ``start`` (None: a full-table stream)."""
        if self.incremental is None:
            return None
        return Window.of(self.incremental, start, self.stream, self.cursor_type(), self.notes.warn_once)

    def as_written(self, records: list[dict], context: t.Any) -> list[dict]:
        """A page's records as they will be written, before the window and the key (discovery's sample,
        the doctor's): the parent's fields copied in, the processing steps applied."""
        included = self.link.with_included(records, context) if self.link is not None else records
        return self.processed(included)

    def processed(self, records: list[dict], slice_context: t.Mapping[str, t.Any] | None = None) -> list[dict]:
        """dlt's processing_steps (declared: filter, map, exclude), on the records selected from a
        page, before the SDK sees them (so a parent's filter also decides which records have children)."""
        if not self.steps:
            return records
        applied = (self.steps.apply(record, slice_context) for record in records)
        return [record for record in applied if record is not None]

    def say_closing_line(self) -> None:
        """The stream's closing line (see ``progress``), with what its cursor did."""
        progress = self.progress
        note = self.cursor_watch.closing_note(progress.records) if self.cursor_watch is not None else ""
        self.notes.logger.info(progress.summary(self.pages.sender.retried, note))


def counted(pages: Iterator[Page], count: Callable[[], None]) -> Iterator[Page]:
    """``pages``, calling ``count()`` as each is read (pages the scheduler requested ahead)."""
    for page in pages:
        count()
        yield page
