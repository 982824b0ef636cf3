"""RECORDs into batch files: the SDK's ``batch_config`` setting (Singer BATCH messages).

With ``batch_config`` set, a stream's records go to JSON-lines files of at most
``batch_size`` records each, and the tap writes one BATCH message per file instead of one
RECORD message per record (the SDK then writes a STATE that covers the file). A loader that
reads BATCH messages loads each file whole, and Meltano relays one line per file::

    batch_config:
      encoding: {format: jsonl, compression: gzip}    # or compression: none
      storage: {root: "file:///var/tmp/batches", prefix: "orders-"}   # a local folder
      batch_size: 100000

Each line of a file is one record as its RECORD message would carry it. Unlike the SDK's own
batcher (which gzips whatever ``compression`` says and encodes with the standard library),
``compression: none`` writes plain JSON lines, and records are encoded by msgspec.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import typing as t
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from singer_sdk.helpers._batch import SDKBatchMessage

from tap_restgeneric.errors import StreamError
from tap_restgeneric.output.writer import ENCODER, OPEN_BATCH_FILES

if t.TYPE_CHECKING:
    from singer_sdk.helpers._batch import BatchConfig

#: The encodings written here (the SDK's ``parquet`` needs pyarrow, and is not).
FORMATS = ("jsonl",)
COMPRESSIONS = ("gzip", "none")


def batch_config_problems(batch_config: t.Any) -> list[str]:
    """What in the ``batch_config`` setting (as given) this tap cannot write, one line per key."""
    if not isinstance(batch_config, dict):
        return [f"batch_config: {batch_config!r} is not an object with encoding, storage and batch_size"]
    encoding = batch_config.get("encoding") or {}
    problems = []
    if encoding.get("format") not in FORMATS:
        problems.append(f"batch_config.encoding.format: {encoding.get('format')!r} is not one of {', '.join(FORMATS)}")
    if (encoding.get("compression") or "none") not in COMPRESSIONS:
        problems.append(
            f"batch_config.encoding.compression: {encoding.get('compression')!r} is not one of {', '.join(COMPRESSIONS)}"
        )
    root = (batch_config.get("storage") or {}).get("root")
    url = urllib.parse.urlparse(root) if isinstance(root, str) else None
    if url is None or url.scheme != "file" or url.netloc not in ("", "localhost"):
        problems.append(f"batch_config.storage.root: {root!r} is not a local folder's URL (file:///var/tmp/batches)")
    size = batch_config.get("batch_size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
        problems.append(f"batch_config.batch_size: {size!r} is not a positive number of records")
    return problems


class BatchFiles:
    """One stream's records, into files of ``batch_size`` records; ``add`` gives a file's
    manifest (its URL, in a list) when the file is full and closed, ``finish`` the last one.

    A file is written as ``<name>.part`` and renamed when whole, so a manifest never names a
    file still being written. Not through the SDK's storage helper: it opens every file inside
    one transaction of a filesystem object shared by the process, and a child stream's file
    closed while its parent's was open lost the parent's (files named in BATCH messages were
    missing, measured with examples/tracker.yaml)."""

    def __init__(self, batch_config: BatchConfig, tap_name: str, stream_name: str) -> None:
        # batch_config is the tap's setting, checked with the others (batch_config_problems).
        self._folder = local_folder(batch_config.storage.root)
        self._stream = stream_name
        self._encoding = batch_config.encoding
        self._size = batch_config.batch_size
        self._gzip = batch_config.encoding.compression == "gzip"
        self._name = f"{batch_config.storage.prefix or ''}{tap_name}--{stream_name}-{uuid.uuid4()}"
        self._files = 0
        self._count = 0
        self._out: t.Any = None
        self._raw: t.Any = None
        self._path = Path()

    def add(self, record: dict) -> list[str] | None:
        try:
            if self._out is None:
                self._open()
            self._out.write(ENCODER.encode(record) + b"\n")
        except OSError as exc:
            raise self._failed(exc) from None
        self._count += 1
        return self.finish() if self._count >= self._size else None

    def finish(self) -> list[str] | None:
        """Closes the file being written: its manifest (None: no record since the last one)."""
        if self._out is None:
            return None
        try:
            self._close()
            final = self._path.with_suffix("")  # without .part
            self._path.replace(final)
        except OSError as exc:
            raise self._failed(exc) from None
        return [final.as_uri()]

    def _failed(self, exc: OSError) -> StreamError:
        """A file that could not be written whole (disk full, a file size limit, the folder not
        writable) is removed, never announced: the sync stops in one line naming the stream and the file."""
        path = self._path
        with contextlib.suppress(OSError):  # (the error being reported is the one that matters)
            self.discard()
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        reason = exc.strerror or type(exc).__name__
        name = errno.errorcode.get(exc.errno) if exc.errno is not None else None
        code = f" ({name})" if name else ""
        return StreamError(
            f"cannot write batch file {path}: {reason}{code}; the file was removed and no BATCH "
            "message names it (the last STATE covers the files announced before it)",
            stream=self._stream,
        )

    def close_as_message(self) -> SDKBatchMessage:
        """The file being written, closed and announced now (a STATE is about to cover its records)."""
        return SDKBatchMessage(stream=self._stream, encoding=self._encoding, manifest=self.finish() or [])

    def discard(self) -> None:
        """The file being written, removed: never announced (an interrupted sync reads its records again)."""
        if self._out is not None:
            try:
                self._close()
            finally:
                self._path.unlink(missing_ok=True)

    def _close(self) -> None:
        out, raw = self._out, self._raw
        self._out = self._raw = None
        self._count = 0
        OPEN_BATCH_FILES.discard(self)
        try:
            out.close()
        finally:
            if raw is not out:
                raw.close()  # under the gzip stream, even when the gzip trailer could not be written

    def _open(self) -> None:
        self._files += 1
        self._path = self._folder / (f"{self._name}-{self._files}.jsonl" + (".gz" if self._gzip else "") + ".part")
        self._folder.mkdir(parents=True, exist_ok=True)
        self._out = self._raw = self._path.open("wb")
        OPEN_BATCH_FILES.add(self)
        if self._gzip:  # level 1: most of gzip's saving at a fraction of its default level's time
            self._out = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=1)


def local_folder(root: str) -> Path:
    """The folder of a ``file://`` storage root (absolute: ``file:///var/tmp/batches``)."""
    return Path(urllib.request.url2pathname(urllib.parse.urlparse(root).path)).resolve()


def discard_open_files() -> None:
    """Removes the batch files still being written (an interrupted sync: never announced)."""
    for files in list(OPEN_BATCH_FILES):
        t.cast("BatchFiles", files).discard()
