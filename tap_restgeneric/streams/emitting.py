"""The SDK's record-writing hooks: RECORD messages with the conformance pass only where it matters.

The SDK conforms every record to its schema (about 45 % of a record's cost); a record decoded
from JSON needs it only when ``ConformanceCheck`` (generated once per schema) says so. The
records of one page share one ``time_extracted``, and the message goes to the tap's writer.
"""

from __future__ import annotations

import datetime
import functools
import typing as t

from singer_sdk.exceptions import InvalidStreamSortException
from singer_sdk.helpers._state import PROGRESS_MARKER_NOTE, PROGRESS_MARKERS  # private module: the SDK's state keys
from singer_sdk.helpers._typing import conform_record_data_types  # private module: the SDK's own conformance
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from typing_extensions import override

from tap_restgeneric.errors import SourceConfigError
from tap_restgeneric.output.batches import BatchFiles
from tap_restgeneric.output.conformance import ConformanceCheck
from tap_restgeneric.output.writer import BufferedSingerWriter
from tap_restgeneric.schema_drift import Contract, reconcile
from tap_restgeneric.streams.sending import SendingStream
from tap_restgeneric.values import MOMENT, CursorType

if t.TYPE_CHECKING:
    from singer_sdk.helpers._batch import BatchConfig

    from tap_restgeneric.streams.incremental import CursorWatch
    from tap_restgeneric.streams.keys import RequiredKey
    from tap_restgeneric.streams.progress import Progress


class EmittingStream(SendingStream):
    """Writes a stream's records (its subclass stamps ``_extracted_at`` per page)."""

    _plain_output: bool | None = None
    _extracted_at: datetime.datetime | None = None
    #: What happens to a record that leaves the schema (set by the subclass from the config).
    contract: Contract = Contract()
    #: The resource's incremental config (None: a full-table stream).
    incremental: t.Mapping[str, t.Any] | None = None
    #: Whether the records carry the incremental cursor (None: a full-table stream).
    cursor_watch: CursorWatch | None = None
    #: The primary key every record must carry (the resource stream's).
    required_key: RequiredKey

    # ------------------------------------------------------------ output

    def record_key(self, record: t.Mapping[str, t.Any]) -> dict[str, t.Any] | str:
        """How errors and warnings name a record: its key properties' values."""
        return {k: record.get(k) for k in self.primary_keys} or "(no primary key)"

    def _plain_output_applies(self) -> bool:
        """Records go out as they are (no stream map, flattening or deselected property)."""
        maps = self.stream_maps
        return (
            len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == self.name
            and not (maps[0].flattening_options and maps[0].flattening_enabled)
            and all(self.mask.values())
        )

    @override
    def _write_record_message(self, record: dict) -> None:
        """The SDK's, with its conformance pass only where it changes something.

        A private SDK hook, and the only place between a record and its RECORD message: the
        SDK conforms every record, about 45 % of a record's cost; a record decoded from
        JSON needs it only when ``ConformanceCheck`` (generated once per schema) says so.
        The record goes to the tap's writer (``output.writer``), as a message does.
        """
        if self._plain_output is None:
            self._prepare_output()
        if not self._fits(record):
            fitted = self._refit(record)
            if fitted is None:
                return
            record = fitted
        if not self._plain_output:
            super()._write_record_message(record)
            return
        # _tap and _stream_version are the SDK's own (private) handles on the tap and the stream version;
        # the record goes straight to the tap's writer (Tap.write_message only forwards messages there).
        self._write_record(self.name, record, self._stream_version, self._extracted_at)
        self.state_manager.is_flushed = False

    def _prepare_output(self) -> None:
        # A writer other than the tap's own (levers.py's SDK variant) takes the SDK's path.
        writer = self._tap.message_writer
        self._plain_output = self._plain_output_applies() and isinstance(writer, BufferedSingerWriter)
        if self._plain_output:
            self._write_record = t.cast("BufferedSingerWriter", self._tap.message_writer).write_record
        self._fits = ConformanceCheck(self.effective_schema).check
        self._drifted: set[str] = set()

    def _fitted(self, record: dict) -> dict | None:
        """The record as the stream writes it: unchanged when ``ConformanceCheck`` says it fits
        the schema, else under the ``schema_contract`` (None: dropped) and conformed."""
        if self._plain_output is None:
            self._prepare_output()
        return record if self._fits(record) else self._refit(record)

    def _refit(self, record: dict) -> dict | None:
        """A record ``ConformanceCheck`` flags: under the ``schema_contract`` (None: dropped), conformed."""
        fitted = self._reconcile(record)
        if fitted is not None and self._plain_output and self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE:
            fitted = conform_record_data_types(
                stream_name=self.name,
                record=fitted,
                schema=self.effective_schema,
                level=self.TYPE_CONFORMANCE_LEVEL,
                logger=self.logger,
            )
        return fitted

    @override
    def get_batches(self, batch_config: BatchConfig, context: t.Any = None) -> t.Iterator[tuple[t.Any, list[str]]]:
        """With ``batch_config``: the records, fitted as for RECORD messages, into batch files
        (``output.batches``); the SDK writes a BATCH message and a STATE after each file."""
        if not self._plain_output_applies():
            problem = f"batch_config: stream '{self.name}' has a stream map, flattening or deselected properties"
            raise SourceConfigError([f"{problem}, which batch files would not apply; remove batch_config or them"])
        files = BatchFiles(batch_config, self.tap_name, self.name)
        for record in self._sync_records(context, write_messages=False):
            fitted = self._fitted(record)
            manifest = files.add(fitted) if fitted is not None else None
            if manifest:
                yield batch_config.encoding, manifest  # the SDK writes the BATCH, then a STATE that covers it
        manifest = files.finish()
        if manifest:
            yield batch_config.encoding, manifest

    def _reconcile(self, record: dict) -> dict | None:
        """A record that does not fit the schema, under the stream's ``schema_contract``: the
        record to write (None: dropped); an evolved schema is written (SCHEMA) before it."""
        key = self.record_key(record)
        outcome = reconcile(self.effective_schema, record, self.contract, self.name, key, self.primary_keys)
        if outcome.key_discarded is not None:
            self.required_key.discarded(f"stream '{self.name}': the record with key {key}", outcome.key_discarded)
            return None
        if outcome.schema is not None:
            # The SDK keeps the stream's schema (and a catalog's) and its stream maps in private
            # attributes; its SCHEMA messages and conformance read them, so they are renewed
            # the way the SDK builds them at discovery (the mapper registers the raw schema).
            self._schema = outcome.schema
            if self._input_schema is not None:
                self._input_schema = outcome.schema
            self._tap.mapper.register_raw_stream_schema(self.name, outcome.schema, self.primary_keys)
            self._stream_maps = self._tap.mapper.stream_maps[self.name]
            self._write_schema_message()
            self._fits = ConformanceCheck(outcome.schema).check
            for change in outcome.changes:
                if change not in self._drifted:
                    self._drifted.add(change)
                    self.logger.warning("stream '%s': schema evolved: %s (schema_contract evolve)", self.name, change)
        return outcome.record

    @functools.cached_property
    def cursor_type(self) -> CursorType:
        """How this incremental stream's cursor values compare (as its schema types the cursor)."""
        assert self.incremental is not None
        cursor = self.incremental["cursor_path"]
        return CursorType.of(cursor, (self.effective_schema.get("properties") or {}).get(cursor))

    @property
    def bookmark_cursor(self) -> CursorType | None:
        """The cursor a bookmark in STATE is read as (None: this sync reads none: a full-table stream, a
        backfill with end_value, or a stream that is neither selected nor a parent of one)."""
        incremental = self.incremental
        if not incremental or incremental.get("end_value") is not None:
            return None
        return self.cursor_type if self.selected or self.has_selected_descendents else None

    @functools.cached_property
    def _sync_started(self) -> datetime.datetime:
        # The SDK's signpost: when the tap started (its private _initialized_at, in milliseconds).
        return datetime.datetime.fromtimestamp(self._initialized_at / 1000.0, tz=datetime.timezone.utc)

    @override
    def get_replication_key_signpost(self, context: t.Any = None) -> t.Any:
        """None: the SDK would compare its signpost with the bookmark as text at the end of the sync;
        ``_increment_stream_state`` applies it to the values as they come, compared as moments."""
        return None

    @override
    def _increment_stream_state(self, latest_record: dict, *, context: t.Any = None) -> None:
        # Private SDK hook: the SDK reads the cursor as record[key], fails on a record without it and
        # compares values as they are (text, for dates: an offset or a fraction of a second put the
        # bookmark past records the API then returns). Here values compare by what they are
        # (values.CursorType), and the bookmark keeps the record's own value of the largest, as the
        # API wrote it (a date-time past the sync's start, in an unsorted stream: that start, as the
        # SDK's signpost does). A record without a value that compares is emitted and leaves the
        # bookmark as it is; one warning per stream says so.
        incremental = self.incremental
        if incremental is None or incremental.get("end_value") is not None or self.replication_method != "INCREMENTAL":
            return  # only incremental streams have bookmarks, and a backfill (end_value) never moves one
        cursor = incremental["cursor_path"]
        value = latest_record.get(cursor)
        parsed = None if value is None else self.cursor_type.parse(value)
        if parsed is None:
            if value is None:
                # Said once, unless the first page said it all (cursor_watch); the closing line says the rest.
                if self.cursor_watch is not None:
                    self.cursor_watch.record_without_cursor(latest_record, self.record_key)
            else:
                self.warn_once(
                    "cursor value",
                    f"stream '{self.name}': a record whose cursor {cursor!r} is {value!r}, not {self.cursor_type.expected()} "
                    f"(key {self.record_key(latest_record)}), was emitted; such records do not move the bookmark",
                )
            return
        state = self.state_manager.get_context_state(context)
        in_order = self.is_sorted and self.state_partitioning_keys is None  # as the SDK's increment_state
        target = state if in_order else self._progress_markers(state)
        old = target.get("replication_key_value")
        if old is not None:
            seen = self._bookmark_seen
            previous = seen[1] if seen is not None and seen[0] is old else self.cursor_type.parse(old)
            self._bookmark_seen = (old, previous)
            if previous is None or previous[0] != parsed[0]:
                self.warn_once(
                    "bookmark kind",
                    f"stream '{self.name}': cursor {cursor!r} value {value!r} cannot be compared with the bookmark {old!r} "
                    "(another kind of value); the bookmark stays",
                )
                return
            if parsed[1] < previous[1] and self.check_sorted:
                if in_order:
                    raise InvalidStreamSortException(
                        f"Unsorted data detected in stream. Latest value '{value}' is smaller than previous max '{old}'."
                    )
                return
        if not in_order and parsed[0] == MOMENT and parsed[1] > self._sync_started:
            value = self._sync_started.isoformat()
        target["replication_key"] = cursor
        target["replication_key_value"] = value

    def closing_line(self, progress: Progress) -> str:
        """The stream's closing line (see ``progress``), with what its cursor did."""
        note = self.cursor_watch.closing_note(progress.records) if self.cursor_watch is not None else ""
        return progress.summary(self.retried, note)

    #: The last bookmark value compared with, and its parsed form (one parse per bookmark, not per record).
    _bookmark_seen: tuple[t.Any, t.Any] | None = None

    @staticmethod
    def _progress_markers(state: dict) -> dict:
        """Where an unsorted stream keeps the largest value while it runs (the SDK's progress markers,
        made the bookmark when the stream completes). ``StartingStream`` makes them before a context's
        first record and says once what they mean; the SDK's own warning would name no stream."""
        markers = state.get(PROGRESS_MARKERS)
        if markers is None:
            markers = state[PROGRESS_MARKERS] = {PROGRESS_MARKER_NOTE: "Progress is not resumable if interrupted."}
        return t.cast("dict", markers)
