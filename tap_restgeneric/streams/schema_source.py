"""A stream's schema: declared (the resource's, or a preset's), from the catalog, recorded, or inferred.

A resource without a schema is sampled at discovery: up to ``INFERENCE_MAX_PAGES`` pages
(``INFERENCE_MAX_RECORDS`` records) of real responses; a child resource under the sampled
records of its parent (up to ``INFERENCE_MAX_PARENTS`` of them). Under ``--record`` the schema it
runs with is kept in the recording, and ``--replay`` takes it from there instead of sampling
(see :mod:`tap_restgeneric.transport.recording`). The doctor's streams do not sample (its probes
are its only requests): their schema is unknown, and said so.

Whatever its source, the schema then holds the parent fields a child copies (typed as in the
parent's schema) and dlt's ``columns`` hint, whose types win.
"""

from __future__ import annotations

import dataclasses
import functools
import typing as t

from tap_restgeneric.errors import SourceConfigError
from tap_restgeneric.schema_inference import infer_schema
from tap_restgeneric.source.parent_link import child_context
from tap_restgeneric.values import CursorType, start_value_problems

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tap_restgeneric.source.model import ResourceConfig
    from tap_restgeneric.transport.recording import Tape

#: Discovery samples up to this many pages of a resource that has no schema.
INFERENCE_MAX_PAGES = 5
INFERENCE_MAX_RECORDS = 1000
#: A child resource is sampled under this many of its parent's sampled records.
INFERENCE_MAX_PARENTS = 20


@dataclasses.dataclass(kw_only=True)
class SchemaSource:
    """One stream's schema (see the module docstring).

    ``sample(context)`` yields the records of a context's first pages as they will be written (None:
    the stream does not sample); ``parent`` is a child's parent's schema source, whose sampled records
    and schema the child's are made under; ``describe_key`` names a parent record in errors."""

    resource: ResourceConfig
    declared: dict | None
    method: str
    path: str
    tape: Tape | None
    start_date: str | None
    sample: Callable[[t.Any], Iterator[list[dict]]] | None
    parent: SchemaSource | None = None
    describe_key: Callable[[dict], t.Any] = lambda record: None
    #: No schema was declared or sampled (the doctor has nothing to compare its sample with).
    unknown: bool = dataclasses.field(default=False, init=False)
    _catalog: dict | None = dataclasses.field(default=None, init=False)

    @property
    def name(self) -> str:
        return self.resource["name"]

    def use_catalog(self, catalog_schema: dict) -> None:
        """The SDK applied ``--catalog``: a stream without a declared schema runs with the catalog's (and a
        run with ``--catalog`` never samples; the recording keeps the catalog's)."""
        self._catalog = catalog_schema
        if self.declared is None and self.tape is not None and not self.tape.replaying:
            self.tape.keep_schema(self.name, catalog_schema)

    @functools.cached_property
    def current(self) -> dict:
        """The stream's schema: declared, else the catalog's, recorded or sampled; with the copied parent
        fields (typed as in the parent's) and dlt's ``columns``."""
        schema = self.declared
        if schema is None:
            schema = self._catalog or self._inferred()
            if self.tape is not None and not self.tape.replaying:
                self.tape.keep_schema(self.name, schema)
        link = self.resource["parent"]
        if link is not None and link.include and self.parent is not None:
            schema = link.schema_with_included(schema, self.parent.current)
        if self.resource["columns"]:  # dlt's columns hint: its types win over declared or inferred ones
            schema = {**schema, "properties": {**schema.get("properties", {}), **self.resource["columns"]}}
        return schema

    @property
    def effective(self) -> dict:
        """The schema records are written with: the catalog's, else the stream's (as the SDK's ``effective_schema``)."""
        return self._catalog if self._catalog is not None else self.current

    @functools.cached_property
    def cursor_type(self) -> CursorType:
        """How an incremental stream's cursor values compare (as its schema types the cursor)."""
        incremental = self.resource["endpoint"].get("incremental")
        assert incremental is not None
        cursor = incremental["cursor_path"]
        return CursorType.of(cursor, (self.effective.get("properties") or {}).get(cursor))

    @functools.cached_property
    def sampled_records(self) -> list[dict]:
        """Records of the first pages (a child: of the first parents' sampled records)."""
        assert self.sample is not None
        records: list[dict] = []
        contexts: list[t.Any] = [None]
        link = self.resource["parent"]
        if self.parent is not None and link is not None:
            parents = self.parent.sampled_records[:INFERENCE_MAX_PARENTS]
            contexts = [child_context(record, [(self.name, link)], self.parent.describe_key) for record in parents]
        for context in contexts:
            for page_number, page in enumerate(self.sample(context)):
                records.extend(page)
                if page_number + 1 >= INFERENCE_MAX_PAGES or len(records) >= INFERENCE_MAX_RECORDS:
                    break
            if len(records) >= INFERENCE_MAX_RECORDS:
                break
        return records

    def _inferred(self) -> dict:
        """Sample the API (several pages when it has them) and infer a schema."""
        if self.sample is None:  # the doctor's streams: its probes are the only requests
            self.unknown = True
            return {"type": "object", "properties": {}}
        recorded = self.tape.schema_of(self.name) if self.tape is not None and self.tape.replaying else None
        if recorded is not None:  # the recorded run's: no sampling requests, whether it sampled or had --catalog
            schema = recorded
        else:
            records = self.sampled_records
            schema = infer_schema(
                records,
                required=list(self.resource["primary_key"]),
                description=f"Stream {self.name}: {self.method} {self.path} (inferred from {len(records)} sampled records).",
            )
        incremental = self.resource["endpoint"].get("incremental")
        if incremental:  # the replication key belongs in the schema even if no sample had it
            schema["properties"].setdefault(incremental["cursor_path"], {"type": ["string", "null"]})
            # A start that cannot compare with the cursor values seen (``yesterday`` for dates) would
            # silently drop every record, or none: a config error, as for a declared schema.
            problems = start_value_problems(self.name, incremental, schema, self.start_date)
            if problems:
                raise SourceConfigError(problems)
        return schema
