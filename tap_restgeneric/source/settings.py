"""The tap's own settings, checked before anything runs, in the tap's one-line format.

Numbers arrive as strings from ``--config ENV`` and from Meltano settings of kind ``string``
(Meltano 4 crashes on a ``decimal`` setting given through its environment variable), so a
numeric setting is accepted as a number or a numeric string and becomes a number. Every
setting is then checked against the tap's config schema (types, and the ranges it states
with ``minimum`` / ``exclusiveMinimum``), and ``start_date`` must be an ISO 8601 date or
date-time: a value such as ``yesterday`` would otherwise be sent as is and drop every record.
"""

from __future__ import annotations

import decimal
import typing as t

import jsonschema

from tap_restgeneric.output.redact import excerpt
from tap_restgeneric.source.validation import format_path
from tap_restgeneric.values import parse_date


def _types(prop: t.Mapping[str, t.Any]) -> list[str]:
    kind = prop.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def _number(name: str, value: t.Any, integer: bool) -> tuple[t.Any, str | None]:
    if isinstance(value, bool):
        return value, f"{name}: expected a number, got {value!r}"
    if isinstance(value, (str, decimal.Decimal, float)) and not isinstance(value, int):
        try:
            parsed = decimal.Decimal(str(value).strip())
        except decimal.InvalidOperation:
            return value, f"{name}: expected a number, got {value!r}"
        if not parsed.is_finite():
            return value, f"{name}: expected a number, got {value!r}"
        if integer:
            if parsed != parsed.to_integral_value():
                return value, f"{name}: expected a whole number, got {value!r}"
            return int(parsed), None
        return (int(parsed) if parsed == parsed.to_integral_value() and "." not in str(value) else float(parsed)), None
    return value, None


def check_settings(settings: t.Mapping[str, t.Any], schema: t.Mapping[str, t.Any]) -> tuple[dict[str, t.Any], list[str]]:
    """(the settings with numbers parsed, the problems found: one line each, naming the setting)."""
    checked = dict(settings)
    problems: list[str] = []
    properties = schema.get("properties", {})
    for name, prop in properties.items():
        types = _types(prop)
        if checked.get(name) is None or not {"integer", "number"} & set(types):
            continue
        checked[name], problem = _number(name, checked[name], integer="number" not in types)
        if problem:
            problems.append(problem)
    if problems:
        return checked, problems
    for error in sorted(jsonschema.Draft7Validator(schema).iter_errors(checked), key=lambda e: list(map(str, e.absolute_path))):
        where = format_path(error.absolute_path) or "(settings)"
        if error.validator in ("minimum", "exclusiveMinimum", "maximum"):
            relation = {"minimum": "at least", "exclusiveMinimum": "greater than", "maximum": "at most"}[str(error.validator)]
            problems.append(f"{where}: must be {relation} {error.validator_value}, got {error.instance!r}")
        elif error.validator == "type":
            expected = " or ".join(t_ for t_ in _types({"type": error.validator_value}) if t_ != "null")
            problems.append(excerpt(f"{where}: expected {expected}, got {error.instance!r}", 300))
        elif error.validator != "format":
            problems.append(excerpt(f"{where}: {error.message}", 300))
    start_date = checked.get("start_date")
    if isinstance(start_date, str) and parse_date(start_date) is None:
        problems.append(
            f"start_date: {start_date!r} is not an ISO 8601 date or date-time (e.g. 2024-01-31 or 2024-01-31T00:00:00Z)"
        )
    return checked, problems
