"""The per-record output path: a buffered msgspec writer and a conformance check per schema.

A stock SDK stream conforms every record (``_conform_record_data_types``), builds
a message object, encodes it with simplejson and flushes stdout, per record.
Here RECORD lines are encoded by msgspec straight into stdout's buffer and are
flushed only before any other message (so a STATE never precedes the records it
covers) and at the end. Records decoded from JSON are already conformant unless
they carry fields outside the schema or a non-boolean in a boolean-only field:
``ConformanceCheck`` tells that in one pass, and only then does the SDK's
conformance run (with its warnings), so the output is the same as the SDK's.
"""

from __future__ import annotations

import datetime
import decimal
import sys
import typing as t

import msgspec
from singer_sdk.helpers._typing import _is_exclusive_boolean_type, is_object_type, is_uniform_list
from singer_sdk.singerlib.encoding.base import GenericSingerWriter
from singer_sdk.singerlib.messages import SingerMessageType


def _enc_hook(obj: t.Any) -> t.Any:
    if isinstance(obj, datetime.datetime):
        return obj.isoformat(sep="T")
    if isinstance(obj, (datetime.date, datetime.time)):
        return obj.isoformat()
    if isinstance(obj, decimal.Decimal):
        return obj
    return str(obj)


_ENCODER = msgspec.json.Encoder(enc_hook=_enc_hook, decimal_format="number")


class BufferedSingerWriter(GenericSingerWriter):
    """Singer messages as JSON lines, encoded by msgspec; RECORDs are not flushed one by one."""

    def serialize_message(self, message: t.Any) -> bytes:
        return _ENCODER.encode(message.to_dict()) + b"\n"

    def write_message(self, message: t.Any) -> None:
        out = sys.stdout.buffer
        out.write(self.serialize_message(message))
        if message.type != SingerMessageType.RECORD:
            out.flush()

    @staticmethod
    def write_record(prefix: bytes, record: dict, suffix: bytes) -> None:
        """One RECORD line: ``prefix`` + the record's JSON + ``suffix`` (precomputed per stream)."""
        line = bytearray(prefix)
        _ENCODER.encode_into(record, line, -1)
        line += suffix
        sys.stdout.buffer.write(line)

    @staticmethod
    def flush() -> None:
        sys.stdout.flush()


class ConformanceCheck:
    """``check(record)`` is True when the SDK's conformance would return the record unchanged."""

    def __init__(self, schema: dict) -> None:
        self._check = _compile(schema)

    def __call__(self, record: dict) -> bool:
        return self._check(record)


def _always(_value: t.Any) -> bool:
    return True


def _compile(schema: dict) -> t.Callable[[dict], bool]:
    """A checker for an object schema: its keys, then only the fields that need a look."""
    properties = schema.get("properties") or {}
    allow_extra = bool(schema.get("additionalProperties"))
    known = frozenset(properties)
    field_checks = [(name, check) for name, prop in properties.items() if (check := _field_check(prop)) is not _always]

    def check(record: dict) -> bool:
        if not allow_extra and not record.keys() <= known:
            return False
        for name, field_check in field_checks:
            value = record.get(name)
            if value is not None and not field_check(value):
                return False
        return True

    return check


def _field_check(prop: dict) -> t.Callable[[t.Any], bool]:
    if is_uniform_list(prop):
        item_check = _item_check(prop["items"])
        if item_check is _always:
            return _always
        return lambda value: not isinstance(value, list) or all(item_check(item) for item in value)
    if is_object_type(prop) and "properties" in prop:
        object_check = _compile(prop)
        return lambda value: not isinstance(value, dict) or object_check(value)
    if _is_exclusive_boolean_type(prop):
        return lambda value: value.__class__ is bool
    return _always


def _item_check(items: dict) -> t.Callable[[t.Any], bool]:
    if is_object_type(items):
        object_check = _compile(items)
        return lambda item: not isinstance(item, dict) or object_check(item)
    if _is_exclusive_boolean_type(items):
        return lambda item: item is None or item.__class__ is bool
    return _always
