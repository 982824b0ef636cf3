"""RecordSelector -> where the records are (DpathExtractor's ``field_path``) and which are kept (RecordFilter).

``field_path`` becomes the endpoint's ``data_selector`` read with the CDK's rules (``record_selection:
dpath``): a missing path is no records, ``[]`` on an object is one record, ``*`` matches every key or
item. A RecordFilter's ``condition`` becomes a ``filter`` processing step, run after the paginator
has counted the page (the CDK counts records before filtering them too).
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.airbyte import evaluators
from tap_restgeneric.airbyte.context import PARAMETERS_KEY, Translation, Untranslatable
from tap_restgeneric.airbyte.requester import PARTITION

if t.TYPE_CHECKING:
    from collections.abc import Mapping


def data_selector(translation: Translation, selector: Mapping[str, t.Any]) -> list[str]:
    """The extractor's field path, each part rendered (``{{ parameters.name }}`` is common)."""
    extractor = selector.get("extractor") or {}
    where = str(extractor.get("$path", "record_selector.extractor"))
    parameters = extractor.get(PARAMETERS_KEY) or {}
    path = extractor.get("field_path") or []
    if not isinstance(path, list):
        raise Untranslatable(f"{where}.field_path", "must be a list")
    return [str(translation.static_text(part, f"{where}.field_path[{i}]", parameters)) for i, part in enumerate(path)]


def filter_steps(
    translation: Translation,
    selector: Mapping[str, t.Any],
    partition_names: Mapping[str, tuple[str, ...]],
    slice_fields: Mapping[str, tuple[str, str]] | None = None,
) -> list[dict[str, t.Any]]:
    """A RecordFilter's condition as a ``filter`` step (``stream_partition.x`` read from the copied parent field)."""
    record_filter = selector.get("record_filter")
    if not record_filter:
        return []
    where = str(record_filter.get("$path", "record_selector.record_filter"))
    condition = record_filter.get("condition")
    if not isinstance(condition, str) or "{{" not in condition:
        return []
    text = record_template(condition, partition_names, f"{where}.condition", slice_fields)
    parameters = record_filter.get(PARAMETERS_KEY) or {}
    names = evaluators.RECORD_NAMES
    return [{"filter": evaluators.condition(translation, text, f"{where}.condition", parameters, names, slice_fields)}]


def record_template(
    text: str,
    partition_names: Mapping[str, tuple[str, ...]],
    where: str,
    slice_fields: Mapping[str, tuple[str, str]] | None = None,
) -> str:
    """A template over a record (a filter, an added field), the partition's fields read from the
    parent fields copied into the record, a list partition's value and a window's bounds from the
    engine's slice (``slice_fields``, read as ``stream_slice``)."""
    if Translation.reads(text, "next_page_token", "response", "last_page_size", "stream_state"):
        raise Untranslatable(where, "a record template that reads the response is not supported")

    def copied(match: t.Any) -> str:
        field = match.group(1) or match.group(2)
        if field == "get" and match.string[match.end() : match.end() + 1] == "(" and slice_fields and not partition_names:
            return "stream_slice.get"  # stream_interval.get('start_time', ''): the window's bounds and list values
        if slice_fields and field in slice_fields and field not in partition_names:
            return f"stream_slice[{field!r}]"
        if field not in partition_names:
            raise Untranslatable(where, f"reads stream_partition.{field}, which no partition router of the stream gives")
        return "record" + "".join(f"[{key!r}]" for key in partition_names[field])

    return PARTITION.sub(copied, text)
