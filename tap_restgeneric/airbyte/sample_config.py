"""A connector config made up from a spec, for checking what the tap refuses in a manifest without one.

Each property gets its ``const``, ``default``, first ``examples`` or ``enum`` value, else a value of its type
(a date-time for ``format: date-time`` or a pattern that looks like one, an object of its properties, the
first ``oneOf`` branch). Only the corpus check translates with it; no request is ever sent with it.
"""

from __future__ import annotations

import typing as t

_DATE_TIME = "2024-01-01T00:00:00Z"
_DATE = "2024-01-01"


def sample(schema: t.Mapping[str, t.Any], depth: int = 0) -> t.Any:
    """A value the schema describes (``None`` past a sane depth)."""
    if depth > 8 or not isinstance(schema, t.Mapping):
        return None
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    for key in ("examples", "enum"):
        values = schema.get(key)
        if isinstance(values, list) and values:
            return values[0]
    branches = schema.get("oneOf") or schema.get("anyOf")
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if kind == "object" or "properties" in schema or branches:
        found = {key: sample(value, depth + 1) for key, value in (schema.get("properties") or {}).items()}
        if isinstance(branches, list) and branches and isinstance(branches[0], t.Mapping):
            first = sample(branches[0], depth + 1)
            if isinstance(first, dict):
                found.update(first)
        return found
    if kind == "array":
        item = sample(schema.get("items") or {}, depth + 1)
        return [] if item is None else [item]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    text = f"{schema.get('format', '')} {schema.get('pattern', '')}"
    if "date-time" in text or "T" in str(schema.get("pattern", "")):
        return _DATE_TIME
    if "date" in text or "[0-9]{4}-" in text:
        return _DATE
    return "x"
