"""Parent and child streams: the SDK's child contexts and state partitions, kept bounded.

A child resource is an SDK child stream (``parent_stream_type``): for each parent record the
parent builds one child context (:func:`~tap_restgeneric.http.parents.child_context`) and the SDK
syncs each selected child with it, the parent's records being read even when the parent itself is
not selected. An incremental child keeps one bookmark per parent (state partitioned by the parent
fields it reads); any other child keeps one stream-level state.

Two SDK behaviours would not scale to many parents, and are changed here:

- The SDK writes the whole STATE after every child context, and with one partition per parent
  that is quadratic in the parents (100,000 parents of 100 bytes each: 10 MB per message).
  A child writes STATE at most once per ``CHILD_STATE_INTERVAL`` seconds; the parent writes it
  when it is done, so the last STATE covers every record written.
- It looks partitions up by scanning a list, for every record: ``IndexedStateManager`` keeps
  them in a dict too.

The partitions kept are capped by the ``max_parent_bookmarks`` setting (STATE stays bounded): a
parent beyond the cap keeps no bookmark, so its children are read from the start value each sync
(sent again, never skipped), with one warning. A parent without child records keeps none either.
"""

from __future__ import annotations

import contextlib
import logging
import time
import typing as t

from typing_extensions import override

from tap_restgeneric.http.emitting import EmittingStream
from tap_restgeneric.http.parents import ParentFieldError, ParentLink, child_context
from tap_restgeneric.http.partitions import IndexedStateManager

if t.TYPE_CHECKING:
    from singer_sdk.streams._state import StreamStateManager

    from tap_restgeneric.http.fanout import FanOut

#: Seconds between the interim STATE messages of a child stream.
CHILD_STATE_INTERVAL = 1.0
#: Parents an incremental child keeps a bookmark for (the ``max_parent_bookmarks`` default).
DEFAULT_MAX_PARENT_BOOKMARKS = 10_000


class _FirstUnsortedWarning(logging.Filter):
    """The SDK warns "Stream is assumed to be unsorted…" (naming no stream) each time a state
    partition starts, so a child stream would log it once per parent: it is let through once."""

    seen = False

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("Stream is assumed to be unsorted"):
            return True
        seen, self.seen = self.seen, True
        return not seen


_UNSORTED_ONCE = _FirstUnsortedWarning()


class TreeStream(EmittingStream):
    """A stream that may have a parent (``link``) and children (the SDK's ``child_streams``)."""

    #: A child resource's parent and the fields it reads (None: a top-level resource).
    link: t.ClassVar[ParentLink | None] = None
    #: An incremental child: one bookmark per parent.
    partitioned_by_parent: t.ClassVar[bool] = False
    _last_child_state = 0.0
    _schema_sent: list[dict] | None = None
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
        keys = parent.record_key_names
        return [child_context(r, links, {k: r.get(k) for k in keys} or "(no primary key)") for r in parent_records]

    def partition_by_parent(self) -> None:
        """One bookmark per parent for an incremental child; one stream state for any other child
        (no partition per parent: nothing to resume there). Called before the state is read."""
        if self.link is not None:
            logger = logging.getLogger("singer_sdk")  # the SDK's state helpers log there
            if _UNSORTED_ONCE not in logger.filters:
                logger.addFilter(_UNSORTED_ONCE)
            self.state_partitioning_keys = list(self.link.partition_keys) if self.partitioned_by_parent else []

    @override
    def get_child_context(self, record: dict, context: t.Any) -> dict:
        links = [
            (child.name, child.link)
            for child in self.child_streams
            if isinstance(child, TreeStream) and child.link and (child.selected or child.has_selected_descendents)
        ]
        key = {name: record.get(name) for name in self.record_key_names} or "(no primary key)"
        return child_context(record, links, key)

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
        partitioned = [child for child in self.child_streams if isinstance(child, TreeStream) and child.partitioned_by_parent]
        known = {child.name: child.has_bookmark(child_context) for child in partitioned if child_context is not None}
        super()._sync_children(child_context)
        for child in partitioned:
            if child.name in known:
                child.settle_parent(child_context, had_bookmark=known[child.name])

    @property
    @override
    def state_manager(self) -> StreamStateManager:
        if self._state_manager is None and self.partitioned_by_parent:
            self._state_manager = IndexedStateManager(
                tap_name=self.tap_name,
                stream_name=self.name,
                tap_state=self._tap_state,
                state_partitioning_keys=self.state_partitioning_keys,
                is_sorted=self.is_sorted,
                check_sorted=self.check_sorted,
            )
        return super().state_manager

    def has_bookmark(self, context: dict) -> bool:
        return "replication_key_value" in self.bookmark_state(context)

    def bookmark_state(self, context: t.Any) -> t.Mapping[str, t.Any]:
        """The state holding the bookmark of ``context``, read without creating a partition for it."""
        manager = self.state_manager
        if isinstance(manager, IndexedStateManager):
            return manager.find(context) or {}
        return self.get_context_state(context)

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
        contexts: list[dict] = []
        with contextlib.suppress(ParentFieldError):
            contexts.extend(self.get_child_context(record, context) for record in records)
        for child in children:
            child.fanout.submit((c, child.starting_value(c)) for c in contexts)  # type: ignore[union-attr]

    def stop_prefetching_children(self) -> None:
        for child in self.child_streams:
            if isinstance(child, TreeStream) and child.fanout:
                child.fanout.cancel()

    def starting_value(self, context: t.Any) -> t.Any:  # noqa: ARG002 - the resource stream's reads it
        """The incremental start of one context's requests."""
        return None

    def settle_parent(self, context: dict, *, had_bookmark: bool) -> None:
        """After the children of one parent were synced: their bookmark, or none beyond the cap."""
        # The SDK promotes a partition's progress markers to its bookmark only when the context is
        # the partition key alone; this context also holds included fields. Every child record of
        # this parent has been written, so the bookmark is the largest cursor seen.
        manager = self.state_manager
        assert isinstance(manager, IndexedStateManager)
        state = manager.get_context_state(context)
        self._finalize_state(state)
        if set(state) == {"context"}:  # no child record under this parent: nothing to keep
            manager.drop(context)
            return
        cap = int(self.config.get("max_parent_bookmarks") or DEFAULT_MAX_PARENT_BOOKMARKS)
        if had_bookmark or manager.count() <= cap:
            return
        manager.drop(context)
        if not self._warned_bookmark_cap:
            self._warned_bookmark_cap = True
            self.logger.warning(
                "stream '%s': more than %s parents (max_parent_bookmarks): the children of further parents keep no "
                "bookmark and are read from the start value each sync",
                self.name,
                f"{cap:,}",
            )

    @override
    def finalize_state_progress_markers(self, state: dict | None = None) -> None:
        super().finalize_state_progress_markers(state)
        if self.child_streams and not state:  # the children's last changes, which they did not write
            self._tap.state_writer.write_state(self.tap_state)

    @override
    def _write_schema_message(self) -> None:
        # Private SDK hook: sync() writes the SCHEMA each time it is called, and a child stream is
        # synced once per parent record: 100,000 parents would send 100,000 copies (and targets
        # may flush their batches on each). A SCHEMA goes out when it differs from the last one.
        messages = list(self._generate_schema_messages())
        sent = [message.to_dict() for message in messages]
        if sent != self._schema_sent:
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
        if self.link is not None:
            now = time.monotonic()
            if now - self._last_child_state < CHILD_STATE_INTERVAL:
                return
            self._last_child_state = now
        super()._write_state_message()
