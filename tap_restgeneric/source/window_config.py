"""Date windows and list partitions, typed: plain values that know no dialect.

The dlt dialect (``source.window_dialect``) compiles ``endpoint.incremental``'s window keys and a
resource's ``partitions`` into these; the Airbyte front-end builds the same objects from a
``DatetimeBasedCursor`` and a ``ListPartitionRouter``.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import typing as t

if t.TYPE_CHECKING:
    import datetime

    from tap_restgeneric.datetimes import Duration

#: Where a value goes in a request (``path``: only partitions, read as ``{partition.<name>}`` there).
InjectInto = t.Literal["request_parameter", "header", "body_json", "body_data", "path"]


@dataclasses.dataclass(frozen=True)
class RequestOption:
    """Where a window bound (or a partition value) is sent, under which name; a bound in its own format."""

    inject_into: InjectInto
    field_name: str
    datetime_format: str | None = None


@dataclasses.dataclass(frozen=True)
class WindowConfig:
    """An incremental resource's date windows (Airbyte's ``DatetimeBasedCursor``).

    ``start`` is the configured start before its bounds (None: the ``start_date`` setting), ``end``
    the configured end (None: the sync's now)."""

    cursor_field: str
    #: What is sent and stored (the bookmark's format).
    datetime_format: str
    #: Tried in order to read a record's cursor, then ``datetime_format``.
    cursor_formats: tuple[str, ...]
    step: Duration | None
    granularity: Duration | None
    lookback: Duration | None
    start: str | None
    end: str | None
    min_datetime: str | None
    max_datetime: str | None
    start_option: RequestOption | None
    end_option: RequestOption | None
    is_data_feed: bool = False
    is_client_side: bool = False
    #: dlt's ``end_value``: a backfill, which keeps no bookmark.
    backfill: bool = False

    @functools.cached_property  # (read for every record's cursor: built once; frozen, so it cannot go stale)
    def parse_formats(self) -> tuple[str, ...]:
        return (*self.cursor_formats, self.datetime_format)


@dataclasses.dataclass(frozen=True)
class ListPartition:
    """One list a resource is read once per value of (Airbyte's ``ListPartitionRouter``)."""

    name: str
    values: tuple[str, ...]
    #: Where the value goes (None: only where a template reads ``partition.<name>``).
    option: RequestOption | None


def partition_product(lists: t.Sequence[ListPartition]) -> list[dict[str, str]]:
    """The partitions of several lists: their cartesian product, in the lists' order (none: one, empty)."""
    return [dict(zip([p.name for p in lists], values, strict=True)) for values in itertools.product(*(p.values for p in lists))]


@dataclasses.dataclass(frozen=True)
class Slice:
    """One request range: a partition's values and, with windows, one window's bounds as sent."""

    partition: t.Mapping[str, str]
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    #: What goes into the requests: (inject_into, field name, value).
    injections: tuple[tuple[str, str, str], ...] = ()
    #: What templates read as ``incremental.start_value`` / ``incremental.end_value`` (the bounds as sent).
    start_text: str | None = None
    end_text: str | None = None
