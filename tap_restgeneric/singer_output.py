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

import atexit
import datetime
import decimal
import io
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


class _Stdout:
    """A 64 KiB buffer on stdout's file descriptor. ``sys.stdout.buffer`` is not enough:
    under ``PYTHONUNBUFFERED`` (which Meltano sets) it writes through on every call."""

    def __init__(self) -> None:
        self._for: t.Any = None
        self._out: t.Any = None
        atexit.register(self.flush)

    def get(self) -> t.Any:
        stdout = sys.stdout
        if stdout is not self._for:
            self.flush()
            try:
                stdout.flush()
                self._out = open(stdout.fileno(), "wb", buffering=1 << 16, closefd=False)  # noqa: SIM115
            except (AttributeError, OSError, io.UnsupportedOperation):  # a stand-in stdout (tests)
                self._out = stdout.buffer
            self._for = stdout
        return self._out

    def flush(self) -> None:
        if self._out is not None:
            try:
                self._out.flush()
            except (OSError, ValueError):  # the reader has gone away
                pass


STDOUT = _Stdout()


class BufferedSingerWriter(GenericSingerWriter):
    """Singer messages as JSON lines, encoded by msgspec; RECORDs are not flushed one by one."""

    def serialize_message(self, message: t.Any) -> bytes:
        return _ENCODER.encode(message.to_dict()) + b"\n"

    def write_message(self, message: t.Any) -> None:
        out = STDOUT.get()
        out.write(self.serialize_message(message))
        if message.type != SingerMessageType.RECORD:
            out.flush()

    @staticmethod
    def write_record(prefix: bytes, record: dict, suffix: bytes) -> None:
        """One RECORD line: ``prefix`` + the record's JSON + ``suffix`` (precomputed per stream)."""
        line = bytearray(prefix)
        _ENCODER.encode_into(record, line, -1)
        line += suffix
        STDOUT.get().write(line)

    @staticmethod
    def flush() -> None:
        STDOUT.flush()


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
        self._check = namespace["check"]

    def __call__(self, record: dict) -> bool:
        return self._check(record)

    def _name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def _object(self, var: str, schema: dict, indent: int) -> None:
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
            if not self._field(value, prop, indent):
                del self._lines[before:]

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
                self._object(item, items, indent + 3)
                return True
            if _is_exclusive_boolean_type(items):
                self._lines.append(f"{pad}if {var}.__class__ is list and any(i is not None and i.__class__ is not bool for i in {var}): return False")
                return True
            return False
        if is_object_type(prop) and "properties" in prop:
            self._lines.append(f"{pad}if {var}.__class__ is dict:")
            self._object(var, prop, indent + 1)
            return True
        if _is_exclusive_boolean_type(prop):
            self._lines.append(f"{pad}if {var} is not None and {var}.__class__ is not bool: return False")
            return True
        return False
