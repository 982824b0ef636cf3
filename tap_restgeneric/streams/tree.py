"""Parent and child streams: the SDK's child contexts and state partitions, kept bounded.

A child resource is an SDK child stream (``parent_stream_type``): for each parent record the
parent builds one child context (:func:`~tap_restgeneric.source.parent_link.child_context`) and the SDK
syncs each selected child with it, the parent's records being read even when the parent itself is
not selected. An incremental child keeps one bookmark per parent (state partitioned by the parent
fields it reads); any other child keeps one stream-level state.

SDK behaviours that would not scale to many parents are changed here:

- The SDK writes the whole STATE after every child context, and with one partition per parent
  that is quadratic in the parents (100,000 parents of 100 bytes each: 10 MB per message).
  Streams of a tree write an interim STATE at most once per ``CHILD_STATE_INTERVAL`` seconds, or
  twenty times the last write's cost; the top stream writes it when it is done, so the last
  STATE covers every record written.
- It looks partitions up by scanning a list, for every record: ``IndexedStateManager`` keeps
  them in a dict too.
- It writes the SCHEMA (and ACTIVATE_VERSION) each time a child is synced, once per parent:
  a child writes them when they change.

The partitions kept are capped by the ``max_parent_bookmarks`` setting (STATE stays bounded): a
parent beyond the cap keeps no bookmark, so its children are read from the start value each sync
(sent again, never skipped), with one warning. A parent without child records keeps none either.
"""

from __future__ import annotations

import contextlib
import time
import typing as t

import singer_sdk.singerlib as singer
from typing_extensions import override

from tap_restgeneric.source.parent_link import ParentFieldError, ParentLink, child_context
from tap_restgeneric.state import partition_key
from tap_restgeneric.streams.emitting import EmittingStream
from tap_restgeneric.streams.partitions import IndexedStateManager

if t.TYPE_CHECKING:
    from singer_sdk.streams._state import StreamStateManager

    from tap_restgeneric.scheduling.fanout import FanOut

#: Seconds between the interim STATE messages of a child stream.
CHILD_STATE_INTERVAL = 1.0


class TreeStream(EmittingStream):
    """A stream that may have a parent (``link``) and children (the SDK's ``child_streams``)."""

    #: A child resource's parent and the fields it reads (None: a top-level resource).
    link: t.ClassVar[ParentLink | None] = None
    #: An incremental child: one bookmark per parent.
    partitioned_by_parent: t.ClassVar[bool] = False
    _last_tree_state = 0.0
    _tree_state_cost = 0.0
    _schema_sent: list[tuple] | None = None
    #: The full-table version whose first ACTIVATE_VERSION went out (None: none under way).
    _activated: int | None = None
    _warned_bookmark_cap = False
    #: A child stream's pages fetched ahead of the SDK reaching their parent (None: inline only).
    fanout: FanOut | None = None

    def resources_of(self, context: t.Any) -> dict[str, t.Any]:
        """What ``resources`` names in the request templates of one context."""
        return self.link.resources(context) if self.link and context else {}

    def with_parent_fields(self, records: list[dict], context: t.Any) -> list[dict]:
        """dlt's include_from_parent: the parent's fields, copied into each record (over its own)."""
        if not (self.link and self.link.include and context):
            return records
        included = self.link.included(context)
        for record in records:
            record.update(included)
        return records

    def with_parent_fields_schema(self, schema: dict, parent_schema: dict) -> dict:
        """The schema with the copied parent fields, typed as in the parent's schema (unless it has them)."""
        assert self.link is not None
        parent_properties = parent_schema.get("properties", {})
        properties = dict(schema.get("properties", {}))
        for field in self.link.include:
            properties.setdefault(self.link.included_name(field), parent_properties.get(field, {"type": ["string", "null"]}))
        return {**schema, "properties": properties}

    def sampling_contexts(self, parent_records: list[dict], parent: TreeStream) -> list[dict]:
        """The contexts a child's schema is sampled under: those of its parent's sampled records."""
        assert self.link is not None
        links = [(self.name, self.link)]
        return [child_context(r, links, parent.record_key(r)) for r in parent_records]

    def partition_by_parent(self) -> None:
        """One bookmark per parent for an incremental child; one stream state for any other child
        (no partition per parent: nothing to resume there). Called before the state is read."""
        if self.link is not None:
            self.state_partitioning_keys = list(self.link.partition_keys) if self.partitioned_by_parent else []

    @override
    def get_child_context(self, record: dict, context: t.Any) -> dict:
        links = [
            (child.name, child.link)
            for child in self.child_streams
            if isinstance(child, TreeStream) and child.link and (child.selected or child.has_selected_descendents)
        ]
        return child_context(record, links, self.record_key(record))

    @override
    def _process_record(self, record: dict, child_context: t.Any = None, partition_context: t.Any = None) -> None:
        # Private SDK hook: it copies the state partition's keys into each record and syncs the
        # child streams. Child records hold only their own fields and dlt's include_from_parent
        # ones, so the partition keys are not copied; a stream without children skips it all.
        if self.child_streams:
            super()._process_record(record, child_context, None)

    @override
    def _sync_children(self, child_context: t.Any) -> None:
        # Private SDK hook: it syncs each selected child with the context of one parent record.
        super()._sync_children(child_context)
        if child_context is not None:
            for child in self.child_streams:
                if (
                    isinstance(child, TreeStream)
                    and child.partitioned_by_parent
                    and (child.selected or child.has_selected_descendents)
                ):
                    child.settle_parent(child_context)

    @property
    @override
    def state_manager(self) -> StreamStateManager:
        if self._state_manager is None and self.partitioned_by_parent:
            manager = IndexedStateManager(
                tap_name=self.tap_name,
                stream_name=self.name,
                tap_state=self._tap_state,
                state_partitioning_keys=self.state_partitioning_keys,
                is_sorted=self.is_sorted,
                check_sorted=self.check_sorted,
            )
            manager.cap = self.settings.max_parent_bookmarks
            self._state_manager = manager
        return super().state_manager

    def bookmark_state(self, context: t.Any) -> t.Mapping[str, t.Any]:
        """The state holding the bookmark of ``context``, read without creating a partition for it."""
        manager = self.state_manager
        if isinstance(manager, IndexedStateManager):
            return manager.find(context) or {}
        # Read only: a stream's entry appears in STATE once it syncs, not when its pages are requested ahead.
        state: t.Mapping[str, t.Any] = (self.tap_state.get("bookmarks") or {}).get(self.name) or {}
        return state

    def prefetch_children(self, records: list[dict], context: t.Any) -> None:
        """Start requesting the children of these parent records (see ``fanout``), up to the
        first record that lacks a field a child reads: the SDK raises at its turn."""
        children = [
            child
            for child in self.child_streams
            if isinstance(child, TreeStream) and child.fanout and (child.selected or child.has_selected_descendents)
        ]
        if not children or not records:
            return
        keep = self.stream_maps[0].get_filter_result  # the SDK syncs no children of a record a stream map filters out
        contexts: list[dict] = []
        with contextlib.suppress(ParentFieldError):
            contexts.extend(self.get_child_context(record, context) for record in records if keep(record))
        for child in children:
            child.fanout.submit((c, child.starting_value(c)) for c in contexts)  # type: ignore[union-attr]

    def fetched_ahead_of_turn(self, context: t.Any) -> tuple[t.Any, t.Iterator[t.Any]] | None:
        """A top-level stream's pages, requested while the streams before it were written (the
        tap's ``streams_ahead``); the first stream to sync starts the streams after it."""
        ahead: FanOut | None = getattr(self._tap, "streams_ahead", None)
        if ahead is None or self.link is not None or context is not None:
            return None
        if not ahead.started:
            ahead.started = True
            later = [
                stream
                for stream in list(self._tap.streams.values())
                if isinstance(stream, TreeStream)
                and stream.link is None
                and stream is not self
                and (stream.selected or stream.has_selected_descendents)
            ]
            ahead.submit(({"stream": stream.name}, stream.starting_value(None)) for stream in later)
        return ahead.take({"stream": self.name})

    def bookmark_key(self, context: t.Mapping[str, t.Any]) -> str:
        """The key of the state partition ``context`` belongs to (an incremental child's)."""
        return partition_key(self.state_manager.get_state_partition_context(dict(context)) or {})

    def stop_streams_ahead(self) -> None:
        ahead: FanOut | None = getattr(self._tap, "streams_ahead", None)
        if ahead is not None:
            ahead.cancel()

    def stop_prefetching_children(self) -> None:
        for child in self.child_streams:
            if isinstance(child, TreeStream) and child.fanout:
                child.fanout.cancel()

    def starting_value(self, context: t.Any) -> t.Any:  # noqa: ARG002 - the resource stream's reads it
        """The incremental start of one context's requests."""
        return None

    def settle_parent(self, context: dict) -> None:
        """After the children of one parent were synced: their bookmark (none beyond the cap)."""
        # The SDK promotes a partition's progress markers to its bookmark only when the context is
        # the partition key alone; this context also holds included fields. Every child record of
        # this parent has been written, so the bookmark is the largest cursor seen.
        manager = self.state_manager
        assert isinstance(manager, IndexedStateManager)
        state = manager.get_context_state(context)
        self._finalize_state(state)
        kept = manager.is_kept(context)
        if not kept or "replication_key_value" not in state:  # beyond the cap, or no child record written
            manager.drop(context)
        if not kept and not self._warned_bookmark_cap:
            self._warned_bookmark_cap = True
            self.logger.warning(
                "stream '%s': more than %s parents (max_parent_bookmarks): the children of further parents keep no "
                "bookmark and are read from the start value each sync",
                self.name,
                f"{manager.cap:,}",
            )

    @override
    def finalize_state_progress_markers(self, state: dict | None = None) -> None:
        # Called once the stream's whole sync succeeded (a child's: with its parent's).
        super().finalize_state_progress_markers(state)
        progress = getattr(self, "progress", None)
        if self.link is not None and not state and progress is not None and progress.contexts:
            self.logger.info(self.closing_line(progress))  # a child's closing line, for all its parents
        if not state and self._activated is not None:
            # The second ACTIVATE_VERSION: every record of this full-table version has been sent,
            # so a loader may drop the rows it did not send (the SDK only writes the first).
            self._tap.write_message(singer.ActivateVersionMessage(stream=self.name, version=self._activated))
            self._activated = None
        if self.child_streams and not state:  # the children's last changes, which they did not write
            self._tap.state_writer.write_state(self.tap_state)

    @override
    def _write_activate_version_message(self, full_table_version: int) -> None:
        # Private SDK hook: sync() writes it at each call, once per parent record for a child.
        if self._activated != full_table_version:
            self._activated = full_table_version
            super()._write_activate_version_message(full_table_version)

    @override
    def _write_schema_message(self) -> None:
        # Private SDK hook: sync() writes the SCHEMA each time it is called, and a child stream is
        # synced once per parent record: 100,000 parents would send 100,000 copies (and targets
        # may flush their batches on each). A SCHEMA goes out when it differs from the last one.
        messages = list(self._generate_schema_messages())
        # The schema objects themselves (an evolved schema is a new object), not their contents:
        # comparing contents costs more than the rest of a parent's children.
        sent = [(m.stream, m.schema, m.key_properties, m.bookmark_properties) for m in messages]
        previous = self._schema_sent
        if (
            previous is None
            or len(previous) != len(sent)
            or any(a[0] != b[0] or a[1] is not b[1] or a[2] != b[2] or a[3] != b[3] for a, b in zip(previous, sent, strict=True))
        ):
            self._schema_sent = sent
            for message in messages:
                self._tap.write_message(message)

    @override
    def context_label(self, context: t.Any) -> str:
        if self.link is None or not context:
            return ""
        values = ", ".join(f"{'.'.join(chain)}={context.get(self.link.context_key(chain))!r}" for chain in self.link.fields)
        return f" (for the '{self.link.parent}' record with {values})"

    @override
    def _write_state_message(self) -> None:
        # In a tree, STATE holds one bookmark per parent: writing it costs more as parents add up
        # (copied, redacted, encoded each time). An interim STATE is skipped until CHILD_STATE_INTERVAL
        # or twenty times the last write's cost has passed (at most 5 % of the time); the last
        # STATE is written at the end (finalize_state_progress_markers).
        if self.link is None and not self.child_streams:
            super()._write_state_message()
            return
        started = time.monotonic()
        if started - self._last_tree_state < max(CHILD_STATE_INTERVAL, 20 * self._tree_state_cost):
            return
        super()._write_state_message()
        self._last_tree_state = time.monotonic()
        self._tree_state_cost = self._last_tree_state - started
