"""gzip and zip payloads wrapping another decoder (Airbyte's ``GzipDecoder`` and ``ZipfileDecoder``).

See :mod:`tap_restgeneric.paging.decoders` for what each reads and how decompression is bounded.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import typing as t
import zipfile
import zlib

from tap_restgeneric.paging.decoders import Budget, Decoder, ResponseTooLarge, UndecodableBody, chain, counted


class _Wrapper:
    """What gzip and zip share: the inner decoder says whether a body is one document, and its
    failures are named by the whole chain (``gzip > csv``); a cap reached is named so already."""

    inner: Decoder
    name: str

    @property
    def one_document(self) -> bool:
        return self.inner.one_document

    def _renamed(self, exc: UndecodableBody, problem: str | None = None) -> UndecodableBody:
        if isinstance(exc, ResponseTooLarge):
            return exc
        return type(exc)(f"{self.name} > {exc.decoder}", exc.problem if problem is None else problem)


@dataclasses.dataclass(frozen=True)
class GzipDecoder(_Wrapper):
    """A gzip payload (one or several members) read through ``inner``; a body without gzip's magic bytes as it is."""

    inner: Decoder
    name: str = "gzip"

    def documents(self, stream: t.IO[bytes], charset: str | None, budget: Budget) -> t.Iterator[t.Any]:
        buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(t.cast("t.Any", stream))
        try:
            if buffered.peek(2)[:2] != b"\x1f\x8b":
                yield from self.inner.documents(buffered, charset, budget)
                return
            with gzip.GzipFile(fileobj=buffered, mode="rb") as unzipped:
                yield from self.inner.documents(counted(t.cast("t.IO[bytes]", unzipped), budget), charset, budget)
        except EOFError:
            raise UndecodableBody(chain(self), "the gzip payload is cut short") from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise UndecodableBody(chain(self), f"not a valid gzip payload ({exc})") from None
        except UndecodableBody as exc:
            raise self._renamed(exc) from None


@dataclasses.dataclass(frozen=True)
class ZipDecoder(_Wrapper):
    """Every file of a zip archive, in the archive's order, through ``inner``. A zip of one JSON
    file is that document; of several, the list of them."""

    inner: Decoder
    name: str = "zip"

    def documents(self, stream: t.IO[bytes], charset: str | None, budget: Budget) -> t.Iterator[t.Any]:
        try:
            archive = zipfile.ZipFile(io.BytesIO(stream.read()))
        except zipfile.BadZipFile as exc:
            raise UndecodableBody(chain(self), f"not a valid zip archive ({exc})") from None
        with archive:
            for member in archive.infolist():
                if member.is_dir():
                    continue
                try:
                    with archive.open(member) as unzipped:
                        yield from self.inner.documents(counted(unzipped, budget), charset, budget)
                except UndecodableBody as exc:
                    raise self._renamed(exc, f"file {member.filename!r}: {exc.problem}") from None
                except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
                    raise UndecodableBody(chain(self), f"file {member.filename!r} could not be extracted ({exc})") from None
