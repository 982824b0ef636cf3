"""The manifest's dynamic strings as the engine's templates, evaluated with the CDK's rules.

The engine calls a template with its context (``response``, ``headers``, ``last_record``,
``last_page_size`` in a paginator; ``record`` in a processing step; ``config`` everywhere, which for
a manifest is ``manifest_config``). These wrap the CDK's interpolated values (:mod:`.interpolated`):
its macros, ``$parameters``, lenient undefined values, ``ast.literal_eval`` of what renders. One
difference on purpose: an undefined value *used* in ``cursor_value`` (the CDK ends paging quietly,
as if there were no next page) fails with one line naming the template.
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.airbyte.interpolation import literal_value
from tap_restgeneric.templates import Template

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from tap_restgeneric.airbyte.context import Translation

PAGING_NAMES = ("response", "headers", "last_record", "last_page_size")
RECORD_NAMES = ("record",)


def cursor_value(translation: Translation, text: str, where: str, parameters: Mapping[str, t.Any]) -> Template:
    """CursorPagination's ``cursor_value``: the next token (None, an empty value: no next page)."""
    place = translation.interpolation.place(PAGING_NAMES, parameters)
    template = place.compile(text, where)

    def evaluate(**context: t.Any) -> t.Any:
        values = {name: context.get(name) for name in PAGING_NAMES}
        rendered = template.render(place.context(context.get("config") or {}, values))
        return literal_value(rendered) if rendered else None

    return Template.foreign(text, where, evaluate)


def condition(
    translation: Translation,
    text: str | bool,
    where: str,
    parameters: Mapping[str, t.Any],
    names: tuple[str, ...],
    slice_fields: Mapping[str, tuple[str, str]] | None = None,
) -> Template:
    """A condition (``stop_condition``, a RecordFilter's ``condition``): the CDK's InterpolatedBoolean
    (``slice_fields``: the list partitions and window bounds it reads as ``stream_slice``)."""
    names = (*names, "stream_slice") if slice_fields else names
    interpolated = translation.interpolation.boolean(text, where, names, parameters)

    def evaluate(**context: t.Any) -> bool:
        return interpolated.eval(context.get("config") or {}, **_values(context, names, slice_fields))

    return Template.foreign(str(text), where, evaluate)


def value(
    translation: Translation,
    text: str,
    where: str,
    parameters: Mapping[str, t.Any],
    names: tuple[str, ...],
    valid_types: tuple[type, ...] | None = None,
    slice_fields: Mapping[str, tuple[str, str]] | None = None,
) -> Template:
    """A value (an AddFields field): the CDK's InterpolatedString, its text read as a literal (of
    ``valid_types`` when given; ``slice_fields`` as in :func:`condition`)."""
    names = (*names, "stream_slice") if slice_fields else names
    interpolated = translation.interpolation.string(text, where, names, parameters)

    def evaluate(**context: t.Any) -> t.Any:
        return interpolated.eval(context.get("config") or {}, valid_types, **_values(context, names, slice_fields))

    return Template.foreign(text, where, evaluate)


def _values(
    context: Mapping[str, t.Any], names: tuple[str, ...], slice_fields: Mapping[str, tuple[str, str]] | None
) -> dict[str, t.Any]:
    values = {name: context.get(name) for name in names}
    if slice_fields:  # a list partition's value, a window's bound as sent, from the engine's slice
        values["stream_slice"] = {
            field: (context.get(SLICE_SOURCES[source]) or {}).get(key) for field, (source, key) in slice_fields.items()
        }
    return values


PARTITION_NAMES = ("stream_partition", "stream_slice", "stream_interval")
#: Slice fields that are not a parent's: (LIST_PARTITION, the engine's partition name) and
#: (WINDOW_BOUND, ``start_value`` / ``end_value``), read off the engine's ``partition`` / ``incremental``.
LIST_PARTITION, WINDOW_BOUND = "#partition", "#window"
SLICE_SOURCES = {LIST_PARTITION: "partition", WINDOW_BOUND: "incremental"}


def partition_value(
    translation: Translation,
    text: str,
    where: str,
    parameters: Mapping[str, t.Any],
    partitions: Mapping[str, tuple[str, str]],
    valid_types: tuple[type, ...] | None,
) -> Template:
    """A request value (a path, a parameter, a header, a body value) that reads the parent's partition:
    ``stream_partition.<field>`` is the parent record's ``parent_key``, which the engine passes as
    ``resources.<parent>.<key>``; rendered as the CDK renders it (text when ``valid_types`` is (str,))."""
    place = translation.interpolation.place(PARTITION_NAMES, parameters)
    template = place.compile(text, where)
    chains = {field: (parent, *key.split("/")) for field, (parent, key) in partitions.items() if parent not in SLICE_SOURCES}
    others = {field: source for field, source in partitions.items() if source[0] in SLICE_SOURCES}

    def evaluate(**context: t.Any) -> t.Any:
        resources = context.get("resources") or {}
        partition = {}
        for field, chain in chains.items():
            node: t.Any = resources
            for step in chain:
                node = node.get(step) if isinstance(node, dict) else None
            partition[field] = node
        for field, (source, key) in others.items():  # a list partition's value, a window's bound as sent
            partition[field] = (context.get(SLICE_SOURCES[source]) or {}).get(key)
        rendered = template.render(place.context(context.get("config") or {}, {"stream_slice": partition}))
        if valid_types == (str,):
            return rendered
        return literal_value(rendered, valid_types) if rendered else None

    lists = [key for source, key in others.values() if source == LIST_PARTITION]
    return Template.foreign(text, where, evaluate, list(chains.values()), lists)
