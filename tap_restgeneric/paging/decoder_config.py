"""The ``decoder`` of a resource, from its config (Airbyte's decoder names; dlt has none).

``{"type": "json"}`` (the default), ``{"type": "jsonl"}``, ``{"type": "xml"}``,
``{"type": "csv", "delimiter": ";", "quote_char": "'", "encoding": "latin-1", "header": false,
"field_names": ["id", "name"], "set_values_to_none": [""]}``, ``{"type": "gzip", "decoder": {...}}``,
``{"type": "zip", "decoder": {...}}`` (the inner decoder defaults to JSON). Airbyte's component names
(``JsonDecoder``, ``JsonlDecoder``, ``CsvDecoder``, ``XmlDecoder``, ``GzipDecoder``,
``ZipfileDecoder``) are the manifest translation's to map onto these.
"""

from __future__ import annotations

import typing as t

from tap_restgeneric.errors import SourceConfigError, config_path
from tap_restgeneric.paging.compressed import GzipDecoder, ZipDecoder
from tap_restgeneric.paging.decoders import (
    CsvDecoder,
    Decoder,
    JsonDecoder,
    JsonLinesDecoder,
    XmlDecoder,
)

#: Each decoder type and the keys it accepts besides ``type``.
DECODER_OPTIONS: dict[str, frozenset[str]] = {
    "json": frozenset(),
    "jsonl": frozenset({"encoding"}),
    "csv": frozenset({"delimiter", "quote_char", "encoding", "header", "field_names", "set_values_to_none"}),
    "xml": frozenset(),
    "gzip": frozenset({"decoder"}),
    "zip": frozenset({"decoder"}),
}


def build_decoder(spec: t.Mapping[str, t.Any] | None, where: str = "decoder") -> Decoder:
    """The decoder ``spec`` describes (JSON when None); every mistake is one ``SourceConfigError`` naming its path."""
    if spec is None:
        return JsonDecoder()
    if not isinstance(spec, t.Mapping):
        raise SourceConfigError([f"{where}: expected an object with a type ({', '.join(DECODER_OPTIONS)})"])
    kind = spec.get("type")
    if kind not in DECODER_OPTIONS:
        raise SourceConfigError([f"{config_path(where, 'type')}: {kind!r} is not one of {', '.join(DECODER_OPTIONS)}"])
    unknown = sorted(set(spec) - DECODER_OPTIONS[kind] - {"type"})
    if unknown:
        accepted = ", ".join(sorted(DECODER_OPTIONS[kind])) or "none besides type"
        raise SourceConfigError(
            [f"{config_path(where, key)}: not an option of the {kind} decoder (options: {accepted})" for key in unknown]
        )
    if kind in ("gzip", "zip"):
        inner = build_decoder(spec.get("decoder"), config_path(where, "decoder"))
        return GzipDecoder(inner) if kind == "gzip" else ZipDecoder(inner)
    if kind == "csv":
        return _csv(spec, where)
    if kind == "jsonl":
        return JsonLinesDecoder(encoding=_text(spec, "encoding", where))
    return XmlDecoder() if kind == "xml" else JsonDecoder()


def _csv(spec: t.Mapping[str, t.Any], where: str) -> CsvDecoder:
    names = spec.get("field_names")
    nones = spec.get("set_values_to_none") or []
    for key, value in (("field_names", names or []), ("set_values_to_none", nones)):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise SourceConfigError([f"{config_path(where, key)}: expected a list of strings"])
    header = spec.get("header", True)
    if not isinstance(header, bool):
        raise SourceConfigError([f"{config_path(where, 'header')}: expected true or false"])
    try:
        return CsvDecoder(
            delimiter=_text(spec, "delimiter", where) or ",",
            quote_char=_text(spec, "quote_char", where) or '"',
            encoding=_text(spec, "encoding", where),
            header=header,
            field_names=tuple(names) if names else None,
            set_values_to_none=tuple(nones),
        )
    except ValueError as exc:
        raise SourceConfigError([f"{where}: {exc}"]) from None


def _text(spec: t.Mapping[str, t.Any], key: str, where: str) -> str | None:
    value = spec.get(key)
    if value is not None and not isinstance(value, str):
        raise SourceConfigError([f"{config_path(where, key)}: expected a string"])
    return value


def describe(decoder: Decoder) -> str:
    """The decoder in a few words, for ``--doctor``: ``gzip > csv (delimiter ';', no header row)``."""
    inner = getattr(decoder, "inner", None)
    if inner is not None:
        return f"{decoder.name} > {describe(inner)}"
    if isinstance(decoder, CsvDecoder):
        notes = [f"delimiter {decoder.delimiter!r}"]
        if decoder.encoding:
            notes.append(f"encoding {decoder.encoding}")
        if not decoder.header:
            notes.append("no header row")
        if decoder.field_names:
            notes.append(f"columns {', '.join(decoder.field_names)}")
        return f"csv ({', '.join(notes)})"
    return decoder.name
