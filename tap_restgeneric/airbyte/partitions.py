"""ListPartitionRouter -> the resource's ``partitions`` (the engine's list partitions; several routers:
their cartesian product, in the manifest's order).

A router's ``values`` (a list, or a template of the config rendered as the CDK renders it) become the
partition list's values; its ``request_option`` says where each value is sent. Templates of the
requests read a value as the CDK's ``stream_partition.<cursor_field>``: the engine's partition of that
name (a cursor field that is not a plain name gets one, ``list_<index>``).
"""

from __future__ import annotations

import re
import typing as t

from tap_restgeneric.airbyte.context import PARAMETERS_KEY, Translation, Untranslatable
from tap_restgeneric.airbyte.evaluators import LIST_PARTITION

if t.TYPE_CHECKING:
    from collections.abc import Mapping

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TARGETS = frozenset({"request_parameter", "header", "body_json", "body_data"})


def routers(stream: Mapping[str, t.Any]) -> list[Mapping[str, t.Any]]:
    """A stream's ListPartitionRouters, in order."""
    router = (stream.get("retriever") or {}).get("partition_router")
    items = router if isinstance(router, list) else [router] if router else []
    return [item for item in items if isinstance(item, dict) and item.get("type") == "ListPartitionRouter"]


def list_partitions(
    translation: Translation, stream: Mapping[str, t.Any]
) -> tuple[list[dict[str, t.Any]], dict[str, tuple[str, str]]]:
    """(the resource's ``partitions``, each slice field -> where the engine has its value)."""
    found: list[dict[str, t.Any]] = []
    fields: dict[str, tuple[str, str]] = {}
    for index, router in enumerate(routers(stream)):
        where = str(router.get("$path", "partition_router"))
        parameters = router.get(PARAMETERS_KEY) or {}
        field = translation.static_text(router.get("cursor_field"), f"{where}.cursor_field", parameters)
        if not field:
            raise Untranslatable(f"{where}.cursor_field", "is required")
        values = router.get("values")
        if isinstance(values, str):
            values = translation.static(values, f"{where}.values", parameters)
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or any(isinstance(v, (dict, list)) or v is None for v in values):
            raise Untranslatable(f"{where}.values", "must be a list of strings or numbers")
        name = field if _NAME.match(field) and field not in {p["name"] for p in found} else f"list_{index}"
        entry: dict[str, t.Any] = {"name": name, "values": [str(v) for v in values]}
        option = router.get("request_option")
        if option:
            inject = option.get("inject_into")
            if inject not in _TARGETS:
                raise Untranslatable(f"{where}.request_option.inject_into", f"inject_into {inject} is not supported")
            if option.get("field_path"):
                raise Untranslatable(f"{where}.request_option.field_path", "a nested field_path is not supported yet")
            entry["inject_into"] = inject
            entry["field_name"] = translation.static_text(
                option.get("field_name"), f"{where}.request_option.field_name", option.get(PARAMETERS_KEY) or parameters
            )
        found.append(entry)
        fields[field] = (LIST_PARTITION, name)
    return found, fields
