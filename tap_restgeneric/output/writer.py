"""Singer messages on stdout: a buffered msgspec writer, the tap's ``message_writer_class``.

A stock SDK tap builds each message's dict, encodes it with simplejson and flushes stdout,
per record. Here a RECORD line is encoded by msgspec straight into a 64 KiB buffer on
stdout's file descriptor (its prefix and suffix precomputed per stream and page), and the
buffer is flushed only before any other message, so a STATE never precedes the records it
covers, and at exit. STATE values are written with every secret redacted.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import decimal
import io
import sys
import typing as t

import msgspec
from singer_sdk.singerlib.encoding.base import GenericSingerWriter
from singer_sdk.singerlib.messages import SingerMessageType
from typing_extensions import override

from tap_restgeneric.output.redact import REDACTOR, redact_tree


def _enc_hook(obj: t.Any) -> t.Any:
    if isinstance(obj, datetime.datetime):
        return obj.isoformat(sep="T")
    if isinstance(obj, (datetime.date, datetime.time)):
        return obj.isoformat()
    if isinstance(obj, decimal.Decimal):
        return obj
    return str(obj)


#: How every message and record is encoded, in a Singer line or a batch file (``output.batches``).
ENCODER = msgspec.json.Encoder(enc_hook=_enc_hook, decimal_format="number")


class OpenBatchFile(t.Protocol):
    def close_as_message(self) -> t.Any: ...


#: Batch files being written (``output.batches``): a STATE is only written once they are announced.
OPEN_BATCH_FILES: set[OpenBatchFile] = set()


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
                self._out = open(stdout.fileno(), "wb", buffering=1 << 16, closefd=False)  # noqa: SIM115 - lives as long as stdout
            except (AttributeError, OSError, io.UnsupportedOperation):  # a stand-in stdout (tests)
                self._out = stdout.buffer
            self._for = stdout
        return self._out

    def flush(self) -> None:
        if self._out is not None:
            with contextlib.suppress(OSError, ValueError):  # the reader has gone away
                self._out.flush()


STDOUT = _Stdout()


class BufferedSingerWriter(GenericSingerWriter):
    """Singer messages as JSON lines, encoded by msgspec; RECORDs are not flushed one by one."""

    def __init__(self) -> None:
        self._prefixes: dict[str, bytes] = {}
        self._suffix_time: t.Any = None
        self._suffix_version: t.Any = None
        self._suffix = b"}\n"
        #: True while a line is being written (see ``interrupt``).
        self.busy = False
        self._interrupted: BaseException | None = None

    @override
    def serialize_message(self, message: t.Any) -> bytes:
        return ENCODER.encode(message.to_dict()) + b"\n"

    @override
    def write_message(self, message: t.Any) -> None:
        if message.type is not SingerMessageType.RECORD:
            self._write_other(message)
            return
        self.write_record(message.stream, message.record, message.version, message.time_extracted)

    def write_record(self, stream: str, record: dict, version: int | None, time_extracted: t.Any) -> None:
        """A RECORD message, without a message object (streams on the plain path call this for
        every record: building a ``RecordMessage`` per record cost 3 % of a sync).

        ``{"type":"RECORD","stream":…,"record":`` + the record + ``version`` and
        ``time_extracted``; the prefix cached per stream, the suffix while the time stays the
        same object (the tap stamps the records of one page with one time). Inline: per record."""
        prefix = self._prefixes.get(stream)
        if prefix is None:
            prefix = self._prefixes[stream] = b'{"type":"RECORD","stream":' + ENCODER.encode(stream) + b',"record":'
        if time_extracted is not self._suffix_time or version != self._suffix_version:
            self._new_suffix(time_extracted, version)
        line = bytearray(prefix)
        ENCODER.encode_into(record, line, -1)
        line += self._suffix
        self.busy = True
        STDOUT.get().write(line)
        self.busy = False
        if self._interrupted is not None:
            self._stop()

    def _write_other(self, message: t.Any) -> None:
        """Any other message flushes the RECORDs before it; a STATE is written with secrets redacted,
        after a BATCH message for each batch file still open (its records are in the STATE)."""
        if message.type is SingerMessageType.STATE and REDACTOR.active:
            message.value = redact_tree(message.value)
        out = STDOUT.get()
        if message.type is SingerMessageType.STATE:
            for files in list(OPEN_BATCH_FILES):
                out.write(self.serialize_message(files.close_as_message()))
        self.busy = True
        out.write(self.serialize_message(message))
        out.flush()
        self.busy = False
        if self._interrupted is not None:
            self._stop()

    def interrupt(self, stop: BaseException) -> None:
        """Raise ``stop`` (a signal's): now, or, while a line is being written, once it is whole (raising
        inside the write could cut it in two); a signal handler calls it."""
        if not self.busy:
            raise stop
        self._interrupted = stop

    def _stop(self) -> t.NoReturn:
        stop, self._interrupted = self._interrupted, None
        assert stop is not None
        raise stop

    def _new_suffix(self, time_extracted: t.Any, version: int | None) -> None:
        self._suffix_time, self._suffix_version = time_extracted, version
        versioned = f',"version":{version}' if version is not None else ""
        extracted = f',"time_extracted":"{time_extracted.isoformat()}"' if time_extracted else ""
        self._suffix = f"{versioned}{extracted}}}\n".encode()
