"""The sandbox's wire protocol: constants, request/response values and query parameter parsing.

Holds what the HTTP handler, the server, the page builder and the control endpoints share:
the fault kinds and their answers, :class:`RequestLog`, :class:`Response` (and the
:data:`RESET` sentinel), :class:`BadRequest` (answered 400), JSON encoding, the loopback check,
timestamp and cursor parsing, and the integer query parameter readers.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from datetime import datetime, timezone
from typing import Any, NamedTuple

#: ``truncated``: the page's JSON cut in half, as a complete 200; ``cut``: the page announced whole
#: (Content-Length) but the connection reset half way through the body.
FAULT_KINDS = ("429", "500", "502", "503", "504", "401", "403", "reset", "slow", "html", "truncated", "cut")
CONTROL_PREFIX = "/_sandbox"
JSON_TYPE = "application/json"
HTML_BODY = (
    b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>"
    b"<body><h1>Temporarily unavailable</h1><p>Please try again later.</p>"
    b"</body></html>\n"
)

FAULT_STATUS = {"429": 429, "500": 500, "502": 502, "503": 503, "504": 504, "401": 401, "403": 403}
FAULT_ERROR = {
    "429": "rate limited",
    "500": "internal server error",
    "502": "bad gateway",
    "503": "service unavailable",
    "504": "gateway timeout",
    "401": "unauthorized",
    "403": "forbidden",
}


class RequestLog(NamedTuple):
    """One API request as it arrived (control requests are not logged)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def to_json(self) -> dict:
        return {"method": self.method, "path": self.path, "query": self.query, "headers": self.headers}


class Response(NamedTuple):
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()
    #: Send only this many bytes of the body (Content-Length still says all of it), then reset.
    cut_at: int | None = None


RESET = Response(0, b"")  # sentinel: close the socket without answering


class BadRequest(Exception):
    pass


def json_body(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def error_response(status: int, message: str, headers: tuple = ()) -> Response:
    return Response(status, json_body({"error": message}), JSON_TYPE, headers)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_timestamp(value: str) -> float:
    """ISO 8601 (``Z``/offset/naive = UTC, or a date) or epoch seconds -> epoch seconds."""
    s = value.strip()
    try:
        return float(s)
    except ValueError:
        pass
    for candidate in (s, s.replace(" ", "+")):  # a raw '+' arrives as ' ' after decoding
        try:
            dt = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.timestamp()
    raise BadRequest(f"invalid timestamp {value!r}")


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, num = raw.partition(":")
        if prefix != "offset":
            raise ValueError(raw)
        offset = int(num)
        if offset < 0:
            raise ValueError(raw)
        return offset
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(f"invalid cursor {token!r}") from None


def last_param(query: dict[str, list[str]], name: str) -> str | None:
    vals = query.get(name)
    return vals[-1] if vals else None


def int_param(query: dict[str, list[str]], name: str, default: int, minimum: int) -> int:
    value = optional_int_param(query, name, minimum)
    return default if value is None else value


def optional_int_param(query: dict[str, list[str]], name: str, minimum: int) -> int | None:
    raw = last_param(query, name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise BadRequest(f"query parameter {name!r} must be >= {minimum}, got {value}")
    return value
