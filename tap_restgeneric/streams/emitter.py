"""A stream's records on their way out: RECORD messages with the conformance pass only where it matters.

The SDK conforms every record to its schema (about 45 % of a record's cost); a record decoded from
JSON needs it only when ``ConformanceCheck`` (generated once per schema) says so. A record that does
not fit goes through the stream's ``schema_contract`` (``schema_drift.reconcile``): it is dropped,
changed, or the schema evolves (a new SCHEMA before the record). Records go straight to the tap's
writer (``output.writer``) when nothing else must see them (no stream map, flattening or deselected
property); the records of one page share one ``time_extracted``.
"""

from __future__ import annotations

import datetime
import typing as t

from singer_sdk.helpers._typing import conform_record_data_types  # private module: the SDK's own conformance
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform

from tap_restgeneric.errors import stream_line
from tap_restgeneric.output.batches import BatchFiles
from tap_restgeneric.output.conformance import ConformanceCheck
from tap_restgeneric.output.writer import BufferedSingerWriter
from tap_restgeneric.schema_drift import Contract, reconcile

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Iterator

    from singer_sdk.helpers._batch import BatchConfig
    from singer_sdk.mapper import StreamMap

    from tap_restgeneric.streams.keys import RequiredKey


class Output(t.NamedTuple):
    """Where a sync's records go: the tap's writer for records written as they are (None: the SDK's path),
    and how the SDK conforms records (its ``TYPE_CONFORMANCE_LEVEL``)."""

    writer: BufferedSingerWriter | None
    conformance: TypeConformanceLevel


class RecordEmitter:
    """Fits and writes one stream's records (see the module docstring)."""

    def __init__(
        self,
        *,
        stream: str,
        primary_keys: t.Sequence[str],
        contract: Contract,
        key: RequiredKey,
        logger: logging.Logger,
        as_received: bool = False,
    ) -> None:
        self.stream = stream
        #: Records written as the API sent them, whatever the schema (an Airbyte manifest's streams).
        self.as_received = as_received
        self.primary_keys = list(primary_keys)
        self.contract = contract
        self.key = key
        self.logger = logger
        self._output: Output | None = None
        self._schema: dict = {}
        self._fits: Callable[[dict], bool] = lambda record: True
        self._drifted: set[str] = set()
        self._extracted_at: datetime.datetime | None = None

    @property
    def started(self) -> bool:
        return self._output is not None

    def start(self, schema: dict, output: Output) -> None:
        """The sync's first record is near: the schema records are fitted to, and where they go."""
        self._output = output
        self._schema = schema
        if not self.as_received:
            self._fits = ConformanceCheck(schema).check

    @property
    def plain(self) -> bool:
        """Records go to the tap's writer as they are (not through the SDK's path)."""
        return self._output is not None and self._output.writer is not None

    def new_page(self) -> None:
        """The records that follow are another page's (their ``time_extracted``)."""
        self._extracted_at = datetime.datetime.now(datetime.timezone.utc)

    def write(self, record: dict, version: int | None) -> None:
        """A fitted record as a RECORD message, on the plain path."""
        writer = self._output.writer if self._output is not None else None
        assert writer is not None
        writer.write_record(self.stream, record, version, self._extracted_at)

    def fitted(self, record: dict, evolve: Callable[[dict], None]) -> dict | None:
        """The record as the stream writes it: unchanged when ``ConformanceCheck`` says it fits the schema,
        else under the ``schema_contract`` (None: dropped), and conformed on the plain path (the SDK's
        path conforms it anyway). ``evolve(schema)``: the stream renews its schema where the SDK keeps it
        and writes the SCHEMA message (the schema is SDK state)."""
        if self.as_received or self._fits(record):
            return record
        fitted = self._reconcile(record, evolve)
        output = self._output
        if (
            fitted is not None
            and output is not None
            and output.writer is not None
            and output.conformance != TypeConformanceLevel.NONE
        ):
            fitted = conform_record_data_types(
                stream_name=self.stream, record=fitted, schema=self._schema, level=output.conformance, logger=self.logger
            )
        return fitted

    def _reconcile(self, record: dict, evolve: Callable[[dict], None]) -> dict | None:
        """A record that does not fit the schema, under the stream's ``schema_contract``: the record to
        write (None: dropped); an evolved schema is written (SCHEMA) before it."""
        outcome = reconcile(self._schema, record, self.contract, self.stream, self.key.describe(record), self.primary_keys)
        if outcome.key_discarded is not None:
            self.key.discarded(record, outcome.key_discarded)
            return None
        if outcome.schema is not None:
            self._schema = outcome.schema
            evolve(outcome.schema)
            self._fits = ConformanceCheck(outcome.schema).check
            for change in outcome.changes:
                if change not in self._drifted:
                    self._drifted.add(change)
                    self.logger.warning("%s", stream_line(self.stream, f"schema evolved: {change} (schema_contract evolve)"))
        return outcome.record


def plain_output_applies(stream_maps: list[StreamMap], mask: t.Mapping[t.Any, bool], stream: str) -> bool:
    """Records can go out as they are: no stream map, flattening or deselected property needs the SDK's path."""
    maps = stream_maps
    return (
        len(maps) == 1
        and type(maps[0]) is SameRecordTransform
        and maps[0].stream_alias == stream
        and not (maps[0].flattening_options and maps[0].flattening_enabled)
        and all(mask.values())
    )


def output_of(writer: t.Any, plain: bool, conformance: TypeConformanceLevel) -> Output:
    """Where a sync's records go: the tap's writer on the plain path (a writer other than the tap's,
    levers.py's SDK variant, takes the SDK's path)."""
    return Output(writer if plain and isinstance(writer, BufferedSingerWriter) else None, conformance)


def batch_files(
    batch_config: BatchConfig, tap_name: str, stream: str, records: Iterable[dict | None]
) -> Iterator[tuple[t.Any, list[str]]]:
    """With ``batch_config``: records (as written; None: dropped) into batch files (``output.batches``): the
    encoding and the files of each batch, for the SDK to write a BATCH message and a STATE that covers it."""
    files = BatchFiles(batch_config, tap_name, stream)
    for record in records:
        manifest = files.add(record) if record is not None else None
        if manifest:
            yield batch_config.encoding, manifest
    manifest = files.finish()
    if manifest:
        yield batch_config.encoding, manifest
