"""AddFields / RemoveFields -> ``map`` and ``exclude`` processing steps, in the manifest's order.

An added field whose value reads only the config and ``$parameters`` is rendered once (as the CDK
renders it, ``ast.literal_eval`` included); one that reads the record is a ``map`` template; one that
reads the parent's partition reads the parent's field copied into the record. Fields are top-level
(a nested ``path`` is refused with its place); a RemoveFields ``condition`` is not supported yet.
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.airbyte import evaluators
from tap_restgeneric.airbyte.context import PARAMETERS_KEY, Translation, Untranslatable
from tap_restgeneric.airbyte.selectors import record_template
from tap_restgeneric.templates import REMOVED, UNCHANGED, Template

if t.TYPE_CHECKING:
    from collections.abc import Mapping


def steps(
    translation: Translation,
    transformations: t.Any,
    partition_names: Mapping[str, tuple[str, ...]],
    slice_fields: Mapping[str, tuple[str, str]] | None = None,
) -> list[dict[str, t.Any]]:
    """The processing steps of a stream's ``transformations`` (``slice_fields``: the list partitions and
    window bounds its templates may read)."""
    found: list[dict[str, t.Any]] = []
    for transformation in transformations or []:
        kind = transformation.get("type")
        where = str(transformation.get("$path", "transformations"))
        if kind == "AddFields":  # one step per field: a field's value sees the fields added before it
            for index, field in enumerate(transformation.get("fields") or []):
                at = str(field.get("$path", f"{where}.fields[{index}]"))
                path = [str(part) for part in field.get("path") or []]
                if not path:
                    raise Untranslatable(f"{at}.path", "is empty")
                added = _value(translation, field, at, partition_names, slice_fields)
                found.append({"map": {path[0]: _nested(path, added, at) if len(path) > 1 else added}})
        elif kind == "RemoveFields":
            condition = transformation.get("condition")
            removed_if = (
                evaluators.condition(
                    translation, condition, f"{where}.condition", transformation.get(PARAMETERS_KEY) or {}, ("property",)
                )
                if condition
                else None
            )
            for index, pointer in enumerate(transformation.get("field_pointers") or []):
                path = [str(part) for part in pointer]
                if not path or any("*" in part for part in path):
                    raise Untranslatable(
                        f"{where}.field_pointers[{index}]", "a field pointer with wildcards is not supported yet"
                    )
                if len(path) == 1 and removed_if is None:
                    found.append({"exclude": path})
                else:
                    found.append({"map": {path[0]: _removed(path, f"{where}.field_pointers[{index}]", removed_if)}})
        else:
            raise Untranslatable(where, f"transformation {kind} is not supported")
    return found


#: AddedFieldDefinition's ``value_type``: the types its value may read as (else it stays text).
VALUE_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (float, int), "boolean": (bool,)}


def _value(
    translation: Translation,
    field: Mapping[str, t.Any],
    where: str,
    partition_names: Mapping[str, tuple[str, ...]],
    slice_fields: Mapping[str, tuple[str, str]] | None = None,
) -> t.Any:
    """The CDK's InterpolatedString: even a plain string is read as a Python literal ("1" is 1)."""
    value = field.get("value")
    parameters = field.get(PARAMETERS_KEY) or {}
    valid = VALUE_TYPES.get(str(field.get("value_type") or ""))
    if not isinstance(value, str):
        return value
    if Translation.reads(value, "record", "stream_partition", "stream_slice", "stream_interval"):
        text = record_template(value, partition_names, f"{where}.value", slice_fields)
        names = evaluators.RECORD_NAMES
        return evaluators.value(translation, text, f"{where}.value", parameters, names, valid, slice_fields)
    return translation.interpolation.string(value, f"{where}.value", (), parameters).eval(translation.config, valid)


def _nested(path: list[str], added: t.Any, where: str) -> Template:
    """A field added below the top level (``path: [meta, synced_at]``): the top-level value with the
    field set in it, dicts created on the way (the CDK's ``dpath.new``)."""

    def evaluate(**context: t.Any) -> t.Any:
        record = context.get("record") or {}
        value = added(context) if isinstance(added, Template) else added
        top = record.get(path[0])
        root = node = dict(top) if isinstance(top, dict) else {}
        for key in path[1:-1]:
            child = node.get(key)
            node[key] = child = dict(child) if isinstance(child, dict) else {}
            node = child
        node[path[-1]] = value
        return root

    return Template.foreign(".".join(path), f"{where}.path", evaluate)


def _removed(path: list[str], where: str, removed_if: Template | None) -> Template:
    """A field removed (below the top level: the top-level value without it), unchanged when absent or
    when the RemoveFields ``condition`` (over the field's value, ``property``) does not hold."""

    def evaluate(**context: t.Any) -> t.Any:
        record = context.get("record") or {}
        if len(path) == 1:
            if path[0] not in record:
                return UNCHANGED
            keep = removed_if is not None and not removed_if({"config": context.get("config"), "property": record[path[0]]})
            return UNCHANGED if keep else REMOVED
        top = record.get(path[0])
        if not isinstance(top, dict):
            return UNCHANGED
        root = node = dict(top)
        for key in path[1:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                return UNCHANGED
            node[key] = node = dict(child)
        if path[-1] not in node:
            return UNCHANGED
        if removed_if is not None and not removed_if({"config": context.get("config"), "property": node[path[-1]]}):
            return UNCHANGED
        del node[path[-1]]
        return root

    return Template.foreign(".".join(path), where, evaluate)
