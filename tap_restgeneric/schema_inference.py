"""A JSON Schema from sample records, for custom resources that carry no ``schema``."""

from __future__ import annotations

import re
import typing as t

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Levels of nested objects and lists whose contents get a schema; deeper, an object or list is
#: written as it is: a record nested hundreds of levels would otherwise exhaust Python's recursion.
MAX_INFERRED_DEPTH = 32


def infer_schema(records: t.Iterable[dict], required: t.Sequence[str] = (), description: str = "") -> dict:
    """Every property nullable except ``required`` (the key properties)."""
    merged: dict[str, dict] = {}
    for record in records:
        for key, value in record.items():
            merged[key] = merge_schemas(merged.get(key), infer_value_schema(value))
    properties = {key: nullable(schema) for key, schema in merged.items()}
    for key in required:
        schema = properties.setdefault(key, {"type": ["string", "null"]})
        types = [t_ for t_ in schema_types(schema) if t_ != "null"] or ["string"]
        schema["type"] = types[0] if len(types) == 1 else types
    schema = {"type": "object", "properties": properties}
    if description:
        schema["description"] = description
    if required:
        schema["required"] = list(required)
    return schema


def schema_types(prop: t.Mapping[str, t.Any]) -> list[str]:
    """A JSON Schema's ``type`` as a list (``"string"`` -> ``["string"]``; none: ``[]``)."""
    value = prop.get("type") or []
    return [value] if isinstance(value, str) else list(value)


def infer_value_schema(value: t.Any, depth: int = MAX_INFERRED_DEPTH) -> dict:
    if depth <= 0 and isinstance(value, (dict, list)):
        return {"type": ["object" if isinstance(value, dict) else "array"]}  # no properties or items: as it is
    if value is None:
        return {"type": ["null"]}
    if isinstance(value, bool):
        return {"type": ["boolean"]}
    if isinstance(value, int):
        return {"type": ["integer"]}
    if isinstance(value, float):
        return {"type": ["number"]}
    if isinstance(value, str):
        if _DATETIME.match(value):
            return {"type": ["string"], "format": "date-time"}
        if _DATE.match(value):
            return {"type": ["string"], "format": "date"}
        return {"type": ["string"]}
    if isinstance(value, dict):
        return {"type": ["object"], "properties": {k: infer_value_schema(v, depth - 1) for k, v in value.items()}}
    if isinstance(value, list):
        items: dict | None = None
        for item in value:
            items = merge_schemas(items, infer_value_schema(item, depth - 1))
        return {"type": ["array"], "items": items or {}}
    return {"type": ["string"]}


def merge_schemas(a: dict | None, b: dict) -> dict:
    if a is None:
        return b
    types = sorted(set(schema_types(a)) | set(schema_types(b)))
    if "integer" in types and "number" in types:
        types.remove("integer")
    merged: dict[str, t.Any] = {"type": types}
    formats = {s.get("format") for s in (a, b) if "string" in schema_types(s)}
    if len(formats) == 1 and None not in formats:
        merged["format"] = formats.pop()
    if "object" in types:
        props = dict(a.get("properties", {}))
        for key, schema in b.get("properties", {}).items():
            props[key] = merge_schemas(props.get(key), schema)
        merged["properties"] = props
    if "array" in types:
        if a.get("items") and b.get("items"):
            merged["items"] = merge_schemas(a["items"], b["items"])
        else:
            merged["items"] = a.get("items") or b.get("items") or {}
    if len([t_ for t_ in types if t_ != "null"]) > 1 and "string" in types:
        # Mixed scalar types: keep the values as strings rather than lose records.
        merged = {"type": ["string", "null"] if "null" in types else ["string"]}
    return merged


def nullable(schema: dict) -> dict:
    types = schema_types(schema)
    if "null" not in types:
        types.append("null")
    out = dict(schema, type=types)
    if "properties" in out:
        out["properties"] = {k: nullable(v) for k, v in out["properties"].items()}
    if out.get("items"):
        out["items"] = nullable(out["items"])
    return out
