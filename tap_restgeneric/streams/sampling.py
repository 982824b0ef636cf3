"""A stream's schema: declared (the resource's, or a preset's), from the catalog, or inferred.

A resource without a schema is sampled at discovery: up to ``INFERENCE_MAX_PAGES`` pages
(``INFERENCE_MAX_RECORDS`` records) of real responses; a child resource under the sampled
records of its parent (up to ``INFERENCE_MAX_PARENTS`` of them). Under ``--record`` the schema it
runs with is kept in the recording, and ``--replay`` takes it from there instead of sampling
(see :mod:`tap_restgeneric.transport.recording`).
"""

from __future__ import annotations

import functools
import typing as t

from typing_extensions import override

from tap_restgeneric.errors import SourceConfigError
from tap_restgeneric.schema_inference import infer_schema
from tap_restgeneric.streams.tree import TreeStream
from tap_restgeneric.values import start_value_problems

if t.TYPE_CHECKING:
    from singer_sdk.singerlib import Catalog

    from tap_restgeneric.paging.page_loop import PageFetcher
    from tap_restgeneric.source.model import ResourceConfig
    from tap_restgeneric.transport.recording import Tape

#: Discovery samples up to this many pages of a resource that has no schema.
INFERENCE_MAX_PAGES = 5
INFERENCE_MAX_RECORDS = 1000
#: A child resource is sampled under this many of its parent's sampled records.
INFERENCE_MAX_PARENTS = 20


class SampledStream(TreeStream):
    """The schema part of a resource's stream (``_fetcher`` is the resource stream's)."""

    resource: t.ClassVar[ResourceConfig]
    #: The parent resource's stream, whose sampled records a child's schema is inferred under.
    parent: SampledStream | None = None
    _schema_completed = False
    #: Whether a stream without a schema samples the API for one (the doctor's streams do not).
    sample_for_schema = True
    #: No schema was declared or sampled (the doctor has nothing to compare its sample with).
    schema_unknown = False
    #: ``--record``: keeps the schema of a stream without a declared one; ``--replay``: gives it back.
    tape: Tape | None = None

    def _fetcher(self, context: t.Any, start: t.Any, *, concurrency: int) -> PageFetcher:
        raise NotImplementedError

    def processed(self, records: list[dict]) -> list[dict]:
        """The records of a page as they will be written (the resource stream applies its steps)."""
        return records

    @property
    @override
    def schema(self) -> dict:
        # The SDK keeps the schema in private attributes; inferring it lazily means overriding this property.
        if self._schema is None:
            self._schema = self._input_schema or self._infer_schema()
            if self.tape is not None and not self.tape.replaying:
                self.tape.keep_schema(self.name, self._schema)
        if not self._schema_completed:
            self._schema_completed = True
            if self.link and self.link.include and self.parent:
                self._schema = self.with_parent_fields_schema(self._schema, self.parent.schema)
            if self.resource["columns"]:  # dlt's columns hint: its types win over declared or inferred ones
                self._schema = {**self._schema, "properties": {**self._schema.get("properties", {}), **self.resource["columns"]}}
        return self._schema

    @override
    def apply_catalog(self, catalog: Catalog) -> None:
        super().apply_catalog(catalog)
        # A run with --catalog never reads ``schema``: the SDK writes and conforms to the catalog's.
        if self._schema is None and self._input_schema is not None and self.tape is not None and not self.tape.replaying:
            self.tape.keep_schema(self.name, self._input_schema)

    @functools.cached_property
    def sampled_records(self) -> list[dict]:
        """Records of the first pages (a child: of the first parents' sampled records)."""
        records: list[dict] = []
        contexts: list[t.Any] = [None]
        if self.parent:
            contexts = self.sampling_contexts(self.parent.sampled_records[:INFERENCE_MAX_PARENTS], self.parent)
        for context in contexts:
            for page_number, page in enumerate(self._fetcher(context, None, concurrency=1).pages()):
                records.extend(self.processed(self.with_parent_fields(page.records, context)))  # as they will be written
                if page_number + 1 >= INFERENCE_MAX_PAGES or len(records) >= INFERENCE_MAX_RECORDS:
                    break
            if len(records) >= INFERENCE_MAX_RECORDS:
                break
        return records

    def _infer_schema(self) -> dict:
        """Sample the API (several pages when it has them) and infer a schema."""
        if not self.sample_for_schema:  # the doctor's streams: its probes are the only requests
            self.schema_unknown = True
            return {"type": "object", "properties": {}}
        recorded = self.tape.schema_of(self.name) if self.tape is not None and self.tape.replaying else None
        if recorded is not None:  # the recorded run's: no sampling requests, whether it sampled or had --catalog
            schema = recorded
        else:
            records = self.sampled_records
            schema = infer_schema(
                records,
                required=list(self.resource["primary_key"]),
                description=(
                    f"Stream {self.resource['name']}: {self.http_method} {self.path} "
                    f"(inferred from {len(records)} sampled records)."
                ),
            )
        incremental = self.resource["endpoint"].get("incremental")
        if incremental:  # the replication key belongs in the schema even if no sample had it
            schema["properties"].setdefault(incremental["cursor_path"], {"type": ["string", "null"]})
            # A start that cannot compare with the cursor values seen (``yesterday`` for dates) would
            # silently drop every record, or none: a config error, as for a declared schema.
            problems = start_value_problems(self.name, incremental, schema, self.settings.start_date)
            if problems:
                raise SourceConfigError(problems)
        return schema
