"""A dialect schema violation in words: the key's path, what was expected, the valid values."""

from __future__ import annotations

import typing as t

from tap_restgeneric.errors import format_path
from tap_restgeneric.output.redact import excerpt

if t.TYPE_CHECKING:
    import jsonschema


def schema_problem(error: jsonschema.ValidationError) -> str:
    path = list(error.absolute_path)
    schema: t.Any = error.schema
    expected: t.Any = error.validator_value
    where = format_path(path) or "(top level)"
    validator = error.validator
    if validator == "enum":
        return f"{where}: {error.instance!r} is not one of {', '.join(map(str, expected))}"
    if validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        written: t.Any = error.instance
        extra = sorted(set(written) - set(allowed))
        return "; ".join(f"{format_path([*path, key])}: unknown key (valid keys: {', '.join(allowed)})" for key in extra)
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"{format_path([*path, missing])}: required key is missing"
    if validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return excerpt(f"{where}: expected {expected}, got {json_type(error.instance)} {error.instance!r}", 300)
    if validator == "pattern":
        return f"{where}: {error.instance!r} is not a valid name (letters, digits and _, not starting with a digit)"
    if validator == "minItems":
        return f"{where}: at least {error.validator_value} item(s) required, got none"
    if validator in ("minimum", "maximum", "minLength"):
        return f"{where}: {error.message}"
    return excerpt(f"{where}: {error.message}", 300)


def json_type(value: t.Any) -> str:
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "integer",
        float: "number",
        type(None): "null",
    }.get(type(value), type(value).__name__)
