"""A stream's primary key, required of every record the stream writes.

A record whose key field (any field of a composite key) is null or absent cannot be upserted (dlt
refuses a null merge key): with ``on_missing_key: error`` (the default) the stream stops before the
page that holds it is written, in one line naming its position; with ``drop`` such records are
skipped, one warning says so, and the stream's closing line counts them. ``schema_contract:
discard_value`` never takes a key value: such a record is one without its key.
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.errors import StreamError, stream_line
from tap_restgeneric.values import without_key

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from tap_restgeneric.streams.notes import Notes
    from tap_restgeneric.streams.progress import Progress

_FIX = "set on_missing_key: drop to skip such records"


class RequiredKey:
    """The key fields of one stream (none: nothing is required), and what a record without them meets."""

    def __init__(self, stream: str, fields: t.Sequence[str], *, drop: bool, progress: Progress, notes: Notes) -> None:
        self.stream = stream
        self.fields = tuple(fields)
        self.drop = drop
        self.progress = progress
        self.notes = notes

    def identity(self) -> Callable[[dict], t.Any] | None:
        """What makes two records the same for the loop guard (None: no key, their whole content)."""
        fields = self.fields
        return (lambda record: tuple(record.get(field) for field in fields)) if fields else None

    def describe(self, record: t.Mapping[str, t.Any]) -> dict[str, t.Any] | str:
        """How errors and warnings name a record: its key properties' values."""
        return {k: record.get(k) for k in self.fields} or "(no primary key)"

    def kept(self, records: list[dict], page_number: int, context_label: str = "") -> list[dict]:
        """The records of a page that have their key (``context_label``: the parent record they were read for)."""
        missing = without_key(records, self.fields) if self.fields else []
        if not missing:
            return records
        first = records[missing[0]]
        lacking = ", ".join(f"{k!r} is {'null' if k in first else 'absent'}" for k in self.fields if first.get(k) is None)
        where = f"record {missing[0] + 1} of page {page_number} has no value for its primary key ({lacking})"
        if not self.drop:
            message = f"{where}; a target that merges on the key cannot load it (on_missing_key: error; {_FIX})"
            raise StreamError(message, stream=self.stream, context=context_label)
        self.progress.dropped_without_key += len(missing)
        dropped = "dropped (on_missing_key: drop), and every such record after it; the stream's closing line counts them"
        self.notes.warn_once("missing key", stream_line(self.stream, f"{where}: {dropped}", context_label))
        skipped = set(missing)
        return [record for index, record in enumerate(records) if index not in skipped]

    def discarded(self, record: t.Mapping[str, t.Any], problem: str) -> None:
        """``schema_contract: discard_value`` would take the key of ``record`` for ``problem``: the stream
        stops, or (``drop``) the caller drops the record, counted here."""
        record_is = f"the record with key {self.describe(record)}"
        problem = f"{record_is}: {problem}, and schema_contract discard_value never discards a key value"
        if not self.drop:
            raise StreamError(f"{problem} (on_missing_key: error; {_FIX}, or declare the key's type)", stream=self.stream)
        self.progress.dropped_without_key += 1
        self.notes.warn_once("discarded key", stream_line(self.stream, f"{problem}: dropped (on_missing_key: drop)"))
