"""Parent and child streams: what the SDK does per parent record, kept bounded.

A child resource is an SDK child stream: for each parent record the parent builds one child context
(:func:`~tap_restgeneric.source.parent_link.child_context`) and the SDK syncs each selected child
with it, the parent's records being read even when the parent itself is not selected. An incremental
child keeps one bookmark per parent (state partitioned by the parent fields it reads); any other child
keeps one stream-level state.

SDK behaviours that would not scale to many parents are changed by the stream's hooks, each deciding
with one of these:

- The SDK writes the whole STATE after every child context, and with one partition per parent that
  is quadratic in the parents (100,000 parents of 100 bytes each: 10 MB per message). Streams of a
  tree write an interim STATE at most once per ``CHILD_STATE_INTERVAL`` seconds, or twenty times the
  last write's cost (``StateThrottle``); the top stream writes it when it is done, so the last STATE
  covers every record written.
- It looks partitions up by scanning a list, for every record: ``IndexedStateManager`` keeps them in
  a dict too.
- It writes the SCHEMA (and ACTIVATE_VERSION) each time a child is synced, once per parent: a child
  writes them when they change (``SentSchemas``, ``FullTableVersion``).

The partitions kept are capped by the ``max_parent_bookmarks`` setting (STATE stays bounded): a parent
beyond the cap keeps no bookmark, so its children are read from the start value each sync (sent
again, never skipped), with one warning (``ParentBookmarks``). A parent without child records keeps
none either.
"""

from __future__ import annotations

import contextlib
import time
import typing as t

from tap_restgeneric.errors import stream_line
from tap_restgeneric.source.parent_link import ParentFieldError, child_context

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tap_restgeneric.scheduling.scheduler import Scheduler
    from tap_restgeneric.source.parent_link import ParentLink
    from tap_restgeneric.streams.notes import Notes
    from tap_restgeneric.streams.partitions import IndexedStateManager

#: Seconds between the interim STATE messages of a stream in a tree.
CHILD_STATE_INTERVAL = 1.0


class StateThrottle:
    """When a stream of a tree may write an interim STATE: writing it costs more as parents add up (copied,
    redacted, encoded each time), so at most once per ``CHILD_STATE_INTERVAL`` or twenty times the last
    write's cost (at most 5 % of the time)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._last = 0.0
        self._cost = 0.0

    def write(self, write_state: Callable[[], None]) -> None:
        """``write_state()``, if it is time (else nothing: a later STATE covers these records)."""
        started = self.clock()
        if started - self._last < max(CHILD_STATE_INTERVAL, 20 * self._cost):
            return
        write_state()
        self._last = self.clock()
        self._cost = self._last - started


class SentSchemas:
    """The SCHEMA messages a stream last wrote: a child's go out again only when they differ."""

    def __init__(self) -> None:
        self._sent: list[tuple] | None = None

    def changed(self, messages: Sequence[t.Any]) -> bool:
        """Whether ``messages`` differ from the last ones written (they are then the last)."""
        # The schema objects themselves (an evolved schema is a new object), not their contents:
        # comparing contents costs more than the rest of a parent's children.
        sent = [(m.stream, m.schema, m.key_properties, m.bookmark_properties) for m in messages]
        previous = self._sent
        if (
            previous is not None
            and len(previous) == len(sent)
            and all(a[0] == b[0] and a[1] is b[1] and a[2] == b[2] and a[3] == b[3] for a, b in zip(previous, sent, strict=True))
        ):
            return False
        self._sent = sent
        return True


class FullTableVersion:
    """dlt's ``replace``: the full-table version whose first ACTIVATE_VERSION went out (None: none under way)."""

    def __init__(self) -> None:
        self.version: int | None = None

    def starts(self, version: int) -> bool:
        """Whether ``version`` is new (its first ACTIVATE_VERSION is then written: once, not per parent)."""
        if self.version == version:
            return False
        self.version = version
        return True

    def ends(self) -> int | None:
        """The version whose records have all been sent (its second ACTIVATE_VERSION: a loader may drop the
        rows it did not send; the SDK only writes the first), if one is under way."""
        version, self.version = self.version, None
        return version


class ParentBookmarks:
    """An incremental child's bookmark per parent, settled after each parent's children were synced."""

    def __init__(self, stream: str, notes: Notes) -> None:
        self.stream = stream
        self.notes = notes

    def settle(self, manager: IndexedStateManager, context: dict, finalize: Callable[[dict], None]) -> None:
        """The bookmark of the parent ``context``: the largest cursor of its children (none beyond the cap,
        or when it had no child record). ``finalize`` is the SDK's promotion of a partition's progress markers."""
        # The SDK promotes a partition's progress markers to its bookmark only when the context is
        # the partition key alone; this context also holds included fields. Every child record of
        # this parent has been written, so the bookmark is the largest cursor seen.
        state = manager.get_context_state(context)
        finalize(state)
        kept = manager.is_kept(context)
        if not kept or (
            "replication_key_value" not in state and not state.get("partition_bookmarks")
        ):  # beyond the cap, or no child record written
            manager.drop(context)
        if not kept:
            self.notes.warn_once(
                "bookmark cap",
                stream_line(
                    self.stream,
                    f"more than {manager.cap:,} parents (max_parent_bookmarks): the children of further parents keep no "
                    "bookmark and are read from the start value each sync",
                ),
            )


def prefetch_children(
    scheduler: Scheduler,
    links: list[tuple[str, ParentLink]],
    records: list[dict],
    keep: Callable[[dict], bool],
    describe_key: Callable[[dict], t.Any],
) -> None:
    """Ask the scheduler for the children (``links``: each child's name and link) of a parent page's
    ``records``, up to the first record that lacks a field a child reads (the SDK raises at its turn); no
    child context is built when no child's pages are requested ahead."""
    children = [name for name, _ in links if scheduler.fans_out(name)]
    if not children or not records:
        return
    contexts: list[dict] = []
    with contextlib.suppress(ParentFieldError):
        contexts.extend(child_context(record, links, describe_key) for record in records if keep(record))
    scheduler.prefetch(children, contexts)
