"""A response body read by the tap: in chunks, decompressed at most ``max_bytes`` at a time (a 1 MB gzip
body can expand to gigabytes), and what went wrong with a connection, said in a few words."""

from __future__ import annotations

import re
import socket
import typing as t
import zlib

import requests

from tap_restgeneric.errors import StreamError, Subject
from tap_restgeneric.transport.deadlines import ACCEPT_ENCODING
from tap_restgeneric.transport.origins import display_url

_CHUNK = 1 << 16


class ResponseTooLarge(StreamError):
    """The decoded body passed ``max_response_mb``."""


def _decoder(encoding: str) -> t.Any:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib framing, detected
    raise requests.exceptions.ContentDecodingError(
        f"unsupported Content-Encoding {encoding!r} (the tap asks for {ACCEPT_ENCODING})"
    )


def read_body(response: requests.Response, max_bytes: int, about: Subject) -> bytes:
    """The decoded body, read in chunks and decompressed at most ``max_bytes`` (+1) at a time.

    A gzip body may be several members one after another (RFC 1952, as ``gzip -c a b`` or a
    server compressing chunk by chunk writes it): each is decoded, within the same bound."""
    encoding = response.headers.get("Content-Encoding", "")
    decoder = _decoder(encoding)
    body = bytearray()

    def too_large() -> ResponseTooLarge:
        return t.cast(
            "ResponseTooLarge",
            about.error(
                f"response from {display_url(response.url)} is larger than {max_bytes:,} bytes decoded "
                "(the max_response_mb setting); stopped reading it",
                ResponseTooLarge,
            ),
        )

    def inflate(data: bytes) -> None:
        nonlocal decoder
        while len(body) <= max_bytes:  # room for at least one byte: a max_length of 0 means no bound
            body.extend(decoder.decompress(data, max_bytes + 1 - len(body)))
            data = decoder.unconsumed_tail
            if data:
                continue
            following = decoder.unused_data if decoder.eof else b""
            if not following.strip(b"\0"):  # no next member (zero padding after the last is allowed)
                return
            decoder = _decoder(encoding)
            data = following

    for chunk in response.raw.stream(_CHUNK, decode_content=False):
        if decoder is None:
            body += chunk
        else:
            inflate(chunk)
        if len(body) > max_bytes:
            raise too_large()
    if decoder is not None:
        body += decoder.flush()
        if len(body) > max_bytes:
            raise too_large()
    return bytes(body)


def connection_problem(exc: BaseException) -> str:
    """What went wrong with a connection, in a few words (no URL: it may hold a query)."""
    seen = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or "Connection refused" in str(seen.args[:1]):
            return "connection refused"
        if isinstance(seen, socket.gaierror) or "Name or service not known" in str(seen.args[:1]):
            return "host name not found"
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    text = str(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return text if text.startswith("no complete response") else "timed out"
    return type(exc).__name__


_SSL_REASON = re.compile(r"\[SSL[^\]]*\] ([^(]*?) \(_ssl\.c")


def tls_reason(exc: requests.exceptions.SSLError) -> str:
    """``certificate verify failed: unable to get local issuer certificate`` out of the
    nested urllib3/ssl message, with a hint when the certificate is the problem."""
    found = _SSL_REASON.search(str(exc))
    reason = found.group(1) if found else type(exc).__name__
    hint = " (for a private CA, set REQUESTS_CA_BUNDLE or SSL_CERT_FILE to its bundle)" if "certificate" in reason else ""
    return f"{reason}{hint}"
