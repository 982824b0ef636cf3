"""A retriever's ``decoder`` -> the endpoint's ``decoder`` (how the engine reads a body).

JsonDecoder -> JSON (the default); JsonlDecoder -> ``jsonl``; CsvDecoder -> ``csv`` (delimiter,
encoding); XmlDecoder -> ``xml`` (mapped as the CDK maps it, xmltodict); GzipDecoder / ZipfileDecoder
around any of them -> ``compression: gzip`` / ``zip``. The CDK's newer CompositeRawDecoder with its
parsers (JsonParser, JsonLineParser, CsvParser, GzipParser around another) maps the same way. A body
that does not decode stops the stream with one line (the CDK logs it and ends the stream short).
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.airbyte.context import Untranslatable

if t.TYPE_CHECKING:
    from collections.abc import Mapping

_PLAIN = {"JsonDecoder": "json", "JsonParser": "json", "JsonlDecoder": "jsonl", "JsonLineParser": "jsonl", "XmlDecoder": "xml"}
_CSV = ("CsvDecoder", "CsvParser")
_COMPRESSED = {"GzipDecoder": ("gzip", "decoder"), "GzipParser": ("gzip", "inner_parser"), "ZipfileDecoder": ("zip", "decoder")}
#: The decoder types this module translates.
TYPES = frozenset({*_PLAIN, *_CSV, *_COMPRESSED, "CompositeRawDecoder"})


def decoder(component: Mapping[str, t.Any] | None) -> dict[str, t.Any] | None:
    """The engine's decoder of a retriever's ``decoder`` (None: JSON, the default)."""
    if not component:
        return None
    found = _decoder(component)
    return None if found == {"type": "json"} else found


def _decoder(component: Mapping[str, t.Any]) -> dict[str, t.Any]:
    kind = component.get("type")
    where = str(component.get("$path", "decoder"))
    if kind in _PLAIN:
        return {"type": _PLAIN[kind]}
    if kind in _CSV:
        block: dict[str, t.Any] = {"type": "csv"}
        for key in ("delimiter", "encoding"):
            if component.get(key):
                block[key] = str(component[key]).encode().decode("unicode_escape") if key == "delimiter" else component[key]
        return block
    if kind in _COMPRESSED:
        compression, inner_key = _COMPRESSED[kind]
        inner = component.get(inner_key) or component.get("parser") or {"type": "JsonDecoder"}
        found = _decoder(inner)
        if "compression" in found:
            raise Untranslatable(where, "a compressed payload inside another is not supported")
        return {**found, "compression": compression}
    if kind == "CompositeRawDecoder":
        return _decoder(component.get("parser") or {"type": "JsonParser"})
    raise Untranslatable(where, f"decoder {kind} is not supported")
