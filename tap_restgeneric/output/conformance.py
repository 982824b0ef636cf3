"""The conformance check: does a record need the SDK's type conformance at all?

Records decoded from JSON are already what the SDK's conformance would return, unless they
carry fields outside the schema or a non-boolean in a boolean-only field. ``ConformanceCheck``
tells that in one pass, generated as Python source once per schema; only records it flags go
through the SDK's conformance (with its warnings), so the output is the SDK's.
"""

from __future__ import annotations

import typing as t

# The SDK's private typing helpers: the check must classify a schema exactly as its conformance does.
from singer_sdk.helpers._typing import _is_exclusive_boolean_type, is_object_type, is_uniform_list

from tap_restgeneric.schema_drift import DATE_PATTERNS, python_types


class ConformanceCheck:
    """``check(record)`` is True when the SDK's conformance would return the record unchanged.

    The check is generated as Python source once per schema (a specialised function:
    one key-set test per object, one type test per boolean-only field), since it
    runs for every record.
    """

    def __init__(self, schema: dict) -> None:
        self._constants: dict[str, t.Any] = {}
        self._lines: list[str] = []
        self._counter = 0
        self._object("record", schema, indent=1)
        source = "def check(record):\n" + "\n".join(self._lines) + "\n    return True\n"
        namespace: dict[str, t.Any] = dict(self._constants)
        exec(compile(source, f"<conformance check {schema.get('description', '')[:40]}>", "exec"), namespace)  # noqa: S102
        self.source = source
        #: The generated function itself (one call less per record than ``__call__``).
        self.check: t.Callable[[dict], bool] = namespace["check"]

    def __call__(self, record: dict) -> bool:
        return self.check(record)

    def _name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def _object(self, var: str, schema: dict, indent: int, *, top: bool = True) -> None:
        pad = "    " * indent
        properties = schema.get("properties") or {}
        if not schema.get("additionalProperties"):
            keys = self._name("KEYS")
            self._constants[keys] = frozenset(properties)
            self._lines.append(f"{pad}if not {var}.keys() <= {keys}: return False")
        for name, prop in properties.items():
            value = self._name("v")
            before = len(self._lines)
            self._lines.append(f"{pad}{value} = {var}.get({name!r})")
            typed = top and self._top_level_type(value, prop, indent)
            nested = not typed or bool({dict, list} & (python_types(prop) or set()))  # the class test covers scalars
            if not (nested and self._field(value, prop, indent)) and not typed:
                del self._lines[before:]
            elif len(self._lines) - before == 2 and typed:  # only the class test: one line, no local
                self._lines[before:] = [
                    self._lines[before + 1].replace(f"{value}.__class__", f"{var}.get({name!r}).__class__", 1)
                ]

    def _top_level_type(self, var: str, prop: dict, indent: int) -> bool:
        """A top-level value of a type (or date format) its schema does not allow: the record
        does not fit, and schema drift handling decides (``tap_restgeneric.schema_drift``)."""
        allowed = python_types(prop)
        if allowed is None:
            return False
        pad = "    " * indent
        classes = self._name("T")
        self._constants[classes] = allowed
        self._lines.append(f"{pad}if {var}.__class__ not in {classes}: return False")
        if str in allowed and prop.get("format") in DATE_PATTERNS:
            # The shape of an ISO date (the full pattern decides on the slow path): 6x cheaper per record.
            self._lines.append(
                f'{pad}if {var}.__class__ is str and not (len({var}) >= 10 and {var}[4] == "-" and {var}[7] == "-"): return False'
            )
        return True

    def _field(self, var: str, prop: dict, indent: int) -> bool:
        """Append the checks of one value; False when it needs none."""
        pad = "    " * indent
        if is_uniform_list(prop):
            items = prop["items"]
            if is_object_type(items):
                item = self._name("item")
                self._lines.append(f"{pad}if {var}.__class__ is list:")
                self._lines.append(f"{pad}    for {item} in {var}:")
                self._lines.append(f"{pad}        if {item}.__class__ is dict:")
                self._object(item, items, indent + 3, top=False)
                return True
            if _is_exclusive_boolean_type(items):
                not_boolean = f"any(i is not None and i.__class__ is not bool for i in {var})"
                self._lines.append(f"{pad}if {var}.__class__ is list and {not_boolean}: return False")
                return True
            return False
        if is_object_type(prop) and "properties" in prop:
            self._lines.append(f"{pad}if {var}.__class__ is dict:")
            self._object(var, prop, indent + 1, top=False)
            return True
        if _is_exclusive_boolean_type(prop):
            self._lines.append(f"{pad}if {var} is not None and {var}.__class__ is not bool: return False")
            return True
        return False
