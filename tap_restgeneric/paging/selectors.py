"""Paths into a JSON response: data selectors and paginator paths (``total_path``...).

Accepted forms, as in dlt: a key (``items``), a dotted path (``data.users``), a
list of path parts (``["data", "users"]``) or a JSONPath (``$.data[*].users``).
Keys and dotted paths are plain dict lookups (no JSONPath engine on the hot path).
"""

from __future__ import annotations

import typing as t

from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext import parse as parse_jsonpath
from typing_extensions import override

_MISSING = object()
PathSpec = str | t.Sequence[str]

# dlt's find_records looks for these keys when no data_selector is given.
AUTO_RECORD_KEYS = ("data", "items", "results", "records", "entries", "rows", "objects", "values", "content", "payload")


class JSONPath:
    """A compiled path; ``find(obj)`` returns the list of values it matches."""

    def __init__(self, spec: PathSpec) -> None:
        self.spec = spec
        self._parts: tuple[str, ...] | None = None
        self._jsonpath = None
        if isinstance(spec, str):
            if spec.startswith("$") or any(c in spec for c in "[]*?@"):
                try:
                    self._jsonpath = parse_jsonpath(spec)
                except (JsonPathLexerError, JsonPathParserError) as exc:
                    raise ValueError(f"invalid JSONPath {spec!r}: {exc}") from None
            else:
                self._parts = tuple(spec.split("."))
        else:
            self._parts = tuple(str(p) for p in spec)

    @override
    def __repr__(self) -> str:
        return repr(self.spec)

    def find(self, obj: t.Any) -> list[t.Any]:
        if self._parts is not None:
            value = obj
            for part in self._parts:
                if isinstance(value, dict):
                    value = value.get(part, _MISSING)
                elif isinstance(value, list) and part.lstrip("-").isdigit():
                    index = int(part)
                    value = value[index] if -len(value) <= index < len(value) else _MISSING
                else:
                    value = _MISSING
                if value is _MISSING:
                    return []
            return [value]
        return [match.value for match in self._jsonpath.find(obj)]  # type: ignore[union-attr]

    def first(self, obj: t.Any, default: t.Any = None) -> t.Any:
        found = self.find(obj)
        return found[0] if found else default


class SelectorMismatch(Exception):
    """The data selector matched nothing in a response body."""


class RecordSelector:
    """Turns a parsed response body into the list of records of one page."""

    def __init__(self, spec: PathSpec | None, selection: str = "dlt") -> None:
        self.spec = spec
        #: "dpath": Airbyte's DpathExtractor (a list of keys, ``*`` for every key or item; a missing path
        #: is no records; an object found is one record, a list found is its items).
        self.dpath = tuple(str(part) for part in spec or ()) if selection == "dpath" else None
        self._path = JSONPath(spec) if spec not in (None, "", "$") else None
        #: For a selector of a list's items (``$.data[*]``): the list itself.
        self._container = JSONPath(spec[:-3]) if isinstance(spec, str) and spec.endswith("[*]") and len(spec) > 4 else None

    @property
    def automatic(self) -> bool:
        """No data_selector: the records are found as dlt finds them."""
        return self._path is None and self.dpath is None

    def select_records(self, body: t.Any) -> list[dict]:
        if self.dpath is not None:
            return dpath_records(body, self.dpath)
        if self._path is None:
            return _auto_records(body)
        found = self._path.find(body)
        if not found:
            if self._container is not None and self._container.find(body) == [[]]:
                return []  # `$.data[*]` on {"data": []}: an empty page, as in dlt
            raise SelectorMismatch(f"data_selector {self.spec!r} matched nothing")
        if len(found) == 1:
            value = found[0]
            if isinstance(value, list):
                return value
            if value is None:
                return []
            return [value]
        return [v for v in found if v is not None]


def _auto_records(body: t.Any) -> list[dict]:
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in AUTO_RECORD_KEYS:
            value = body.get(key)
            if isinstance(value, list):
                return value
        lists = [v for v in body.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
        return [body]
    if body is None:
        return []
    raise SelectorMismatch("response body is neither an object nor a list")


def dpath_records(body: t.Any, path: tuple[str, ...]) -> list[t.Any]:
    """Airbyte's DpathExtractor: the values at ``path`` (``*`` any key or item); each list found gives
    its items, any other value found (not empty) is one record; nothing found is no records. A body
    that is a list is read item by item (the CDK's JsonDecoder yields each item to the extractor)."""
    if isinstance(body, list):
        return [record for item in body for record in _dpath_values(item, path)]
    return _dpath_values(body, path)


def _dpath_values(body: t.Any, path: tuple[str, ...]) -> list[t.Any]:
    found = [body]
    for part in path:
        following: list[t.Any] = []
        for node in found:
            if part == "*":
                following.extend(node.values() if isinstance(node, dict) else node if isinstance(node, list) else ())
            elif isinstance(node, dict) and part in node:
                following.append(node[part])
            elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
                following.append(node[int(part)])
        found = following
    if "*" not in path:
        value = found[0] if found else None
        return value if isinstance(value, list) else [value] if value else []
    records: list[t.Any] = []
    for value in found:
        if isinstance(value, list):
            records.extend(value)
        elif value:
            records.append(value)
    return records
