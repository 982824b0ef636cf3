"""Where a stream's sync starts, and what it says when it does.

- An incremental context starts from the bookmark in STATE (less ``lag``), else ``initial_value``,
  else the ``start_date`` setting; a backfill (``end_value``) ignores the bookmark.
- The SDK says how each context starts ("Beginning sync of…", "Starting incremental sync of…"), and a
  child stream is synced once per parent record: a child says it once (each parent's at DEBUG), and
  names the start it sends, not the SDK's.
- A stream whose records have no known cursor order moves its bookmark only when it completes. The
  SDK warns so at each state partition, naming no stream; the stream says it once, with the remedy
  (``incremental.row_order: asc``, or a sort in ``params``).
"""

from __future__ import annotations

import logging
import typing as t

from singer_sdk.helpers._state import (  # private module: the SDK's state helpers
    PROGRESS_MARKER_NOTE,
    PROGRESS_MARKERS,
    write_starting_replication_value,
)
from typing_extensions import override

from tap_restgeneric.streams.incremental import lagged, unsorted_notice
from tap_restgeneric.streams.sampling import SampledStream


class StartingStream(SampledStream):
    """The start of a resource's stream: its incremental start value, and its start lines."""

    #: A child stream said it began (it is synced once per parent record, and says so once).
    _began = False
    #: The stream said its records have no known order.
    _told_unsorted = False

    @override
    def log(self, message: str, *args: t.Any, level: int = logging.INFO, **kwargs: t.Any) -> None:
        # The SDK's sync() (final) logs "Beginning sync of '<name>' in <mode> mode with context keys: …" each
        # time it is called, and a child stream's is called once per parent record (23 lines for 23
        # parents): a child says it once, and each parent's at DEBUG.
        if self.link is not None and message.startswith("Beginning sync of "):
            if self._began:
                level = min(level, logging.DEBUG)
            else:
                self._began = True
                message = "Beginning sync of '%s' in %s mode, once per '%s' record (one closing line for all of them)"
                args = (self.name, self.replication_method.lower(), self.link.parent)
        super().log(message, *args, level=level, **kwargs)

    @override
    def starting_value(self, context: t.Any) -> t.Any:
        """The bookmark in state, else ``initial_value``, else the ``start_date`` setting.

        (The SDK's own starting value prefers ``start_date`` to everything but a bookmark.)"""
        if not self.incremental:
            return None
        initial = self.incremental.get("initial_value")
        initial = self.settings.start_date if initial is None else initial
        state = self.bookmark_state(context)
        backfill = self.incremental.get("end_value") is not None  # dlt: a bounded run ignores the bookmark
        if (
            not backfill
            and state.get("replication_key") == self.replication_key
            and state.get("replication_key_value") is not None
        ):
            return lagged(state["replication_key_value"], self.incremental.get("lag"), initial)
        return initial

    @override
    def _write_starting_replication_value(self, context: t.Any) -> None:
        # Private SDK hook, called for each context before its records: it writes the start into the state
        # (as here) and logs "Starting incremental sync of '<name>' with bookmark value: …" with the SDK's
        # start (the bookmark, else start_date) rather than the one sent (lag, initial_value), once per
        # parent record for a child. The start sent is said: once for a stream, per parent at DEBUG.
        if not self.incremental:
            return
        start = self.starting_value(context)
        state = self.state_manager.get_context_state(context)
        write_starting_replication_value(state, start)
        self.logger.log(
            logging.DEBUG if self.link else logging.INFO,
            "Starting incremental sync of '%s'%s on %r %s",
            self.name,
            self.context_label(context),
            self.incremental["cursor_path"],
            "with no start value (every record)" if start is None else f"from {start!r}",
        )
        backfill = self.incremental.get("end_value") is not None  # (it never moves a bookmark)
        if not backfill and not (self.is_sorted and self.state_partitioning_keys is None) and PROGRESS_MARKERS not in state:
            # The SDK makes these markers at a context's first record (its bookmark moves when the stream, or
            # a child's parent, is done) and warns "Stream is assumed to be unsorted…" each time, naming no
            # stream and once per parent for a child. Made here, the stream says it once, with what to do.
            state[PROGRESS_MARKERS] = {PROGRESS_MARKER_NOTE: "Progress is not resumable if interrupted."}
            self._tell_unsorted()

    def _tell_unsorted(self) -> None:
        """Once per stream: a top-level stream without a known order, what that means and what to do
        (a child keeps a bookmark per parent: row_order would not change it; ``row_order: desc`` is a choice)."""
        assert self.incremental is not None
        if self._told_unsorted or self.link is not None:
            return
        self._told_unsorted = True
        if self.incremental.get("row_order") is None:
            self.logger.info(unsorted_notice(self.name, self.incremental["cursor_path"]))
