"""Values the tap compares across config, state and records: cursors, by what they are.

A cursor value is compared as a moment (ISO 8601 dates and date-times, offsets normalised to
UTC, a date being its midnight UTC, a date-time without an offset being UTC), as a number, or as
text, never as text when it is one of the others: ``"2024-01-01T10:00:00+02:00"`` is before
``"2024-01-01T09:00:00Z"``, and ``"2024-01-01T09:00:00.5Z"`` after ``"2024-01-01T09:00:00Z"``.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import math
import re
import typing as t

from tap_restgeneric.schema_inference import schema_types

#: Kinds of cursor values (a ``Comparable`` is a kind and a value that compares within it).
MOMENT, NUMBER, TEXT = "date-time", "number", "text"
Comparable = tuple[str, t.Any]
_WHAT = {MOMENT: "an ISO 8601 date or date-time", NUMBER: "a number", TEXT: "text"}


def parse_date(value: str) -> datetime.datetime | None:
    """An ISO 8601 date or date-time (``Z`` allowed), or None."""
    text = value.strip()
    try:
        return datetime.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None


_FROM_ISO = datetime.datetime.fromisoformat
_UTC = datetime.timezone.utc


def parse_moment(value: str) -> datetime.datetime | None:
    """An ISO 8601 date or date-time as an aware date-time (UTC when it states no offset), or None.
    (Once per record of an incremental stream: Python 3.11's own parser first, which reads ``Z``.)"""
    try:
        moment: datetime.datetime | None = _FROM_ISO(value)
    except ValueError:
        moment = parse_date(value)  # spaces around it, a lower-case z
        if moment is None:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=_UTC)  # type: ignore[union-attr]


@dataclasses.dataclass(frozen=True)
class CursorType:
    """How the values of one stream's cursor compare: as the schema types the cursor (``number``
    for integer/number, ``date-time`` for a string of format date-time or date), else each value by
    what it is (a number, an ISO 8601 moment, or text). Only values of one kind compare."""

    field: str
    #: MOMENT or NUMBER when the schema says so; None: each value by what it is.
    kind: str | None = None

    @classmethod
    def of(cls, field: str, prop: t.Mapping[str, t.Any] | None) -> CursorType:
        if not prop:
            return cls(field)
        types = set(schema_types(prop))
        types.discard("null")
        if types and types <= {"integer", "number"}:
            return cls(field, NUMBER)
        if types <= {"string"} and prop.get("format") in ("date-time", "date"):
            return cls(field, MOMENT)
        return cls(field)

    def parse(self, value: t.Any) -> Comparable | None:
        """``value`` as a (kind, value) that compares with others of its kind; None: not a value
        of this cursor (another type than the schema's, a boolean, an object, NaN)."""
        kind = self.kind
        if isinstance(value, str):  # the common case first: once or twice per record
            if kind == NUMBER:
                return None
            moment = parse_moment(value)
            if moment is not None:
                return MOMENT, moment
            return (TEXT, value) if kind is None else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return (NUMBER, value) if kind != MOMENT and math.isfinite(value) else None

    def expected(self) -> str:
        """What a value of this cursor is, for error messages."""
        return _WHAT[self.kind] if self.kind else "a number, an ISO 8601 date or date-time, or text"


def describe(value: Comparable) -> str:
    return _WHAT[value[0]]


def start_value_problems(stream: str, incremental: t.Mapping[str, t.Any], schema: dict | None, start_date: t.Any) -> list[str]:
    """``initial_value`` (else ``start_date``) and ``end_value`` must compare with the cursor's values
    as the schema types them: a date for an integer cursor, or ``yesterday`` for a date-time, would
    drop every record or none."""
    cursor = incremental["cursor_path"]
    properties = (schema or {}).get("properties") or {}
    if schema is not None and cursor not in properties:
        return [
            (
                f"{stream}: incremental.cursor_path: {cursor!r} is not a property of the stream's schema "
                f"(its properties: {', '.join(properties)})"
            )
        ]
    declared = properties.get(cursor)
    initial = incremental.get("initial_value")
    where, value = (f"{stream}: incremental.initial_value", initial) if initial is not None else ("start_date", start_date)
    if not declared:
        return []
    types = set(schema_types(declared))
    numeric = sorted({"integer", "number"} & types)
    cursor_type = CursorType.of(cursor, declared)
    problems = []
    for place, given in ((where, value), (f"{stream}: incremental.end_value", incremental.get("end_value"))):
        if given is None:
            continue
        if numeric and (isinstance(given, bool) or not isinstance(given, (int, float))):
            problems.append(
                f"{place}: {given!r} cannot be compared with cursor {cursor!r} of stream {stream!r} ({'/'.join(numeric)})"
            )
        elif cursor_type.parse(given) is None:
            problems.append(f"{place}: {given!r} is not {cursor_type.expected()} like cursor {cursor!r} of stream {stream!r}")
    return problems


def without_key(records: list[dict], keys: t.Sequence[str]) -> list[int]:
    """The positions of the records whose key (any field of it) is null or absent: a pass over a
    page per stream with a key, so one comprehension without a generator per record."""
    if len(keys) == 1:
        field = keys[0]
        return [index for index, record in enumerate(records) if record.get(field) is None]
    return [index for index, record in enumerate(records) if any(record.get(k) is None for k in keys)]


_NUMBER = re.compile(r"^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def number(value: t.Any) -> int | float | decimal.Decimal | None:
    """A number given as one or as numeric text (``" 3600 "``, ``"1.5e3"``); None for anything else (a bool too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and _NUMBER.match(value):
        text = value.strip()
        return int(text) if text.lstrip("-").isdigit() else decimal.Decimal(text)
    return None


def whole(value: float | decimal.Decimal | None) -> int | None:
    """A number as a whole number (truncated), None when there is none or it is not finite."""
    return int(value) if value is not None and math.isfinite(value) else None
