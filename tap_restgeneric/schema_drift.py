"""Records that leave their schema: dlt's ``schema_contract`` vocabulary, decided per field.

``evolve`` (the default) widens a field's type, or adds the field, and the stream emits a
new SCHEMA before the record; ``freeze`` stops the stream with one line naming the field;
``discard_value`` drops the offending value (the field is not added); ``discard_row`` drops
the record. The mode for new fields (``columns``) and for values of another type
(``data_type``) can differ, as in dlt.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from tap_restgeneric.errors import SourceConfigError, StreamError
from tap_restgeneric.schema_inference import infer_value_schema, merge_schemas, nullable, schema_types

MODES = ("evolve", "freeze", "discard_value", "discard_row")
DATE_PATTERNS = {
    "date-time": re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?)?$"),
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
}
_CLASSES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def python_types(prop: t.Mapping[str, t.Any]) -> frozenset[type] | None:
    """The classes a JSON value of this schema may have (None: any)."""
    kinds = schema_types(prop)
    if not kinds:
        return None
    if any(kind not in _CLASSES for kind in kinds):
        return None
    return frozenset(cls for kind in kinds for cls in _CLASSES[kind])


def fits(prop: t.Mapping[str, t.Any], value: t.Any) -> bool:
    allowed = python_types(prop)
    if allowed is not None and value.__class__ not in allowed:
        return False
    pattern = DATE_PATTERNS.get(prop.get("format", ""))
    return not (pattern is not None and isinstance(value, str) and not pattern.match(value))


@dataclasses.dataclass(frozen=True)
class Contract:
    columns: str = "evolve"
    data_type: str = "evolve"

    @classmethod
    def parse(cls, value: t.Any, where: str) -> Contract:
        """dlt's forms: a mode for everything, or ``{columns: mode, data_type: mode}``."""
        if value is None:
            return cls()
        if isinstance(value, str) and value in MODES:
            return cls(value, value)
        if isinstance(value, dict) and set(value) <= {"tables", "columns", "data_type"}:
            modes = {key: value.get(key, "evolve") for key in ("columns", "data_type")}
            bad = [
                f"{where}.{key}: {mode!r} is not one of {', '.join(MODES)}" for key, mode in modes.items() if mode not in MODES
            ]
            if bad:
                raise SourceConfigError(bad)
            return cls(modes["columns"], modes["data_type"])
        raise SourceConfigError([f"{where}: {value!r} is not one of {', '.join(MODES)} or {{columns: …, data_type: …}}"])


@dataclasses.dataclass
class Outcome:
    record: dict | None  # None: the record is dropped
    schema: dict | None  # not None: the schema grew; emit it before the record
    changes: list[str]
    #: Why the record would lose its key (``discard_value`` on a key field): the record is not written
    #: as it is (the stream's on_missing_key decides).
    key_discarded: str | None = None


class _DropRow(Exception):
    """``discard_row``: the record is not written."""


class _KeyDiscarded(Exception):
    """``discard_value`` would take a key field's value: never done."""


def reconcile(
    schema: dict, record: dict, contract: Contract, stream: str, key: t.Any, key_fields: t.Collection[str] = ()
) -> Outcome:
    """What to do with a record that does not fit ``schema`` (see the module docstring). Nested
    objects (and objects in arrays) are reconciled like the record: a field ``a.b`` is named so.
    ``discard_value`` never takes one of ``key_fields`` (the primary key): the outcome says so instead."""
    try:
        kept, grown, changes = _reconcile_object(schema, record, _Where(contract, stream, key, frozenset(key_fields)))
    except _DropRow:
        return Outcome(None, None, [])
    except _KeyDiscarded as exc:
        return Outcome(None, None, [], key_discarded=str(exc))
    return Outcome(kept, grown, changes)


@dataclasses.dataclass(frozen=True)
class _Where:
    contract: Contract
    stream: str
    key: t.Any
    key_fields: frozenset[str] = frozenset()
    prefix: str = ""

    def inside(self, field: str) -> _Where:
        return dataclasses.replace(self, prefix=f"{self.prefix}{field}.")


def _reconcile_object(schema: dict, record: dict, where: _Where) -> tuple[dict, dict | None, list[str]]:
    """(the record to keep, the grown schema or None, the changes) of one object."""
    properties = schema.get("properties") or {}
    grown: dict | None = None
    kept = record
    changes: list[str] = []
    contract = where.contract
    for field, value in record.items():
        name = where.prefix + field
        prop = properties.get(field)
        if prop is None:
            if schema.get("additionalProperties"):
                continue
            mode, what = contract.columns, f"new field {name!r} ({type(value).__name__})"
        elif fits(prop, value):
            nested = _reconcile_nested(prop, value, where.inside(field))
            if nested is not None:
                new_value, new_prop, nested_changes = nested
                kept = {**kept, field: new_value} if new_value is not value else kept
                if new_prop is not None:
                    grown = grown if grown is not None else dict(properties)
                    grown[field] = new_prop
                changes += nested_changes
            continue
        else:
            mode, what = contract.data_type, f"field {name!r}: a {type(value).__name__} where the schema says {_describe(prop)}"
        if mode == "freeze":
            raise StreamError(f"{what} in the record with key {where.key} (schema_contract freeze)", stream=where.stream)
        if mode == "discard_row":
            raise _DropRow
        if mode == "discard_value":
            if not where.prefix and field in where.key_fields:
                raise _KeyDiscarded(what)
            kept = {k: v for k, v in kept.items() if k != field}
            continue
        grown = grown if grown is not None else dict(properties)
        seen = infer_value_schema(value)
        widened = nullable(seen) if prop is None else _union(prop, seen)
        grown[field] = widened
        changes.append(f"{name!r} from {_describe(prop) if prop else 'absent'} to {_describe(widened)}")
    return kept, ({**schema, "properties": grown} if grown is not None else None), changes


def _reconcile_nested(prop: dict, value: t.Any, where: _Where) -> tuple[t.Any, dict | None, list[str]] | None:
    """An object, or a list of objects, checked against its declared properties (None: nothing to check)."""
    if isinstance(value, dict) and isinstance(prop.get("properties"), dict):
        kept, grown, changes = _reconcile_object(prop, value, where)
        return (kept, grown, changes) if kept is not value or grown is not None or changes else None
    items = prop.get("items")
    if not (isinstance(value, list) and isinstance(items, dict) and isinstance(items.get("properties"), dict)):
        return None
    schema, kept_items, changes, changed = items, [], [], False
    for item in value:
        if not isinstance(item, dict):
            kept_items.append(item)
            continue
        kept, grown, item_changes = _reconcile_object(schema, item, where)
        changed = changed or kept is not item
        schema = grown if grown is not None else schema
        kept_items.append(kept)
        changes += [change for change in item_changes if change not in changes]
    if schema is items and not changed:
        return None
    return (kept_items if changed else value), ({**prop, "items": schema} if schema is not items else None), changes


def _union(prop: t.Mapping[str, t.Any], seen: t.Mapping[str, t.Any]) -> dict:
    """A schema that admits what ``prop`` admits and the value just seen (no format: it no longer holds)."""
    merged = merge_schemas(dict(prop), dict(seen))
    kinds = {*schema_types(prop), *schema_types(seen), "null"}
    widened = {k: v for k, v in merged.items() if k != "format"}
    widened["type"] = sorted(kinds)
    return widened


def _describe(prop: t.Mapping[str, t.Any]) -> str:
    kinds = prop.get("type", "any")
    text = "/".join(kinds) if isinstance(kinds, list) else str(kinds)
    return f"{text} ({prop['format']})" if prop.get("format") else text
