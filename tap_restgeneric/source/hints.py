"""dlt's loading hints on a resource: those with a Singer meaning are mapped, the rest accepted.

- ``columns`` (``{name: {data_type: bigint, nullable: false}}``, or a list with ``name``): the
  column types are merged into the stream's schema (over a declared or inferred type);
- ``selected: false``, and ``write_disposition: skip``: the stream is not selected by default in
  the catalog (dlt does not load it; select it to sync it);
- ``table_name``, and the hints that shape dlt's own destination tables (``max_table_nesting``,
  ``merge_key``, ``table_format``, ``file_format``, ``parallelized``, ``nested_hints``,
  ``references``, ``parent_table_name``): accepted, with one info line saying why they are
  ignored (the target shapes its tables; Singer stream names are the resource names).
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.errors import config_path

#: dlt hints the tap accepts without acting on them, with the reason given to the user.
IGNORED_HINTS = {
    "table_name": "the Singer stream is named after the resource; rename the table with a stream map "
    "(stream_maps: {<resource>: {__alias__: <table>}})",
    "max_table_nesting": "the target decides how nested data is stored (see flattening_enabled)",
    "merge_key": "the target decides how records are merged; key properties come from primary_key",
    "table_format": "the target decides the table format",
    "file_format": "the target decides the file format",
    "parallelized": "the tap requests pages and children concurrently on its own (max_concurrency)",
    "nested_hints": "the target decides how nested data is stored",
    "references": "the target decides table references",
    "parent_table_name": "the target decides table names",
}
#: dlt's column data types -> JSON Schema.
DATA_TYPES: dict[str, dict[str, t.Any]] = {
    "text": {"type": ["string", "null"]},
    "bigint": {"type": ["integer", "null"]},
    "double": {"type": ["number", "null"]},
    "decimal": {"type": ["number", "null"]},
    "wei": {"type": ["number", "null"]},
    "bool": {"type": ["boolean", "null"]},
    "timestamp": {"type": ["string", "null"], "format": "date-time"},
    "date": {"type": ["string", "null"], "format": "date"},
    "time": {"type": ["string", "null"], "format": "time"},
    "binary": {"type": ["string", "null"]},
    "json": {"type": ["object", "array", "string", "number", "integer", "boolean", "null"]},
    "complex": {"type": ["object", "array", "string", "number", "integer", "boolean", "null"]},
}


def column_schemas(columns: t.Any, where: str, problem: t.Callable[[str, str], None]) -> dict[str, dict]:
    """dlt's ``columns`` -> {column: JSON Schema} (a column without data_type is left to the schema)."""
    if isinstance(columns, list):
        named = {}
        for i, column in enumerate(columns):
            if not isinstance(column, dict) or not isinstance(column.get("name"), str):
                problem(f"{where}[{i}]", "a column in a list needs a `name`")
                continue
            named[column["name"]] = column
        columns = named
    found: dict[str, dict] = {}
    for name, column in (columns or {}).items():
        if not isinstance(column, dict):
            problem(config_path(where, name), f"expected a column such as {{data_type: bigint, nullable: false}}, got {column!r}")
            continue
        kind = column.get("data_type")
        if kind is None:
            continue
        if kind not in DATA_TYPES:
            problem(config_path(config_path(where, name), "data_type"), f"{kind!r} is not one of {', '.join(DATA_TYPES)}")
            continue
        schema = dict(DATA_TYPES[kind])
        if column.get("nullable") is False:
            schema["type"] = [k for k in schema["type"] if k != "null"]
        found[name] = schema
    return found


def ignored_hints(resource: t.Mapping[str, t.Any], where: str) -> list[str]:
    """One note per dlt hint the tap accepts but does not act on."""
    return [f"{where}.{hint}: accepted and ignored: {why}" for hint, why in IGNORED_HINTS.items() if hint in resource]
