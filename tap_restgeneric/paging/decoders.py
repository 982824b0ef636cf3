"""Response bodies into documents: JSON, JSON Lines, CSV, XML, and gzip or zip payloads wrapping any of them.

A decoder reads a body (bytes already free of their ``Content-Encoding``: the transport undid that,
bounded by ``max_response_mb``) and yields the *documents* the record selector applies to, one after
another, as Airbyte's decoders do:

- ``json`` (the default): one document, the body parsed by msgspec, in the charset its Content-Type
  declares (UTF-8 otherwise). This is the tap's one JSON entry point (``http/reading.py`` uses it).
- ``jsonl``: one document per non-blank line. A line that is not JSON is an error (the CDK logs it
  and drops the line: records would be lost without a failure).
- ``csv``: one document per row, ``{column: text}``; values stay strings (a missing trailing cell is
  None, as the CDK's ``csv.DictReader`` gives). ``delimiter`` (``\\t`` and other escapes as the CDK
  reads them), ``quote_char``, ``encoding`` (default: the Content-Type's charset, else UTF-8; a UTF-8
  byte-order mark is dropped, where the CDK keeps it in the first column's name), ``header`` (the
  first row names the columns; default true) and ``field_names`` (the names to use; with ``header``
  they replace the first row's), ``set_values_to_none`` (the CDK's). A row with more cells than
  names, or a header naming a column twice, is an error: a cell would be lost.
- ``xml``: one document, the body as ``xmltodict.parse`` maps it (Airbyte's ``XmlDecoder``): an
  element with one child of a name maps it to a value, repeated children to a list, attributes to
  ``@name``, text beside attributes or children to ``#text``, an empty element to None; namespace
  prefixes stay in the names. Parsed by expat with defusedxml's refusals: an entity declaration
  (the billion-laughs expansion) or an external reference is an error, never expanded or fetched.
  Malformed XML is an error (the CDK logs it and yields ``{}``).
- ``gzip``: a payload compressed on its own, whatever the ``Content-Encoding`` (Airbyte's
  ``GzipDecoder``): several members are read one after the other; a body without the gzip magic bytes
  is passed to the inner decoder as it is (as the CDK's ``GzipParser``: a server or proxy may already
  have decompressed it).
- ``zip``: every file of the archive in order, each through the inner decoder (Airbyte's
  ``ZipfileDecoder``); directory entries are skipped (the CDK hands them to the parser as empty files).

Memory: JSON Lines and CSV are read line by line from the bytes (no decoded copy of the whole text);
gzip and zip members are decompressed as they are read. Everything decompressed counts against
``max_bytes`` (the ``max_response_mb`` setting), summed over members and files: a small archive that
expands past it is an error, not a full memory.

A body that does not decode raises :class:`UndecodableBody` naming the decoder and what was wrong,
never the body's content; the caller adds the stream and URL.

Config (proposed dialect key ``decoder`` on a resource or ``resource_defaults``; Airbyte's names, dlt has
no such key): ``{"type": "json" | "jsonl" | "csv" | "xml", ...options}`` or ``{"type": "gzip" | "zip",
"decoder": {...}}``; :func:`build_decoder` reads it. ``--doctor``: :func:`describe` says which decoder a
stream uses (``gzip > csv (delimiter ';')``).
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import typing as t
from xml.parsers import expat

import msgspec
import xmltodict
from defusedxml import DefusedXmlException, EntitiesForbidden, ExternalReferenceForbidden
from typing_extensions import override

from tap_restgeneric.errors import RestGenericError

#: As the transport's default max_response_mb (128 MiB).
DEFAULT_MAX_BYTES = 128 * 1024 * 1024
_UTF8 = frozenset({"utf-8", "utf8", "ascii", "us-ascii"})
_CHUNK = 1 << 16


class UndecodableBody(RestGenericError, ValueError):
    """A body its decoder could not read: ``decoder`` names it (``gzip > csv``), ``problem`` says what was wrong."""

    def __init__(self, decoder: str, problem: str) -> None:
        self.decoder = decoder
        self.problem = problem
        super().__init__(f"{decoder} decoder: {problem}")


class UnreadableCharset(UndecodableBody):
    """The body is not in the charset its Content-Type (or the decoder's ``encoding``) names."""


class ResponseTooLarge(UndecodableBody):
    """More bytes once decompressed than ``max_response_mb``; named by the whole chain of decoders."""


# ---------------------------------------------------------------------------------------------- bounds


class Budget:
    """Bytes decompressed so far for one body, against its cap."""

    def __init__(self, limit: int, decoder: str) -> None:
        self.limit = limit
        self.used = 0
        self.decoder = decoder

    def charge(self, count: int) -> None:
        self.used += count
        if self.used > self.limit:
            raise ResponseTooLarge(
                self.decoder, f"more than {self.limit:,} bytes once decompressed (the max_response_mb setting); stopped reading"
            )


class _Counted(io.RawIOBase):
    """A decompressing stream whose every byte read is charged to the body's budget."""

    def __init__(self, inner: t.IO[bytes], budget: Budget) -> None:
        super().__init__()
        self._inner = inner
        self._budget = budget

    @override
    def readable(self) -> bool:
        return True

    @override
    def readinto(self, buffer: t.Any) -> int:
        data = self._inner.read(min(len(buffer), _CHUNK))
        self._budget.charge(len(data))
        buffer[: len(data)] = data
        return len(data)


def counted(inner: t.IO[bytes], budget: Budget) -> t.IO[bytes]:
    return t.cast("t.IO[bytes]", io.BufferedReader(_Counted(inner, budget), _CHUNK))


# ---------------------------------------------------------------------------------------------- decoders


class Decoder(t.Protocol):
    """Reads one body into documents. ``charset`` is the Content-Type's (None when it names none)."""

    @property
    def name(self) -> str: ...

    @property
    def one_document(self) -> bool:
        """Whether a body is one document by nature (JSON, XML), not a sequence of them (lines, rows, files)."""
        ...

    def documents(self, stream: t.IO[bytes], charset: str | None, budget: Budget) -> t.Iterator[t.Any]: ...


def charset_of(content_type: str) -> str | None:
    """The ``charset`` parameter of a Content-Type, lower case (None when there is none)."""
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "charset" and value:
            return value.strip().strip('"').lower()
    return None


def _text_encoding(encoding: str | None, decoder: str) -> str:
    """A codec name Python knows (UTF-8 read as UTF-8-SIG: a byte-order mark is not data)."""
    try:
        name = codecs.lookup(encoding or "utf-8").name
    except LookupError:
        raise UnreadableCharset(decoder, f"unknown encoding {encoding!r}") from None
    return "utf-8-sig" if name == "utf-8" else name


@dataclasses.dataclass(frozen=True)
class JsonDecoder:
    """The body as one JSON document. ``decode`` is msgspec's; passed in only to try another's ways of failing."""

    decode: t.Callable[[bytes], t.Any] = msgspec.json.Decoder().decode
    name: str = "json"
    one_document: bool = True

    def parse(self, content: bytes, charset: str | None) -> t.Any:
        """``content`` in ``charset`` (UTF-8 when None) as one JSON value."""
        if charset and charset not in _UTF8:
            try:
                content = content.decode(codecs.lookup(charset).name).encode()
            except (LookupError, UnicodeDecodeError) as exc:
                raise UnreadableCharset(self.name, f"not valid {charset} ({type(exc).__name__})") from None
        try:
            return self.decode(content)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise UndecodableBody(self.name, _json_problem(exc)) from None

    def documents(self, stream: t.IO[bytes], charset: str | None, budget: Budget) -> t.Iterator[t.Any]:  # noqa: ARG002
        yield self.parse(stream.read(), charset)


#: How a JSON body deeper than msgspec reads (Python's recursion limit) is said; the reader does not retry it.
NESTED_TOO_DEEPLY = "JSON nested too deeply"


def _json_problem(exc: Exception) -> str:
    """What was wrong with JSON msgspec refused. Bytes that are not UTF-8 raise ``UnicodeDecodeError``
    in msgspec 0.19 and ``msgspec.DecodeError("Invalid UTF-8 ...")`` in 0.23: both are said the same way."""
    if isinstance(exc, UnicodeDecodeError) or str(exc).startswith("Invalid UTF-8"):
        return "not valid UTF-8"
    if isinstance(exc, RecursionError):
        return NESTED_TOO_DEEPLY
    return "not JSON"


@dataclasses.dataclass(frozen=True)
class JsonLinesDecoder:
    """One JSON document per non-blank line."""

    encoding: str | None = None
    name: str = "jsonl"
    one_document: bool = False

    def documents(self, stream: t.IO[bytes], charset: str | None, budget: Budget) -> t.Iterator[t.Any]:  # noqa: ARG002
        encoding = _text_encoding(self.encoding or charset, self.name)
        decode = msgspec.json.Decoder().decode
        lines: t.Iterable[bytes | str] = stream if encoding in ("utf-8-sig", "ascii") else io.TextIOWrapper(stream, encoding)
        for number, line in enumerate(lines, 1):
            raw = line.encode() if isinstance(line, str) else line
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            if not raw.strip():
                continue
            try:
                yield decode(raw)
            except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
                raise UndecodableBody(self.name, f"line {number} is {_json_problem(exc)}") from None


@dataclasses.dataclass(frozen=True)
class CsvDecoder:
    """One document per row (see the module docstring for the options)."""

    delimiter: str = ","
    quote_char: str = '"'
    encoding: str | None = None
    header: bool = True
    field_names: tuple[str, ...] | None = None
    set_values_to_none: tuple[str, ...] = ()
    name: str = "csv"
    one_document: bool = False

    def __post_init__(self) -> None:
        # As the CDK's CsvParser: a delimiter given as an escape ("\\t") is the character it stands for.
        if self.delimiter.startswith("\\"):
            object.__setattr__(self, "delimiter", self.delimiter.encode().decode("unicode_escape"))
        if len(self.delimiter) != 1 or len(self.quote_char) != 1:
            raise ValueError("delimiter and quote_char are one character each")
        if not self.header and not self.field_names:
            raise ValueError("a CSV without a header row needs field_names")

    def documents(self, stream: t.IO[bytes], charset: str | None, budget: Budget) -> t.Iterator[t.Any]:  # noqa: ARG002
        encoding = _text_encoding(self.encoding or charset, self.name)
        text = io.TextIOWrapper(stream, encoding, newline="")
        # strict: an unclosed quote is an error, not the rest of the body read as one cell
        rows = csv.reader(text, delimiter=self.delimiter, quotechar=self.quote_char, strict=True)
        none = frozenset(self.set_values_to_none)
        try:
            names = list(self.field_names or ())
            if self.header:
                first = next(rows, None)
                if first is None:
                    return
                names = names or first
            _check_names(names, self.name)
            for row in rows:
                if not row:
                    continue
                if len(row) > len(names):
                    raise UndecodableBody(
                        self.name, f"row {rows.line_num} has {len(row)} cells, more than the {len(names)} columns named"
                    )
                cells = [None if value in none else value for value in row]
                yield dict(zip(names, cells + [None] * (len(names) - len(cells)), strict=True))
        except UnicodeDecodeError as exc:
            raise UnreadableCharset(self.name, f"not valid {encoding} (byte {exc.start} of a chunk)") from None
        except csv.Error as exc:
            raise UndecodableBody(self.name, f"row {rows.line_num}: {exc}") from None


def _check_names(names: list[str], decoder: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UndecodableBody(decoder, f"the header names the column {name!r} twice; set field_names")
        seen.add(name)


class _DefusedExpat:
    """The ``expat`` module ``xmltodict.parse`` creates its parser from: expat's own parser, refusing
    entity declarations and external references as defusedxml's parsers do."""

    @staticmethod
    def ParserCreate(encoding: str | None = None, namespace_separator: str | None = None) -> t.Any:  # noqa: N802 - expat's name
        parser = expat.ParserCreate(encoding, namespace_separator)
        parser.EntityDeclHandler = _refuse_entity
        parser.UnparsedEntityDeclHandler = _refuse_unparsed_entity
        parser.ExternalEntityRefHandler = _refuse_external_reference
        return parser


def _refuse_entity(name: str, is_parameter: bool, value: str | None, *where: str | None) -> None:  # noqa: ARG001
    base, system_id, public_id, notation = where
    raise EntitiesForbidden(name, value, base, system_id, public_id, notation)


def _refuse_unparsed_entity(name: str, base: str | None, system_id: str | None, public_id: str | None, notation: str) -> None:
    raise EntitiesForbidden(name, None, base, system_id, public_id, notation)


def _refuse_external_reference(context: str, base: str | None, system_id: str | None, public_id: str | None) -> int:
    raise ExternalReferenceForbidden(context, base, system_id, public_id)


@dataclasses.dataclass(frozen=True)
class XmlDecoder:
    """The body as one document, mapped as Airbyte's ``XmlDecoder`` maps it (``xmltodict.parse``)."""

    name: str = "xml"
    one_document: bool = True

    def documents(self, stream: t.IO[bytes], charset: str | None, budget: Budget) -> t.Iterator[t.Any]:  # noqa: ARG002
        try:
            document = xmltodict.parse(stream, expat=_DefusedExpat, disable_entities=False)
        except expat.ExpatError as exc:
            raise UndecodableBody(self.name, f"not well-formed XML ({exc})") from None
        except EntitiesForbidden as exc:
            raise UndecodableBody(self.name, f"entity declaration {exc.name!r} refused (defusedxml: never expanded)") from None
        except ExternalReferenceForbidden:
            raise UndecodableBody(self.name, "external reference refused (defusedxml: never fetched)") from None
        except DefusedXmlException as exc:
            raise UndecodableBody(self.name, f"refused: {type(exc).__name__}") from None
        yield document


def chain(decoder: Decoder) -> str:
    """The decoder and those it wraps: ``gzip > csv``."""
    inner = getattr(decoder, "inner", None)
    return f"{decoder.name} > {chain(inner)}" if inner is not None else decoder.name


# ---------------------------------------------------------------------------------------------- entry points


def decode_documents(decoder: Decoder, body: bytes, content_type: str = "", max_bytes: int = DEFAULT_MAX_BYTES) -> list[t.Any]:
    """Every document of ``body``; raises :class:`UndecodableBody`."""
    budget = Budget(max_bytes, chain(decoder))
    budget.charge(len(body))
    return list(decoder.documents(io.BytesIO(body), charset_of(content_type), budget))


def iter_documents(
    decoder: Decoder, body: t.IO[bytes], content_type: str = "", max_bytes: int = DEFAULT_MAX_BYTES
) -> t.Iterator[t.Any]:
    """The documents of a body read from a binary stream, one at a time (each raw byte read counts too)."""
    budget = Budget(max_bytes, chain(decoder))
    yield from decoder.documents(counted(body, budget), charset_of(content_type), budget)


def body_of(decoder: Decoder, documents: list[t.Any]) -> t.Any:
    """What paginators read as "the body": the document of a one-document body (JSON, XML), else the
    list of documents (JSON Lines, CSV rows, the files of a zip)."""
    return documents[0] if decoder.one_document and len(documents) == 1 else documents
