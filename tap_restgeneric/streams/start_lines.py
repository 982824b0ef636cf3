"""What a stream says when a context starts, said once where the SDK says it per parent record.

- The SDK says how each context starts ("Beginning sync of…", "Starting incremental sync of…"), and a
  child stream is synced once per parent record: a child says it once (each parent's at DEBUG), and
  names the start it sends, not the SDK's.
- A stream whose records have no known cursor order moves its bookmark only when it completes. The
  SDK warns so at each state partition, naming no stream; the stream says it once, with the remedy
  (``incremental.row_order: asc``, or a sort in ``params``).
"""

from __future__ import annotations

import dataclasses
import logging
import typing as t

from singer_sdk.helpers._state import (  # private module: the SDK's state helpers
    PROGRESS_MARKERS,
    write_starting_replication_value,
)

from tap_restgeneric.streams.bookmarks import progress_markers
from tap_restgeneric.streams.incremental import unsorted_notice

if t.TYPE_CHECKING:
    from tap_restgeneric.source.incremental_config import IncrementalConfig
    from tap_restgeneric.source.parent_link import ParentLink


@dataclasses.dataclass
class StartLines:
    """The start lines of one stream (``link``: a child's parent; ``incremental``: its cursor, if any)."""

    stream: str
    link: ParentLink | None
    incremental: IncrementalConfig | None
    logger: logging.Logger
    _began: bool = dataclasses.field(default=False, init=False)
    _told_unsorted: bool = dataclasses.field(default=False, init=False)

    def beginning(self, message: str, args: tuple, level: int, replication_method: str) -> tuple[str, tuple, int]:
        """The SDK's "Beginning sync of …" line as a child says it: once, the parents' at DEBUG (any other
        line as it is)."""
        if self.link is None or not message.startswith("Beginning sync of "):
            return message, args, level
        if self._began:
            return message, args, min(level, logging.DEBUG)
        self._began = True
        once = "Beginning sync of '%s' in %s mode, once per '%s' record (one closing line for all of them)"
        return once, (self.stream, replication_method.lower(), self.link.parent), level

    def started(self, state: dict, start: t.Any, context_label: str, *, in_order: bool) -> None:
        """A context starts from ``start``: written into its ``state`` (as the SDK does), said (once for a
        stream, per parent at DEBUG), and its progress markers made when its bookmark moves only at the end."""
        assert self.incremental is not None
        write_starting_replication_value(state, start)
        self.logger.log(
            logging.DEBUG if self.link else logging.INFO,
            "Starting incremental sync of '%s'%s on %r %s",
            self.stream,
            context_label,
            self.incremental["cursor_path"],
            "with no start value (every record)" if start is None else f"from {start!r}",
        )
        backfill = self.incremental.get("end_value") is not None  # (it never moves a bookmark)
        if not backfill and not in_order and PROGRESS_MARKERS not in state:
            # The SDK makes these markers at a context's first record (its bookmark moves when the stream, or
            # a child's parent, is done) and warns "Stream is assumed to be unsorted…" each time, naming no
            # stream and once per parent for a child. Made here, the stream says it once, with what to do.
            progress_markers(state)
            self._tell_unsorted()

    def _tell_unsorted(self) -> None:
        """Once per stream: a top-level stream without a known order, what that means and what to do
        (a child keeps a bookmark per parent: row_order would not change it; ``row_order: desc`` is a choice)."""
        assert self.incremental is not None
        if self._told_unsorted or self.link is not None:
            return
        self._told_unsorted = True
        if self.incremental.get("row_order") is None:
            self.logger.info(unsorted_notice(self.stream, self.incremental["cursor_path"]))
