"""Parent/child resources at run time: what a child reads from each parent record.

A child resource names fields of its parent's records in its request (dlt's
``{resources.issues.number}``, or ``params: {n: {type: resolve, resource: issues, field: number}}``)
and may copy parent fields into its own records (``include_from_parent: [title]`` -> ``_issues_title``).
For each parent record the parent stream builds one *child context* holding exactly those values,
under flat keys (``"issues.number"``, ``"_issues_title"``); the SDK hands it to every child stream.
An incremental child keeps one bookmark per parent: its state is partitioned by the referenced
values, the parent's key for it.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from tap_restgeneric.errors import RestGenericError, stream_line

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping


class ParentFieldError(RestGenericError):
    """A parent record lacks a field a child reads from it."""


@dataclass(frozen=True)
class ParentLink:
    """A child resource's view of its parent: which fields it reads and which it copies."""

    #: The parent resource's name.
    parent: str
    #: Fields of the parent record the child's request reads, as key chains (``user.id`` -> ("user", "id")).
    fields: tuple[tuple[str, ...], ...]
    #: dlt's ``include_from_parent``: top-level parent fields copied into each child record.
    include: tuple[str, ...] = ()

    @property
    def partition_keys(self) -> tuple[str, ...]:
        """The context keys of the referenced values: one state partition per distinct tuple."""
        return tuple(self.context_key(chain) for chain in self.fields)

    def context_key(self, chain: tuple[str, ...]) -> str:
        return ".".join((self.parent, *chain))

    def included_name(self, field: str) -> str:
        """dlt's name of a copied parent field in the child record (``make_parent_key_name``)."""
        return f"_{self.parent}_{field}"

    def placeholder(self, chain: tuple[str, ...]) -> str:
        return "{resources." + self.context_key(chain) + "}"

    def resources(self, context: Mapping[str, t.Any]) -> dict[str, t.Any]:
        """What ``resources`` names in the child's templates: ``{parent: {field: value, ...}}``."""
        record: dict[str, t.Any] = {}
        for chain in self.fields:
            node = record
            for key in chain[:-1]:
                node = node.setdefault(key, {})
            node[chain[-1]] = context[self.context_key(chain)]
        return {self.parent: record}

    def included(self, context: Mapping[str, t.Any]) -> dict[str, t.Any]:
        """The parent fields copied into each child record."""
        return {self.included_name(field): context[self.included_name(field)] for field in self.include}

    def with_included(self, records: list[dict], context: Mapping[str, t.Any] | None) -> list[dict]:
        """dlt's include_from_parent: the parent's fields, copied into each record (over its own)."""
        if not (self.include and context):
            return records
        included = self.included(context)
        for record in records:
            record.update(included)
        return records

    def schema_with_included(self, schema: dict, parent_schema: dict) -> dict:
        """The schema with the copied parent fields, typed as in the parent's schema (unless it has them)."""
        parent_properties = parent_schema.get("properties", {})
        properties = dict(schema.get("properties", {}))
        for field in self.include:
            properties.setdefault(self.included_name(field), parent_properties.get(field, {"type": ["string", "null"]}))
        return {**schema, "properties": properties}

    def label(self, context: Mapping[str, t.Any] | None) -> str:
        """How messages name the parent record a context is for: `` (for the 'issues' record with number=3)``."""
        if not context:
            return ""
        values = ", ".join(f"{'.'.join(chain)}={context.get(self.context_key(chain))!r}" for chain in self.fields)
        return f" (for the '{self.parent}' record with {values})"


def child_context(
    record: Mapping[str, t.Any], links: Iterable[tuple[str, ParentLink]], describe_key: Callable[[t.Any], t.Any]
) -> dict[str, t.Any]:
    """The child context of one parent record for the children ``links`` (child name, link).

    Raises ``ParentFieldError`` naming the child, the placeholder and the parent record's key
    (``describe_key(record)``: called only then, not for every parent record) when the record lacks
    (or has null for) a field a child reads."""
    context: dict[str, t.Any] = {}
    for child, link in links:
        for chain in link.fields:
            value = _lookup(record, chain)
            if value is None:
                raise ParentFieldError(
                    stream_line(
                        child,
                        f"placeholder {link.placeholder(chain)}: the '{link.parent}' record with key "
                        f"{describe_key(record)} has no value at {'.'.join(chain)!r} (its fields: {', '.join(map(str, record))})",
                    )
                )
            context[link.context_key(chain)] = value
        for field in link.include:
            if field not in record:
                raise ParentFieldError(
                    stream_line(
                        child,
                        f"include_from_parent: the '{link.parent}' record with key {describe_key(record)} has no "
                        f"field {field!r} (its fields: {', '.join(map(str, record))})",
                    )
                )
            context[link.included_name(field)] = record[field]
    return context


def _lookup(record: Mapping[str, t.Any], chain: tuple[str, ...]) -> t.Any:
    value: t.Any = record
    for key in chain:
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value
