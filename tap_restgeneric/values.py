"""Values the tap compares across config and records: ISO 8601 dates and date-times."""

from __future__ import annotations

import datetime
import typing as t


def parse_date(value: str) -> datetime.datetime | None:
    """An ISO 8601 date or date-time (``Z`` allowed), or None."""
    text = value.strip()
    try:
        return datetime.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None


def start_value_problems(stream: str, incremental: t.Mapping[str, t.Any], schema: dict | None, start_date: t.Any) -> list[str]:
    """``initial_value`` (else ``start_date``) must compare with the cursor's values as the schema
    types them: a date for an integer cursor, or ``yesterday`` for a date-time, would drop every
    record or none."""
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
    if not declared or value is None:
        return []
    types = {declared["type"]} if isinstance(declared.get("type"), str) else set(declared.get("type") or [])
    numeric = sorted({"integer", "number"} & types)
    if numeric and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return [f"{where}: {value!r} cannot be compared with cursor {cursor!r} of stream {stream!r} ({'/'.join(numeric)})"]
    if declared.get("format") in ("date-time", "date") and not (isinstance(value, str) and parse_date(value)):
        return [f"{where}: {value!r} is not an ISO 8601 date or date-time like cursor {cursor!r} of stream {stream!r}"]
    return []
