"""The one SDK stream class: a resource's stream, its hooks delegating to the parts it is built with.

The parts (``streams.assembly``) do the work: the scheduler hands over pages requested ahead, the
page source fetches the others, the record source turns pages into records, the emitter writes them,
the bookmarks move, the schema source says the schema. What stays here is what the SDK keeps in the
stream: its schema and catalog, its state manager, its child streams and its messages. Where a hook
is private to the SDK, one comment says why it is overridden.

Every resource's stream is an instance of this class; the tap links children to parents per instance
(``link_children``), as ``Tap.load_streams`` (final) links by class only.
"""

from __future__ import annotations

import logging
import typing as t

import singer_sdk.singerlib as singer
from singer_sdk import RESTStream
from singer_sdk.helpers._batch import BatchConfig  # noqa: TC002 - the SDK's hook signature
from typing_extensions import override

from tap_restgeneric.errors import SourceConfigError
from tap_restgeneric.source.parent_link import child_context
from tap_restgeneric.state import partition_key
from tap_restgeneric.streams.emitter import batch_files, output_of, plain_output_applies
from tap_restgeneric.streams.partitions import IndexedStateManager, bookmark_state
from tap_restgeneric.streams.stops import state_kept_on_stop
from tap_restgeneric.streams.tree import prefetch_children

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk import Tap
    from singer_sdk.singerlib import Catalog
    from singer_sdk.streams._state import StreamStateManager

    from tap_restgeneric.source.parent_link import ParentLink
    from tap_restgeneric.streams.assembly import StreamParts
    from tap_restgeneric.values import CursorType


class ResourceStream(RESTStream):
    """A REST stream configured by one resource of the source model."""

    #: Records between interim STATE messages (the SDK's default is 10,000): a sorted stream that is
    #: killed resumes from its last STATE, so at most this many records are sent again.
    STATE_MSG_FREQUENCY = 1000

    def __init__(self, tap: Tap, parts: StreamParts) -> None:
        resource = parts.resource
        endpoint = resource["endpoint"]
        self.parts = parts
        self.resource = resource
        self.link = resource["parent"]
        self.incremental = endpoint.get("incremental")
        #: An incremental child keeps one bookmark per parent.
        self.partitioned_by_parent = bool(self.link and self.incremental)
        super().__init__(tap=tap, name=resource["name"], http_method=endpoint["method"])
        self.path = endpoint.get("written_path") or str(endpoint["path"])
        # Singer's convention: the key describes the data, whatever the disposition; the target
        # decides append or upsert (its own load method). ``replace`` syncs full-table versions.
        self.primary_keys = resource["primary_key"]
        self.selected_by_default = resource["selected"]
        if self.incremental:
            self.replication_key = self.incremental["cursor_path"]
        if self.link is not None:  # (before the state is read) a bookmark per parent, or one stream state
            self.state_partitioning_keys = list(self.link.partition_keys) if self.partitioned_by_parent else []

    @property
    @override
    def url_base(self) -> str:  # (abstract in the SDK; the page source builds every URL)
        return self.parts.pages.builder.base_url

    @property
    @override
    def is_sorted(self) -> bool:
        """dlt's ``row_order: asc``, or params that ask the API to sort by the cursor (the SDK then checks the order)."""
        return self.parts.is_sorted

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        """dlt's ``replace``: each sync is a new version of the whole table (ACTIVATE_VERSION)."""
        return self.resource["write_disposition"] == "replace" or super().emit_activate_version_messages

    # ------------------------------------------------------------ schema

    @property
    @override
    def schema(self) -> dict:
        # The SDK keeps the schema in a private attribute; a schema sampled lazily means overriding this property.
        if self._schema is None:
            self._schema = self.parts.schema.current
        return self._schema

    @override
    def apply_catalog(self, catalog: Catalog) -> None:
        super().apply_catalog(catalog)
        if self._input_schema is not None:
            self.parts.schema.use_catalog(self._input_schema)

    @property
    def bookmark_cursor(self) -> CursorType | None:
        """The cursor a bookmark in STATE is read as (None: this sync reads none: a full-table stream, a
        backfill with end_value, or a stream that is neither selected nor a parent of one)."""
        bookmarks, read = self.parts.bookmarks, self.selected or self.has_selected_descendents
        return self.parts.schema.cursor_type if bookmarks is not None and not bookmarks.backfill and read else None

    @override
    def get_records(self, context: t.Any) -> Iterable[dict]:
        stop = state_kept_on_stop(self._tap.write_message, lambda: self.tap_state, batches=bool(self.parts.settings.batch_config))
        with self.get_http_request_counter() as counter, stop:
            counter.with_context(context)
            reads = (counter.increment, self._prefetch_children, [child.name for child in self.child_streams])
            if self.parts.slices is not None:  # date windows and partitions: a STATE after each finished window
                state = self.state_manager.get_context_state(context)
                yield from self.parts.slices.read(context, state, self._write_state_message, *reads)
                return
            yield from self.parts.records.of(context, self.starting_value, *reads)

    def starting_value(self, context: t.Any) -> t.Any:
        """The incremental start of one context's requests (None: a full-table stream)."""
        bookmarks = self.parts.bookmarks
        return bookmarks.start(bookmark_state(self.state_manager, self.tap_state, self.name, context)) if bookmarks else None

    def bookmark_key(self, context: t.Mapping[str, t.Any]) -> str:
        """The key of the state partition ``context`` belongs to (an incremental child's)."""
        return partition_key(self.state_manager.get_state_partition_context(dict(context)) or {})

    @override
    def _write_record_message(self, record: dict) -> None:
        # Private SDK hook, the only place between a record and its RECORD message: see streams.emitter.
        emitter = self.parts.emitter
        fitted = self._fitted(record)
        if fitted is not None and not emitter.plain:
            super()._write_record_message(fitted)
        elif fitted is not None:
            emitter.write(fitted, self._stream_version)  # (the SDK's private handle on the stream version)
            self.state_manager.is_flushed = False

    @override
    def get_batches(self, batch_config: BatchConfig, context: t.Any = None) -> Iterator[tuple[t.Any, list[str]]]:
        """With ``batch_config``: the records, fitted as for RECORD messages, into batch files (see ``output.batches``)."""
        if not plain_output_applies(self.stream_maps, self.mask, self.name):
            problem = f"batch_config: stream '{self.name}' has a stream map, flattening or deselected properties"
            raise SourceConfigError([f"{problem}, which batch files would not apply; remove batch_config or them"])
        records = (self._fitted(record) for record in self._sync_records(context, write_messages=False))
        yield from batch_files(batch_config, self.tap_name, self.name, records)

    def _fitted(self, record: dict) -> dict | None:
        """The record as it is written (None: dropped), see ``RecordEmitter.fitted``."""
        emitter = self.parts.emitter
        if not emitter.started:  # the sync's first record: where its records go, and their schema
            plain = plain_output_applies(self.stream_maps, self.mask, self.name)
            emitter.start(self.effective_schema, output_of(self._tap.message_writer, plain, self.TYPE_CONFORMANCE_LEVEL))
        return emitter.fitted(record, self._evolve_schema)

    def _evolve_schema(self, schema: dict) -> None:
        # A schema evolved by schema_contract evolve: the SDK keeps it (and a catalog's) and its stream maps in private
        # attributes its SCHEMA messages and conformance read, renewed as the SDK builds them at discovery.
        self._schema = schema
        if self._input_schema is not None:
            self._input_schema = schema
        self._tap.mapper.register_raw_stream_schema(self.name, schema, self.primary_keys)
        self._stream_maps = self._tap.mapper.stream_maps[self.name]
        self._write_schema_message()

    # ------------------------------------------------------------ bookmarks and start lines

    @override
    def get_replication_key_signpost(self, context: t.Any = None) -> t.Any:
        return None  # the SDK would compare it with the bookmark as text: the bookmarks apply it as moments

    @override
    def _increment_stream_state(self, latest_record: dict, *, context: t.Any = None) -> None:
        # Private SDK hook: the SDK reads the cursor as record[key], fails on a record without it and
        # compares values as text; see streams.bookmarks.
        bookmarks = self.parts.bookmarks
        if bookmarks is not None and self.replication_method == "INCREMENTAL" and self.parts.slices is None:
            in_order = self.is_sorted and self.state_partitioning_keys is None  # as the SDK's increment_state
            state = self.state_manager.get_context_state(context)
            bookmarks.advance(state, latest_record, in_order=in_order, check_sorted=self.check_sorted)

    @override
    def _write_starting_replication_value(self, context: t.Any) -> None:
        # Private SDK hook, called for each context before its records: the start written into the state is
        # the one sent (lag, initial_value), said once for a child (see streams.start_lines).
        if self.incremental and self.parts.slices is None:  # (windows say where they start in the doctor)
            state = self.state_manager.get_context_state(context)
            in_order = self.is_sorted and self.state_partitioning_keys is None
            self.parts.start_lines.started(
                state, self.starting_value(context), self.parts.pages.label(context), in_order=in_order
            )

    @override
    def log(self, message: str, *args: t.Any, level: int = logging.INFO, **kwargs: t.Any) -> None:
        # The SDK's sync() (final) logs "Beginning sync of …" each time it is called: once per parent record
        # for a child (see streams.start_lines).
        message, args, level = self.parts.start_lines.beginning(message, args, level, self.replication_method)
        super().log(message, *args, level=level, **kwargs)

    # ------------------------------------------------------------ parents and children

    @override
    def get_child_context(self, record: dict, context: t.Any) -> dict:
        return child_context(record, self._child_links(), self.parts.key.describe)

    @override
    def _process_record(self, record: dict, child_context: t.Any = None, partition_context: t.Any = None) -> None:
        # Private SDK hook: it copies the state partition's keys into each record and syncs the child
        # streams. Child records hold only their own fields and dlt's include_from_parent ones, so the
        # partition keys are not copied; a stream without children skips it all.
        if self.child_streams:
            super()._process_record(record, child_context, None)

    @override
    def _sync_children(self, child_context: t.Any) -> None:
        # Private SDK hook: it syncs each selected child with the context of one parent record; then the
        # bookmark of each incremental child for this parent is settled (see streams.tree).
        super()._sync_children(child_context)
        for child in (c for c in self._wanted_children() if c.partitioned_by_parent and child_context is not None):
            child.settle_parent(child_context)

    def settle_parent(self, context: dict) -> None:
        """After this child's records of one parent were written: their bookmark (see streams.tree)."""
        manager = t.cast("IndexedStateManager", self.state_manager)
        self.parts.parent_bookmarks.settle(manager, context, self._finalize_state)  # (the SDK's promotion of markers)

    def _prefetch_children(self, records: list[dict], context: t.Any) -> None:  # noqa: ARG002 - a page's records are enough
        keep = self.stream_maps[0].get_filter_result  # the SDK syncs no children of a record a stream map filters out
        prefetch_children(self.parts.scheduler, self._child_links(), records, keep, self.parts.key.describe)

    def _child_links(self) -> list[tuple[str, ParentLink]]:
        return [(child.name, child.link) for child in self._wanted_children() if child.link is not None]

    def _wanted_children(self) -> list[ResourceStream]:
        return [c for c in self.child_streams if isinstance(c, ResourceStream) and (c.selected or c.has_selected_descendents)]

    @property
    @override
    def state_manager(self) -> StreamStateManager:
        # The SDK's manager scans a list of partitions per record: an incremental child's is indexed (and capped).
        if self._state_manager is None and self.partitioned_by_parent:
            self._state_manager = IndexedStateManager(
                tap_name=self.tap_name,
                stream_name=self.name,
                tap_state=self._tap_state,
                state_partitioning_keys=self.state_partitioning_keys,
                is_sorted=self.is_sorted,
                check_sorted=self.check_sorted,
                cap=self.parts.settings.max_parent_bookmarks,
            )
        return super().state_manager

    @override
    def finalize_state_progress_markers(self, state: dict | None = None) -> None:
        # Called once the stream's whole sync succeeded (a child's: with its parent's).
        super().finalize_state_progress_markers(state)
        if state:
            return
        if self.link is not None and self.parts.progress.contexts:
            self.parts.records.say_closing_line()  # a child's closing line, for all its parents
        version = self.parts.full_table.ends()
        if version is not None:
            self._tap.write_message(singer.ActivateVersionMessage(stream=self.name, version=version))
        if self.child_streams:  # the children's last changes, which they did not write
            self._tap.state_writer.write_state(self.tap_state)

    @override
    def _write_activate_version_message(self, full_table_version: int) -> None:
        # Private SDK hook: sync() writes it at each call, once per parent record for a child.
        if self.parts.full_table.starts(full_table_version):
            super()._write_activate_version_message(full_table_version)

    @override
    def _write_schema_message(self) -> None:
        # Private SDK hook: sync() writes the SCHEMA at each call, once per parent record for a child
        # (targets may flush their batches on each): it goes out when it differs from the last one.
        messages = list(self._generate_schema_messages())
        if self.parts.sent_schemas.changed(messages):
            for message in messages:
                self._tap.write_message(message)

    @override
    def _write_state_message(self) -> None:
        # In a tree, STATE holds one bookmark per parent: an interim one is written when the throttle says.
        if self.link is None and not self.child_streams:
            super()._write_state_message()
        else:
            self.parts.state_throttle.write(super()._write_state_message)


def link_children(streams: Iterable[ResourceStream]) -> None:
    """Each child stream under its parent, as the SDK links them by class (``Tap.load_streams``, final):
    here per instance, every stream being a ``ResourceStream``."""
    by_name = {stream.name: stream for stream in streams}
    for stream in by_name.values():
        if stream.link is not None:
            parent = by_name[stream.link.parent]
            parent.child_streams.append(stream)
            stream.parent_stream_type = type(parent)  # the SDK's sync_all skips a stream that has one
