"""The tap's scheduler: which pages are requested before the SDK reaches them.

The SDK syncs one stream after another, and a child stream one parent record at a time. The tap
makes one ``Scheduler``, tells it its streams, and hands it to every stream; the streams ask it for
the pages of a context (``take``) and tell it what they read (``prefetch``: a parent page's child
contexts) and when they stop. It decides, under one byte budget (``max_buffer_mb``):

- streams at once: when the first top-level stream starts, the pages of the streams the tap says
  come after it (``upcoming``) are requested on up to ``stream_concurrency`` threads, each stream's
  from its own start value, and handed to the stream when its turn comes;
- children of upcoming parents: when a parent page arrives, its children's pages are requested on up
  to ``max_concurrency`` threads (one fan-out per child stream), and handed to the child when the SDK
  syncs it for that parent.

The output is a sequential sync's: records and STATE are written only when the SDK reaches them.
"""

from __future__ import annotations

import dataclasses
import typing as t

from tap_restgeneric.scheduling.fanout import FanOut

if t.TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Iterable, Iterator

    from tap_restgeneric.paging.page import Page
    from tap_restgeneric.scheduling.fanout import PageBudget

    #: A stream's pages of one context, from a start value; the event is set once nobody will read them.
    Pages = Callable[[t.Any, t.Any, threading.Event], Iterator[Page]]


@dataclasses.dataclass(frozen=True)
class _Stream:
    pages: Pages
    #: The incremental start of a context (read from STATE on the stream's thread, before it is fetched).
    start: Callable[[t.Any], t.Any]


class Scheduler:
    """See the module docstring. ``upcoming()`` is the tap's top-level streams that will sync, in order."""

    def __init__(
        self, *, stream_concurrency: int, max_concurrency: int, budget: PageBudget, upcoming: Callable[[], list[str]]
    ) -> None:
        self.max_concurrency = max_concurrency
        self.budget = budget
        self.upcoming = upcoming
        self._streams: dict[str, _Stream] = {}
        #: Each child stream's start of a context, and the fan-out that fetches its pages.
        self._children: dict[str, tuple[Callable[[t.Any], t.Any], FanOut]] = {}
        self._ahead = FanOut("streams", stream_concurrency, self._stream_pages, budget=budget)
        self._ahead_started = False

    def add_stream(self, name: str, pages: Pages, start: Callable[[t.Any], t.Any]) -> None:
        """A top-level stream, whose pages may be requested while the streams before it are written."""
        self._streams[name] = _Stream(pages, start)

    def add_child(
        self, name: str, pages: Pages, start: Callable[[t.Any], t.Any], key: Callable[[t.Mapping[str, t.Any]], t.Any] | None
    ) -> None:
        """A child stream, whose pages for upcoming parents may be requested while a parent's children are
        written (``key``: what makes two parents one job, e.g. an incremental child's bookmark partition).
        With ``max_concurrency`` 1 nothing is requested ahead, and no child context is built to be thrown away."""
        if self.max_concurrency > 1:
            self._children[name] = (start, FanOut(name, self.max_concurrency, pages, key, self.budget))

    def slices(self, name: str, pages: Pages) -> FanOut:
        """The fan-out of a stream's date windows and partitions (jobs keyed by their slice's context):
        fetched on up to ``max_concurrency`` threads under the one byte budget, read in order."""
        return FanOut(f"{name}-slices", self.max_concurrency, pages, budget=self.budget)

    def fans_out(self, name: str) -> bool:
        """Whether child stream ``name``'s pages are requested ahead of its parents' turn."""
        return name in self._children

    def take(self, name: str, context: t.Any) -> tuple[t.Any, Iterator[Page]] | None:
        """The start and the pages requested ahead for ``context`` of stream ``name`` (None: they were not;
        the stream fetches them itself). The first top-level stream to ask starts the streams after it."""
        if context is None and name in self._streams:
            if not self._ahead_started:
                self._ahead_started = True
                later = [other for other in self.upcoming() if other != name and other in self._streams]
                self._ahead.submit(({"stream": other}, self._streams[other].start(None)) for other in later)
            return self._ahead.take({"stream": name})
        child = self._children.get(name)
        return child[1].take(context) if child is not None and context else None

    def prefetch(self, children: Iterable[str], contexts: list[dict]) -> None:
        """Request the pages of these child streams for the child contexts of a parent page's records."""
        for name in children:
            child = self._children.get(name)
            if child is not None and contexts:
                start, fanout = child
                fanout.submit((context, start(context)) for context in contexts)

    def stop_children(self, children: Iterable[str]) -> None:
        """A parent's sync ended (or failed): nobody reads its children's pages requested ahead."""
        for name in children:
            child = self._children.get(name)
            if child is not None:
                child[1].cancel()

    def stop_streams_ahead(self) -> None:
        """The sync is failing: nobody will read the later streams' pages."""
        self._ahead.cancel()

    def _stream_pages(self, context: t.Mapping[str, t.Any], start: t.Any, cancelled: threading.Event) -> Iterator[Page]:
        return self._streams[context["stream"]].pages(None, start, cancelled)
